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
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import jsonl
from ..fleet.backend import EmbeddingBackend
from ..knowledge import fusion
from ..knowledge.knowledge_base import IngestDocument, KnowledgeBase, documents, ndcg, recall
from ..knowledge.readers import Section
from ..knowledge.spec import KnowledgeSpec
from ..knowledge.sqlite_store import SQLiteStore
from .progress import Bar


def _fold(qid: str) -> int:
    return hashlib.sha256(qid.encode()).digest()[0] % 2


def load_beir(root: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, dict[str, int]]]:
    corpus = jsonl.read(root / "corpus.jsonl")
    queries = jsonl.read(root / "queries.jsonl")
    qrels: dict[str, dict[str, int]] = {}
    with (root / "qrels.tsv").open(encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t")
        for row in reader:
            if len(row) < 3 or row[0] == "query-id":
                continue
            qrels.setdefault(row[0], {})[row[1]] = int(float(row[2]))
    return corpus, queries, qrels


async def _evaluate(root: Path, embedder: EmbeddingBackend, index: Path, progress: bool,
                    latency_queries: int) -> dict[str, Any]:
    corpus, queries, qrels = load_beir(root)
    store = SQLiteStore(index)
    kb = KnowledgeBase(root.name, KnowledgeSpec(), store, embedder)
    records = [IngestDocument(str(d["_id"]), str(d.get("title") or ""), [Section([], str(d["text"]))],
                      hashlib.sha256(f"{d.get('title')}\n{d['text']}".encode()).hexdigest()) for d in corpus]
    bar = Bar(progress, "ingesting", "chunk")
    report = await kb.ingest(records, progress=bar.update)
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
    vectors = await kb.embed_queries(texts)
    bar = Bar(progress, "searching", "query")
    cands = []
    for n, (text, vec) in enumerate(zip(texts, vectors, strict=True), 1):
        cands.append(kb.candidates(text, vec))
        bar.update(n, len(judged))
    bar.close()
    rels = [qrels[str(q["_id"])] for q in judged]

    def scored(rankings: list[fusion.Ranked], idx: list[int]) -> dict[str, float]:
        docs = [documents(r, doc_of) for r in rankings]
        return {"ndcg@10": round(float(np.mean([ndcg(d, rels[i]) for d, i in zip(docs, idx, strict=True)])), 4),
                "recall@10": round(float(np.mean([recall(d, rels[i]) for d, i in zip(docs, idx, strict=True)])), 4)}

    every = list(range(len(judged)))
    out_modes = {m: scored([fusion.fuse(m, *cands[i]) for i in every], every) for m in ("bm25", "dense", "rrf")}
    out_modes["uncalibrated"] = scored([fusion.combine(*cands[i], fusion.DEFAULT) for i in every], every)
    # The adaptive fusion, cross-fitted: calibrated on one half of the judged queries and scored on the
    # other, both ways round, so no query is scored by a fusion that saw its judgements.
    folds = [[i for i in every if _fold(str(judged[i]["_id"])) == f] for f in (0, 1)]
    hybrid_rankings: dict[int, fusion.Ranked] = {}
    chosen = []
    for f in (0, 1):
        train, test = folds[f], folds[1 - f]

        def gain(j: int, ranked: fusion.Ranked, train: list[int] = train) -> float:
            return ndcg(documents(ranked, doc_of), rels[train[j]])

        params = fusion.calibrate([cands[i] for i in train], gain)
        chosen.append(params)
        for i in test:
            hybrid_rankings[i] = fusion.combine(*cands[i], params)
    out_modes["hybrid"] = scored([hybrid_rankings[i] for i in every], every)
    # What a deployment calibrated on all of them would use from now on.
    await kb.calibrate([(texts[i], rels[i]) for i in every])

    # Latency: the whole hybrid search a user waits for (embed the query, BM25, fuse, fetch).
    lat = []
    for q in judged[:latency_queries]:
        t0 = time.perf_counter()
        await kb.search(str(q["text"]), k=10)
        lat.append((time.perf_counter() - t0) * 1000)
    stats = store.stats()
    store.close()
    out: dict[str, Any] = {"data": str(root), "queries": len(judged), **stats, **out_modes,
                           "fusion_folds": [p.as_dict() for p in chosen], "fusion": kb.fusion_params.as_dict()}
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
                        ("uncalibrated", "adaptive, uncalibrated"), ("hybrid", "hybrid (adaptive)")):
        lines.append(f"{label:24s} {res[name]['ndcg@10']:8.4f} {res[name]['recall@10']:8.4f}")
    best = max(res["bm25"]["ndcg@10"], res["dense"]["ndcg@10"])
    folds = "; ".join(f"{fusion.FusionParams(**p).label} ({p['note']})" for p in res["fusion_folds"])
    lines += ["", f"hybrid minus the better single method: {res['hybrid']['ndcg@10'] - best:+.4f}",
              f"hybrid = adaptive fusion calibrated on the other half of the judged queries: {folds}",
              f"query latency (hybrid, incl. embedding): p50 {res['latency_ms_p50']} ms",
              "ingest throughput: " + (f"{res['ingest_chunks_per_s']:.1f} chunks/s"
                                       if res["ingest_chunks_per_s"] else "unknown")]
    return "\n".join(lines)

