"""What tool_choice "auto" costs a local model: the same prompts with and without tools, in one run.

    python bench/tool_decision.py [--data tests/data/tools/heldout.jsonl] [--max-tokens 32] [--json PATH]

The anchor is SmolLM2 answering each prompt that needs no tool, without tools. The measured
path is the same request carrying the row's tools (one to three) with tool_choice "auto": the
model scores the message under each tool, decides on text, then writes the same greedy answer
from the same prompt (the script checks the texts are equal, which shows the decision is the
only difference). Both run in-process through the fleet, one after the other, the first of the
two alternating from prompt to prompt, so drift on the machine hits both sides alike. The figure is the ratio of median latencies, with the median added time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from plusn.assemble import deployed
from plusn.evals.tools import load, request
from plusn.fleet.backend import GenRequest
from plusn.load_config import load_settings

MODEL = "smollm2-135m-instruct"
ROOT = Path(__file__).parents[1]


async def measure(data: Path, max_tokens: int) -> dict[str, Any]:
    rows, tools = load(data)
    plain_rows = [r for r in rows if r.call is None]
    with tempfile.TemporaryDirectory() as tmp:
        async with deployed(load_settings(environ={"PLUSN_DATA_DIR": tmp})) as d:
            run = d.fleet.run
            await run(MODEL, GenRequest("chat", [{"role": "user", "content": "Hi"}], max_tokens=2))  # load, warm
            bare, auto, added = [], [], []
            same = 0
            for i, row in enumerate(plain_rows):
                with_tools = request(row, tools, "auto", max_tokens)
                without = GenRequest("chat", with_tools.messages, max_tokens=max_tokens, temperature=0)
                times = {}
                for req in ((without, with_tools) if i % 2 == 0 else (with_tools, without)):  # which goes first alternates
                    t0 = time.perf_counter()
                    gen, _ = await run(MODEL, req)
                    times[id(req)] = time.perf_counter() - t0, gen
                (t_bare, a), (t_auto, b) = times[id(without)], times[id(with_tools)]
                bare.append(t_bare)
                auto.append(t_auto)
                added.append(t_auto - t_bare)
                same += int(a.text == b.text and not b.tool_calls)
    return {"prompts": len(plain_rows), "same_answer": same, "tools_per_prompt": round(
        statistics.mean(len(r.tools) for r in plain_rows), 2),
        "without_tools_ms_p50": round(statistics.median(bare) * 1000, 1),
        "auto_ms_p50": round(statistics.median(auto) * 1000, 1),
        "added_ms_p50": round(statistics.median(added) * 1000, 1),
        "ratio": round(statistics.median(auto) / statistics.median(bare), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / "tests/data/tools/heldout.jsonl")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    res = asyncio.run(measure(args.data, args.max_tokens))
    print(f"without tools:       {res['without_tools_ms_p50']} ms (median of {res['prompts']} prompts)")
    print(f"with tools, auto:    {res['auto_ms_p50']} ms ({res['tools_per_prompt']} tools a prompt on average)")
    print(f"added by the choice: {res['added_ms_p50']} ms (median); same answer {res['same_answer']}/{res['prompts']}")
    print(f"ratio auto/without:  {res['ratio']}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
