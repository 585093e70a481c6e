"""``plusn eval retrieval``: BM25, dense and fused search side by side on a BEIR-format set.

The corpus is ingested through the real knowledge-base code (chunking, batched embedding,
the SQLite store) into an index file that is reused while the corpus is unchanged; the ingest
throughput measured when it was built is reported with it. A document's score is its best
chunk's. Metrics: nDCG@10 (graded gains, as trec_eval) and Recall@10, averaged over the
queries that have judgements.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..fleet.base import EmbeddingBackend
from ..knowledge import fusion
from ..knowledge.base import CANDIDATES, KnowledgeBase, Record
from ..knowledge.readers import Section
from ..knowledge.spec import KnowledgeSpec
from ..knowledge.store import SQLiteStore

MODES = ("bm25", "dense", "rrf", "adaptive")


def load_beir(root: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, dict[str, int]]]:
    corpus = [json.loads(line) for line in (root / "corpus.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    queries = [json.loads(line) for line in (root / "queries.jsonl").read_text(encoding="utf-8").splitlines()
               if line.strip()]
    qrels: dict[str, dict[str, int]] = {}
    with (root / "qrels.tsv").open(encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t")
        for row in reader:
            if len(row) < 3 or row[0] == "query-id":
                continue
            qrels.setdefault(row[0], {})[row[1]] = int(float(row[2]))
    return corpus, queries, qrels


def ndcg_at(ranked: list[str], rel: dict[str, int], k: int = 10) -> float:
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((v for v in rel.values() if v > 0), reverse=True)[:k]
    idcg = sum(v / math.log2(i + 2) for i, v in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: list[str], rel: dict[str, int], k: int = 10) -> float:
    wanted = {d for d, v in rel.items() if v > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def _docs(ranked: list[tuple[int, float]], doc_of: dict[int, str], k: int = 10) -> list[str]:
    """Chunk ranking → document ranking (a document ranks at its best chunk)."""
    out: list[str] = []
    for cid, _ in ranked:
        d = doc_of.get(cid)
        if d is not None and d not in out:
            out.append(d)
            if len(out) == k:
                break
    return out


async def _evaluate(root: Path, embedder: EmbeddingBackend, index: Path, progress: bool,
                    latency_queries: int) -> dict[str, Any]:
    corpus, queries, qrels = load_beir(root)
    store = SQLiteStore(index)
    kb = KnowledgeBase(root.name, KnowledgeSpec(), store, embedder)
    records = [Record(str(d["_id"]), str(d.get("title") or ""), [Section([], str(d["text"]))],
                      hashlib.sha256(f"{d.get('title')}\n{d['text']}".encode()).hexdigest()) for d in corpus]
    bar = _bar(progress, "ingesting", "chunk")
    report = await kb.ingest(records, progress=(lambda n, total: bar.update(n, total)) if bar else None)
    if bar:
        bar.close()
    # The throughput of the build that made this index (a reused index embeds nothing now).
    meta = store.meta()
    if report.chunks:
        store.set_meta("ingest_chunks_per_s", f"{report.chunks_per_s:.3f}")
        store.set_meta("ingest_chunks", str(report.chunks))
        meta = store.meta()
    doc_of = store.doc_of_chunks()

    judged = [q for q in queries if str(q["_id"]) in qrels]
    texts = [str(q["text"]) for q in judged]
    vectors: list[list[float]] = []
    for i in range(0, len(texts), 64):
        got, _ = await embedder.embed(texts[i : i + 64], kind="query")
        vectors.extend(got)
    scores: dict[str, dict[str, list[float]]] = {m: {"ndcg@10": [], "recall@10": []} for m in MODES}
    bar = _bar(progress, "searching", "query")
    for n, (q, vec) in enumerate(zip(judged, vectors, strict=True), 1):
        lexical = store.bm25(str(q["text"]), CANDIDATES)
        dense = kb._dense(np.asarray(vec, dtype=np.float32), None)
        rel = qrels[str(q["_id"])]
        for mode in MODES:
            ranked = _docs(fusion.fuse(mode, lexical, dense), doc_of)
            scores[mode]["ndcg@10"].append(ndcg_at(ranked, rel))
            scores[mode]["recall@10"].append(recall_at(ranked, rel))
        if bar:
            bar.update(n, len(judged))
    if bar:
        bar.close()

    # Latency: the whole hybrid search a user waits for (embed the query, BM25, fuse, fetch).
    lat = []
    for q in judged[:latency_queries]:
        t0 = time.perf_counter()
        await kb.search(str(q["text"]), k=10)
        lat.append((time.perf_counter() - t0) * 1000)
    stats = store.stats()
    store.close()
    out: dict[str, Any] = {"data": str(root), "queries": len(judged), **stats}
    for mode in MODES:
        name = "hybrid" if mode == "adaptive" else mode
        out[name] = {k: round(float(np.mean(v)), 4) for k, v in scores[mode].items()}
    out["latency_ms_p50"] = round(statistics.median(lat), 2) if lat else None
    out["ingest_chunks_per_s"] = float(meta["ingest_chunks_per_s"]) if "ingest_chunks_per_s" in meta else None
    out["index"] = str(index)
    return out


def evaluate(root: str | Path, embedder: EmbeddingBackend, *, index: Path, progress: bool = True,
             latency_queries: int = 200) -> dict[str, Any]:
    return asyncio.run(_evaluate(Path(root), embedder, index, progress, latency_queries))


def report(res: dict[str, Any]) -> str:
    lines = [f"retrieval eval: {res['data']}  ({res['documents']} documents, {res['chunks']} chunks, "
             f"{res['queries']} judged queries)", "",
             f"{'method':24s} {'nDCG@10':>8s} {'R@10':>8s}", f"{'-' * 24} {'-' * 8} {'-' * 8}"]
    for name, label in (("bm25", "BM25 (jieba)"), ("dense", "dense (e5)"), ("rrf", "RRF (k=60)"),
                        ("hybrid", "hybrid (adaptive)")):
        lines.append(f"{label:24s} {res[name]['ndcg@10']:8.4f} {res[name]['recall@10']:8.4f}")
    best = max(res["bm25"]["ndcg@10"], res["dense"]["ndcg@10"])
    lines += ["", f"hybrid minus the better single method: {res['hybrid']['ndcg@10'] - best:+.4f}",
              f"query latency (hybrid, incl. embedding): p50 {res['latency_ms_p50']} ms",
              "ingest throughput: " + (f"{res['ingest_chunks_per_s']:.1f} chunks/s"
                                       if res["ingest_chunks_per_s"] else "unknown")]
    return "\n".join(lines)


class _bar:
    def __new__(cls, enabled: bool, desc: str, unit: str) -> Any:
        if not enabled:
            return None
        return super().__new__(cls)

    def __init__(self, enabled: bool, desc: str, unit: str) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm(desc=desc, unit=unit, leave=False)
        self._n = 0

    def update(self, n: int, total: int) -> None:
        if self._tqdm.total != total:
            self._tqdm.total = total
        self._tqdm.update(n - self._n)
        self._n = n

    def close(self) -> None:
        self._tqdm.close()
