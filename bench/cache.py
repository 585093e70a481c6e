"""Response cache speed: what a miss adds, what a hit costs, and the 10,000-entry meaning match.

    python bench/cache.py [--requests 1200] [--rounds 4] [--entries 10000] [--json PATH]

Two parts, each against an anchor measured in the same run:

1. Through the gateway. bench/upstream.py (a fast OpenAI-compatible server in its own process)
   is called directly (the anchor) and through two `plusn serve` processes over it, one with the
   cache off and one with it on (exact matches: the model embeds nothing). On the cache-on
   gateway each question is asked twice: the first time misses (and is kept), the second hits.
   Paths alternate in rounds; what the cache adds to a miss is the median over rounds of
   (cache-on miss p50 - cache-off p50), and a hit's p50 is compared with a miss's.
2. The meaning match. In process, on the real multilingual-e5-small: one scope holding
   ``--entries`` answers, a reworded question whose embedding is already computed (as dispatch,
   retrieval or the safety check computed it), timed through ``ResponseCache.lookup``; the
   anchor is the exact lookup of the same cache. The other entries' vectors are drawn with the
   mean and spread of real questions' embeddings (the first 300 questions of
   tests/data/cache/pairs.jsonl), not uniformly: e5's vectors of questions are alike in most
   directions, which is what makes a large scope hard to search quickly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from load import pct, start

from plusn.assemble import deployed
from plusn.cache.index import Answer, Entry, unit
from plusn.cache.response_cache import Plan, ResponseCache
from plusn.fleet.backend import GenRequest
from plusn.load_config import load_settings

ROOT = Path(__file__).parents[1]


def gateway(tmpdir: Path, name: str, up_url: str, cache: bool) -> tuple[subprocess.Popen[str], str]:
    data: dict[str, Any] = {
        "data_dir": str(tmpdir / f"data-{name}"),
        "models": {"fast": {"type": "openai", "base_url": up_url + "/v1", "max_concurrency": 1024,
                            "max_queue": 4096, "price": {"input_per_1k": 1, "output_per_1k": 1}}},
        "safety": {"input": "allow", "output": "allow", "second_stage_model": None},
        "skills": {"builtin": False},
        "cache": {"enabled": cache},
    }
    cfg = tmpdir / f"plusn-{name}.yaml"
    cfg.write_text(yaml.safe_dump(data))
    return start([sys.executable, "-m", "plusn.cli", "serve", "--config", str(cfg), "--port", "0"],
                 tmpdir, r"listening on (http://\S+)")


async def timed(url: str, texts: list[str]) -> list[float]:
    """Sequential requests, one per text (temperature 0: a determined answer), in ms."""
    out = []
    async with aiohttp.ClientSession(url) as c:
        for i, text in enumerate(texts):
            body = json.dumps({"model": "fast", "max_tokens": 16, "temperature": 0,
                               "messages": [{"role": "user", "content": text}]})
            t0 = time.perf_counter()
            async with c.post("/v1/chat/completions", data=body, headers={"content-type": "application/json"}) as r:
                await r.read()
                r.raise_for_status()
            if i >= 5:  # the first few warm the connection
                out.append((time.perf_counter() - t0) * 1000)
    return out


def through_gateway(requests: int, rounds: int) -> dict[str, Any]:
    per = max(10, requests // rounds)
    lat: dict[str, list[float]] = {"direct": [], "off": [], "miss": [], "hit": []}
    diffs, ratios = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        procs: list[subprocess.Popen[str]] = []
        try:
            up, up_url = start([sys.executable, str(ROOT / "bench" / "upstream.py")], tmpdir)
            procs.append(up)
            off, off_url = gateway(tmpdir, "off", up_url, False)
            on, on_url = gateway(tmpdir, "on", up_url, True)
            procs += [off, on]
            for r in range(rounds):
                texts = [f"question {r}-{i}: how do I file expense claim number {i * 7919 % 10007}?"
                         for i in range(per)]
                got = {"direct": asyncio.run(timed(up_url, texts)), "off": asyncio.run(timed(off_url, texts)),
                       "miss": asyncio.run(timed(on_url, texts)), "hit": asyncio.run(timed(on_url, texts))}
                for k, v in got.items():
                    lat[k] += v
                diffs.append(statistics.median(got["miss"]) - statistics.median(got["off"]))
                ratios.append(statistics.median(got["hit"]) / statistics.median(got["miss"]))
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=20)
    base = statistics.median(lat["direct"])
    return {"requests_per_path": per * rounds, "direct_ms_p50": round(base, 3),
            **{f"{k}_added_ms_p50": round(statistics.median(lat[k]) - base, 3) for k in ("off", "miss", "hit")},
            **{f"{k}_added_ms_p99": round(pct(lat[k], 0.99) - pct(lat["direct"], 0.99), 3)
               for k in ("off", "miss", "hit")},
            "miss_added_by_cache_ms_p50": round(statistics.median(diffs), 3),
            "miss_added_rounds_ms": [round(d, 3) for d in diffs],
            "hit_over_miss_latency": round(statistics.median(ratios), 3)}


async def like_questions(embed: Any, n: int) -> np.ndarray:
    """``n`` unit vectors drawn from a normal with the mean and covariance of real questions'
    embeddings."""
    path = Path(__file__).parents[1] / "tests" / "data" / "cache" / "pairs.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    questions = list(dict.fromkeys(q for r in rows for q in (r["a"], r["b"])))
    real = np.stack([unit(await embed(q)) for q in questions[:300]])
    rng = np.random.default_rng(0)
    drawn = rng.multivariate_normal(real.mean(axis=0), np.cov(real, rowvar=False), size=n, method="eigh")
    return drawn / np.linalg.norm(drawn, axis=1, keepdims=True)


async def meaning_match(entries: int, n: int) -> dict[str, Any]:
    settings = load_settings(overrides={"cache": {"enabled": True, "routes": {"smollm2-135m-instruct": {
        "semantic": True}}}}, environ={})
    async with deployed(settings) as dep:
        cache = ResponseCache(dep)
        embed = dep.cache_embed()
        assert embed is not None
        asked = "How do I withdraw my housing fund to pay the rent?"
        plan = cache.plan("bench", "smollm2-135m-instruct", GenRequest("chat", [{"role": "user", "content": asked}],
                                                                       temperature=0))
        assert isinstance(plan, Plan)
        for i, v in enumerate(await like_questions(embed, entries - 1)):  # other questions of the scope
            cache.index.put(Entry(f"k{i}", plan.question.scope, plan.name, "bench", Answer("x", "stop", 1, 1, "m", None,
                                                                                          0.0), v, 0.0, 1e12),
                            entries + 1)
        plan.vector = unit(await embed(asked))
        kept = cache.keep(plan, Answer("Apply online.", "stop", 10, 3, "m", None, 0.01), False)
        assert isinstance(kept, Entry)
        reworded = "How can I withdraw my housing fund to pay rent?"
        await embed(reworded)  # computed once, as the stages that share it would
        semantic, exact, similarity = [], [], 0.0
        for _ in range(n):
            p = cache.plan("bench", "smollm2-135m-instruct", GenRequest(
                "chat", [{"role": "user", "content": reworded}], temperature=0))
            assert isinstance(p, Plan)
            t0 = time.perf_counter()
            hit = await cache.lookup(p)
            semantic.append((time.perf_counter() - t0) * 1000)
            assert hit is not None and hit.kind == "semantic", hit
            similarity = hit.similarity
            t0 = time.perf_counter()
            hit = await cache.lookup(plan)
            exact.append((time.perf_counter() - t0) * 1000)
            assert hit is not None and hit.kind == "exact"
        return {"entries_in_scope": len(cache.index), "similarity": round(similarity, 4),
                "semantic_lookup_ms_p50": round(statistics.median(semantic), 4),
                "semantic_lookup_ms_p99": round(pct(semantic, 0.99), 4),
                "exact_lookup_ms_p50": round(statistics.median(exact), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=1200)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--json", dest="json_path", default=None)
    args = ap.parse_args()
    res = {"gateway": through_gateway(args.requests, args.rounds),
           "meaning_match": asyncio.run(meaning_match(args.entries, 300))}
    print(json.dumps(res, indent=2))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
