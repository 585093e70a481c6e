"""How long one turn of a form agent takes with matching by meaning, against the embedding alone.

    python bench/form_turn.py [--data FILE ...] [--config plusn.yaml] [--json PATH]

Every user turn of the dialogues (default: the shared housing-fund dialogues and the held-out
ones in tests/data/forms) goes through the real agent backend, as a client's would, with the
fleet's real multilingual-e5 embedding model; the form's prototypes are embedded once before
timing. The anchor, measured in the same run, is the embedding model's own engine encoding the
same message once, directly (no cache, no gateway), on the thread the gateway calls it from. The
figures are the turn's p50/p90, the anchor's p50, and their ratio; then the same for the turns
that took the embedding path (the rules did not settle them; the trace says so), against the
anchor on those same messages. The goal is for those: a turn with the embedding path at p50 <=
20 ms, about one embedding.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from plusn.assemble import deployed
from plusn.evals.forms import load_dialogues
from plusn.fleet.backend import GenRequest
from plusn.load_config import load_settings

ROOT = Path(__file__).parents[1]
FORMS = ROOT / "tests" / "data" / "forms"
DATA = [ROOT.parent / "shared" / "data" / "forms" / "housing-fund-dialogues.jsonl",
        *(FORMS / f"{name}.jsonl" for name in ("housing-fund-heldout", "unemployment-dialogues",
                                                "housing-fund-heldout-2", "unemployment-heldout-2",
                                                "housing-fund-heldout-3", "unemployment-heldout-3",
                                                "maternity-heldout", "travel-expense-heldout"))]


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


async def run(config: Path, data: list[Path], tmp: str) -> dict[str, Any]:
    dialogues = [d for path in data if path.exists() for d in load_dialogues(path)]
    settings = load_settings(config, overrides={"data_dir": tmp})
    turn_ms: list[float] = []
    embedded_ms: list[float] = []
    anchor_ms: list[float] = []
    embedded_anchor_ms: list[float] = []  # the anchor on the messages of the turns that embedded
    async with deployed(settings) as d:
        embedder: Any = await d.fleet.embedder("multilingual-e5-small")
        engine = embedder._model  # the engine itself: the anchor runs it directly, past any cache
        for warm in {dlg.agent for dlg in dialogues}:  # the form's prototypes, embedded once
            await d.fleet.run(f"agent:{warm}", GenRequest("chat", [{"role": "user", "content": "你好"}]))
        for dlg in dialogues:
            session = uuid.uuid4().hex
            messages: list[dict[str, Any]] = []
            for text in dlg.turns:
                messages.append({"role": "user", "content": text})
                t0 = time.perf_counter()
                gen, _ = await d.fleet.run(f"agent:{dlg.agent}", GenRequest("chat", list(messages), session=session))
                ms = (time.perf_counter() - t0) * 1000
                messages.append({"role": "assistant", "content": gen.text})
                turn_ms.append(ms)
                trace = (gen.route or {}).get("trace") or []
                t0 = time.perf_counter()
                # on the engine's own thread, as the gateway calls it: an OpenMP engine called from
                # a second thread starts a second team of threads, and the two then contend
                await asyncio.get_running_loop().run_in_executor(embedder._pool, engine.encode, [text], True)
                anchor_ms.append((time.perf_counter() - t0) * 1000)
                if any("meaning" in step for step in trace):
                    embedded_ms.append(ms)
                    embedded_anchor_ms.append(anchor_ms[-1])
    a50 = statistics.median(anchor_ms)
    e50, ea50 = _pct(embedded_ms, 0.5), _pct(embedded_anchor_ms, 0.5)
    return {"turns": len(turn_ms), "turn_p50_ms": round(_pct(turn_ms, 0.5), 2), "turn_p90_ms": round(_pct(turn_ms, 0.9), 2),
            "anchor_embed_p50_ms": round(a50, 2), "ratio_p50": round(_pct(turn_ms, 0.5) / a50, 3),
            "embedded_turns": len(embedded_ms), "embedded_turn_p50_ms": round(e50, 2),
            "embedded_turn_p90_ms": round(_pct(embedded_ms, 0.9), 2),
            "embedded_anchor_p50_ms": round(ea50, 2),
            "embedded_ratio_p50": round(e50 / ea50, 3) if embedded_ms else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, nargs="*", default=DATA)
    ap.add_argument("--config", type=Path, default=ROOT / "tests" / "data" / "forms" / "plusn.yaml")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        res = asyncio.run(run(args.config, args.data, tmp))
    print(f"form turn (agent backend, rules + meaning): p50 {res['turn_p50_ms']} ms, p90 {res['turn_p90_ms']} ms "
          f"over {res['turns']} turns")
    print(f"anchor (multilingual-e5 encoding the message once): p50 {res['anchor_embed_p50_ms']} ms")
    print(f"ratio turn/anchor p50: {res['ratio_p50']}")
    print(f"turns with the embedding path ({res['embedded_turns']}): p50 {res['embedded_turn_p50_ms']} ms, "
          f"p90 {res['embedded_turn_p90_ms']} ms; anchor on the same messages p50 {res['embedded_anchor_p50_ms']} ms; "
          f"ratio {res['embedded_ratio_p50']} (goal: p50 <= 20 ms)")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
