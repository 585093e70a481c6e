"""A picture of one trace, as a tracing UI draws it: a cascade request exported over OTLP to a
receiver in this process, drawn as a waterfall (one bar per span, children under parents).

    python bench/trace_picture.py [--out docs/img/trace-cascade.png]

The gateway is the real app with scripted models that take a little time, so the bars show
the shape of a cascade: the safety check, the cache lookup, the first stage's two calls side by
side, their disagreement, the second stage.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

from plusn.gateway.app import create_app
from plusn.load_config import load_settings

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from otlp_receiver import ReceivedSpan, Receiver  # noqa: E402 (beside the tests, which use it too)


def draw(receiver: Receiver, root: ReceivedSpan, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows: list[tuple[int, ReceivedSpan]] = []

    def walk(s: ReceivedSpan, depth: int) -> None:
        rows.append((depth, s))
        for c in receiver.children(s):
            walk(c, depth + 1)

    walk(root, 0)
    t0 = root.start_ns
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(rows) + 1.2))
    for i, (depth, s) in enumerate(rows):
        start, width = (s.start_ns - t0) / 1e6, max((s.end_ns - s.start_ns) / 1e6, 0.05)
        model = s.attributes.get("gen_ai.request.model")
        color = "#4c72b0" if depth == 0 else "#dd8452" if model else "#55a868"
        ax.barh(i, width, left=start, color=color, height=0.6)
        tokens = (f"  in {s.attributes['gen_ai.usage.input_tokens']} / out {s.attributes['gen_ai.usage.output_tokens']}"
                  if "gen_ai.usage.output_tokens" in s.attributes else "")
        ax.text(start + width + 0.3, i, f"{s.name}  {width:.1f} ms{tokens}", va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), ["  " * d + s.name for d, s in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ms since the request began")
    ax.set_title(f"trace {root.trace_id[:16]}…  ({root.attributes.get('plusn.route')}, "
                 f"cost {root.attributes.get('plusn.cost', 0):.4f})", fontsize=9)
    ax.set_xlim(0, (root.end_ns - t0) / 1e6 * 1.45)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "img" / "trace-cascade.png"))
    args = ap.parse_args()
    from fastapi.testclient import TestClient

    with tempfile.TemporaryDirectory() as tmp, Receiver() as receiver:
        cfg = {
            "data_dir": tmp,
            "models": {
                "qwen-1.5b": {"type": "scripted", "replies": ["x = 4"], "delay_s": 0.01,
                              "price": {"input_per_1k": 0.1, "output_per_1k": 0.2}},
                "llama-8b": {"type": "scripted", "replies": ["x = 5"], "delay_s": 0.02,
                             "price": {"input_per_1k": 0.3, "output_per_1k": 0.6}},
                "qwen-72b": {"type": "scripted", "replies": ["x = 4"], "delay_s": 0.06,
                             "price": {"input_per_1k": 2.0, "output_per_1k": 6.0}},
            },
            "cascades": {"maths": {"stages": [{"models": ["qwen-1.5b", "llama-8b"]}, {"models": ["qwen-72b"]}]}},
            "skills": {"builtin": False},
            "safety": {"second_stage_model": None},
            "cache": {"enabled": True},
            "telemetry": {"otlp_endpoint": receiver.url},
        }
        path = Path(tmp) / "plusn.yaml"
        path.write_text(yaml.safe_dump(cfg))
        with TestClient(create_app(load_settings(path, environ={}))) as c:
            # a first request loads the safety detector; the picture is of the second
            c.post("/v1/chat/completions", json={"model": "qwen-1.5b", "messages": [{"role": "user", "content": "hi"}]})
            r = c.post("/v1/chat/completions", json={"model": "cascade:maths", "temperature": 0,
                                                     "messages": [{"role": "user", "content": "Solve 2x = 8."}]})
            r.raise_for_status()
            rid = r.headers["x-request-id"]
            c.app.state.plusn.tracing.flush()  # type: ignore[attr-defined]
        deadline = time.monotonic() + 5
        roots: list[ReceivedSpan] = []
        while not roots and time.monotonic() < deadline:
            roots = [s for s in receiver.spans if s.attributes.get("plusn.request_id") == rid]
            time.sleep(0.05)
        print(receiver.tree(roots[0].trace_id))
        draw(receiver, roots[0], Path(args.out))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
