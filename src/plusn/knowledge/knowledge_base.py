"""A knowledge base: ingest files, search them by keywords and meaning, cite what was found."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import ConfigError, InvalidRequest
from ..fleet.backend import EmbeddingBackend
from ..telemetry.spans import span
from . import fusion
from .chunker import Chunk, chunk
from .readers import SUFFIXES, Document, Section, read
from .spec import KnowledgeSpec
from .sqlite_store import StoredChunk

# How many candidates each retriever contributes before fusion.
CANDIDATES = 100
# Texts per embedding call during ingestion: small enough that a query waiting behind a batch
# is answered within about a second, large enough to use both cores.
INGEST_BATCH = 8
# Chunks embedded before their documents are written (a crash loses at most this much work).
GROUP_CHUNKS = 64


class Store(Protocol):
    def fingerprints(self) -> dict[str, str]: ...
    def generation(self) -> int: ...  # grows with every write
    def put(self, source: str, sha256: str, title: str, meta: dict[str, Any],
            chunks: Sequence[tuple[int, str, str]], vectors: np.ndarray) -> None: ...
    def delete(self, sources: Iterable[str]) -> int: ...
    def stats(self) -> dict[str, int]: ...
    def dense(self, q: np.ndarray, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]: ...
    def bm25(self, query: str, k: int) -> list[tuple[int, float]]: ...
    def allowed(self, filters: dict[str, Any]) -> set[int]: ...
    def access_lists(self) -> dict[int, Any]: ...
    def fetch(self, ids: Sequence[int]) -> dict[int, StoredChunk]: ...
    def doc_of_chunks(self) -> dict[int, str]: ...
    def meta(self) -> dict[str, str]: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def close(self) -> None: ...


@dataclass
class Hit:
    chunk_id: int
    source: str
    title: str
    heading: str
    ordinal: int
    text: str
    score: float
    meta: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)  # per retriever, for explanation

    def citation(self, n: int, snippet_chars: int = 160) -> dict[str, Any]:
        snippet = " ".join(self.text.split())
        return {"n": n, "document": self.source, "title": self.title, "heading": self.heading,
                "chunk": self.ordinal, "score": round(self.score, 4),
                "snippet": snippet[:snippet_chars] + ("…" if len(snippet) > snippet_chars else "")}


@dataclass
class IngestDocument:
    """One document to ingest, already read: a file, an API upload, or an eval corpus row."""

    source: str
    title: str
    sections: list[Section]
    sha256: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    chunks: int = 0
    seconds: float = 0.0

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged, "deleted": self.deleted,
                "failed": self.failed, "chunks": self.chunks, "seconds": round(self.seconds, 3),
                "chunks_per_s": round(self.chunks_per_s, 2)}


def absolute(path: Path) -> str:
    """The default source key of a file: its absolute path."""
    return str(path.resolve())


def file_records(paths: Iterable[Path], name: Callable[[Path], str] = absolute
                 ) -> tuple[list[tuple[Path, str]], list[Path]]:
    """Every supported file under ``paths``: (file, source key), plus the paths that do not exist."""
    found: list[tuple[Path, str]] = []
    missing: list[Path] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.suffix.lower() in SUFFIXES and not any(part.startswith(".") for part in f.parts):
                    found.append((f, name(f)))
        elif p.is_file():
            found.append((p, name(p)))
        else:
            missing.append(p)
    return found, missing


class KnowledgeBase:
    def __init__(self, name: str, spec: KnowledgeSpec, store: Store, embedder: EmbeddingBackend) -> None:
        self.name = name
        self.spec = spec
        self.store = store
        self.embedder = embedder
        self._ingest_lock = asyncio.Lock()
        self._fusion: fusion.FusionParams | None = None
        self._reranker: Callable[[str, list[Hit]], Any] | None = None

    @property
    def fusion_params(self) -> fusion.FusionParams:
        """The calibrated fusion of this knowledge base (``plusn kb calibrate``), else the default."""
        if self._fusion is None:
            raw = self.store.meta().get("fusion")
            self._fusion = fusion.FusionParams(**json.loads(raw)) if raw else fusion.DEFAULT
        return self._fusion

    # --- ingestion --------------------------------------------------------------------------

    async def ingest_files(self, paths: Sequence[Path], *, delete_missing: bool = True,
                           meta: dict[str, Any] | None = None,
                           progress: Callable[[int, int], None] | None = None,
                           name: Callable[[Path], str] = absolute) -> IngestReport:
        """Ingest files and folders. Unchanged files (same content hash) are skipped; with
        ``delete_missing``, documents from under the given folders that are gone are removed.
        ``name`` gives each file's source key (default: its absolute path)."""
        found, missing = file_records(paths, name)
        if missing:
            raise InvalidRequest(f"no such file or folder: {', '.join(str(m) for m in missing)}")
        known = self.store.fingerprints()
        records: list[IngestDocument] = []
        report = IngestReport()
        for f, source in found:
            data = f.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            if known.get(source) == fingerprint(sha, meta or {}):
                report.unchanged += 1
                continue
            try:
                doc = read(f, data)
            except InvalidRequest as exc:
                report.failed[source] = exc.message
                continue
            records.append(IngestDocument(source, doc.title, doc.sections, sha,
                                  {**(meta or {}), "path": source, "type": f.suffix.lower().lstrip(".")}))
        gone: list[str] = []
        if delete_missing:
            roots = [name(p) for p in paths if p.is_dir()]
            present = {s for _, s in found}
            gone = [s for s in known if s not in present and any(s.startswith(r.rstrip("/") + "/") for r in roots)]
        sub = await self.ingest(records, progress=progress, known=known)
        sub.unchanged += report.unchanged
        sub.failed.update(report.failed)
        sub.deleted = self.store.delete(gone) if gone else 0
        return sub

    async def ingest(self, records: Sequence[IngestDocument], *, progress: Callable[[int, int], None] | None = None,
                     known: dict[str, str] | None = None) -> IngestReport:
        """Chunk, embed (batched, shortest first) and store records; one transaction per document."""
        loop = asyncio.get_running_loop()
        # Chunking (jieba) and writing run on worker threads, embedding on the embedder's own:
        # the event loop keeps serving requests while a knowledge base ingests.
        known = await loop.run_in_executor(None, self.store.fingerprints) if known is None else known
        report = IngestReport()
        fresh = [r for r in records if known.get(r.source) != fingerprint(r.sha256, r.meta)]
        report.unchanged = len(records) - len(fresh)
        size = self.spec.chunk_tokens
        chunked = await loop.run_in_executor(
            None, lambda: [(r, chunk(Document(r.title, r.sections), size)) for r in fresh])
        total = sum(len(cs) for _, cs in chunked)
        t0 = time.perf_counter()
        async with self._ingest_lock:
            done = 0
            # Documents are embedded in groups, so small documents still fill the batches.
            for group in _groups(chunked, GROUP_CHUNKS):
                texts = [c.indexed() for _, cs in group for c in cs]
                tick = (lambda n, base=done: progress(base + n, total)) if progress else None
                vectors = await self._embed(texts, tick)
                done += len(texts)
                at = 0
                for r, cs in group:
                    rows = [(c.ordinal, c.heading, c.text) for c in cs]
                    vecs = vectors[at : at + len(cs)]
                    at += len(cs)
                    await loop.run_in_executor(None, self.store.put, r.source, fingerprint(r.sha256, r.meta), r.title,
                                               r.meta, rows, vecs)
                    if r.source in known:
                        report.updated += 1
                    else:
                        report.added += 1
        report.chunks = total
        report.seconds = time.perf_counter() - t0
        return report

    async def _embed(self, texts: list[str], tick: Callable[[int], Any] | None = None) -> np.ndarray:
        out = np.zeros((len(texts), 0), dtype=np.float32)
        if not texts:
            return out
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths batch well
        vecs: list[Any] = [None] * len(texts)
        for i in range(0, len(order), INGEST_BATCH):
            idx = order[i : i + INGEST_BATCH]
            got, _ = await self.embedder.embed([texts[j] for j in idx], kind="passage")
            for j, v in zip(idx, got, strict=True):
                vecs[j] = v
            if tick:
                tick(min(i + INGEST_BATCH, len(texts)))
        return np.asarray(vecs, dtype=np.float32)

    # --- search -----------------------------------------------------------------------------

    async def search(self, query: str, *, k: int | None = None, mode: str | None = None,
                     filters: dict[str, Any] | None = None, viewer: frozenset[str] | None = frozenset()
                     ) -> list[Hit]:
        """The best passages for ``query``. ``viewer``: who is asking, as access tokens
        (``key:<name>``, ``team:<team>``); a document with an access list in its metadata
        (``access``) is found only by a viewer it names, whatever ``filters`` say. The default
        (no tokens) finds only documents without one; None (the operator's own tools) finds all."""
        with span("plusn.retrieval", **{"plusn.knowledge_base": self.name, "plusn.k": k or self.spec.top_k,
                                        "plusn.mode": mode or self.spec.fusion}) as s:
            allowed = await self._readable(filters, viewer)
            hits = await self._search(query, k, mode, allowed)
            if viewer is not None:
                # Checked again on what was fetched: a document ingested or re-listed while this
                # search ran is judged by the access list it has now.
                hits = [h for h in hits if "access" not in h.meta or access_tokens(h.meta["access"]) & viewer]
            s.set_attribute("plusn.hits", len(hits))
            return hits

    async def counts(self, viewer: frozenset[str]) -> dict[str, int]:
        """Documents and chunks this viewer may read, and how many documents it may not (their
        names and text stay hidden; the count tells an operator the base holds more)."""
        loop = asyncio.get_running_loop()
        stats = await loop.run_in_executor(None, self.store.stats)
        lists = await loop.run_in_executor(None, self.store.access_lists)
        denied = {i for i, acl in lists.items() if not (access_tokens(acl) & viewer)}
        if not denied or not stats:
            return {"documents": stats.get("documents", 0), "chunks": stats.get("chunks", 0), "restricted": 0}
        doc_of = await loop.run_in_executor(None, self.store.doc_of_chunks)
        hidden = {doc_of[i] for i in denied if i in doc_of}
        return {"documents": stats["documents"] - len(hidden), "chunks": stats["chunks"] - len(denied),
                "restricted": len(hidden)}

    async def _readable(self, filters: dict[str, Any] | None, viewer: frozenset[str] | None) -> set[int] | None:
        """The chunks this search may return (None: any)."""
        loop = asyncio.get_running_loop()
        allowed = await loop.run_in_executor(None, self.store.allowed, filters) if filters else None
        if viewer is None:
            return allowed
        lists = await loop.run_in_executor(None, self.store.access_lists)
        denied = {i for i, acl in lists.items() if not (access_tokens(acl) & viewer)}
        if not denied:
            return allowed
        everything = allowed if allowed is not None else await loop.run_in_executor(None, self.store.allowed, {})
        return everything - denied

    async def _search(self, query: str, k: int | None, mode: str | None, allowed: set[int] | None) -> list[Hit]:
        k = k or self.spec.top_k
        mode = mode or self.spec.fusion
        if mode not in ("adaptive", "rrf", "bm25", "dense"):
            raise InvalidRequest(f"unknown search mode {mode!r}; use adaptive, rrf, bm25 or dense", param="mode")
        if not query.strip():
            raise InvalidRequest("the query is empty", param="query")
        loop = asyncio.get_running_loop()
        # Embedding the query is the slow part; the keyword search runs meanwhile on another thread.
        embedding = asyncio.ensure_future(self.embedder.embed([query], kind="query")) if mode != "bm25" else None
        try:
            lexical = await loop.run_in_executor(None, self._lexical, query, allowed) if mode != "dense" else []
        except BaseException:
            if embedding is not None:
                embedding.cancel()
            raise
        dense: fusion.Ranked = []
        if embedding is not None:
            vecs, _ = await embedding
            dense = await loop.run_in_executor(None, self.store.dense, np.asarray(vecs[0], dtype=np.float32),
                                               CANDIDATES, allowed)
        ranked = fusion.fuse(mode, lexical, dense, self.fusion_params)[: k * 3 if self.spec.rerank else k]
        chunks = await loop.run_in_executor(None, self.store.fetch, [i for i, _ in ranked])
        hits = []
        lex, den = dict(lexical), dict(dense)
        for i, score in ranked:
            c = chunks.get(i)
            if c is None:  # deleted between search and fetch
                continue
            parts = {"bm25": round(lex[i], 4)} if i in lex else {}
            if i in den:
                parts["dense"] = round(den[i], 4)
            hits.append(Hit(i, c.source, c.title, c.heading, c.ordinal, c.text, score, c.meta, parts))
        if self.spec.rerank:
            hits = await self._rerank(query, hits)
        return hits[:k]

    async def _rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        if self._reranker is None:
            import importlib

            module, _, name = (self.spec.rerank or "").partition(":")
            try:
                self._reranker = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError) as exc:
                raise ConfigError(f"cannot load rerank hook {self.spec.rerank!r}: {exc}",
                                  key=f"knowledge.{self.name}.rerank") from None
        out = self._reranker(query, hits)
        if inspect.isawaitable(out):
            out = await out
        return list(out)

    def candidates(self, query: str, vector: np.ndarray | None,
                   allowed: set[int] | None = None) -> tuple[fusion.Ranked, fusion.Ranked]:
        """Each retriever's best candidates: (BM25, dense); dense is empty without a vector."""
        dense = self.store.dense(vector, CANDIDATES, allowed) if vector is not None else []
        return self._lexical(query, allowed), dense

    def _lexical(self, query: str, allowed: set[int] | None) -> fusion.Ranked:
        lexical = self.store.bm25(query, CANDIDATES * (4 if allowed is not None else 1))
        if allowed is not None:
            lexical = [(i, s) for i, s in lexical if i in allowed][:CANDIDATES]
        return lexical

    async def calibrate(self, judged: Sequence[tuple[str, dict[str, int]]]) -> fusion.FusionParams:
        """Choose and store this knowledge base's fusion from judged queries: (query, {source: grade})."""
        texts = [q for q, _ in judged]
        vectors = await self.embed_queries(texts)
        doc_of = self.store.doc_of_chunks()
        cands = [self.candidates(q, v) for q, v in zip(texts, vectors, strict=True)]
        params = fusion.calibrate(cands, lambda i, ranked: ndcg(documents(ranked, doc_of), judged[i][1]))
        self.store.set_meta("fusion", json.dumps(params.as_dict()))
        self._fusion = params
        return params

    async def embed_queries(self, texts: Sequence[str], batch: int = 64) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for i in range(0, len(texts), batch):
            got, _ = await self.embedder.embed(list(texts[i : i + batch]), kind="query")
            out.extend(np.asarray(v, dtype=np.float32) for v in got)
        return out


def _groups(items: list[tuple[IngestDocument, list[Chunk]]], size: int) -> list[list[tuple[IngestDocument, list[Chunk]]]]:
    out: list[list[tuple[IngestDocument, list[Chunk]]]] = [[]]
    n = 0
    for item in items:
        if n >= size:
            out.append([])
            n = 0
        out[-1].append(item)
        n += len(item[1])
    return [g for g in out if g]


def fingerprint(sha256: str, meta: dict[str, Any]) -> str:
    """What says a document is unchanged: its content, and its access list (a new list on the
    same text must reach the store, or the document would stay readable as it was)."""
    if "access" not in meta:
        return sha256
    return f"{sha256}+{hashlib.sha256(str(meta['access']).encode()).hexdigest()[:12]}"


def access_tokens(acl: Any) -> frozenset[str]:
    """A document's access list as tokens: a JSON list or a comma-separated string of
    ``team:<team>`` and ``key:<key name>`` (``plusn kb ingest --meta access=team:hr,key:alice``)."""
    if acl is not None and not isinstance(acl, (str, list, tuple)):
        acl = str(acl)  # a number or a flag is no list of names: it names nobody anyone has
    if isinstance(acl, str):
        text = acl.strip()
        if text.startswith("["):
            try:
                acl = json.loads(text)
            except ValueError:
                acl = text
        if isinstance(acl, str):
            acl = acl.split(",")
    return frozenset(str(a).strip() for a in (acl or []) if str(a).strip())


def documents(ranked: fusion.Ranked, doc_of: dict[int, str], k: int = 10) -> list[str]:
    """A chunk ranking as a document ranking: a document ranks at its best chunk."""
    out: list[str] = []
    for cid, _ in ranked:
        d = doc_of.get(cid)
        if d is not None and d not in out:
            out.append(d)
            if len(out) == k:
                break
    return out


def ndcg(ranked: list[str], rel: dict[str, int], k: int = 10) -> float:
    """nDCG@k with graded gains, as trec_eval computes it."""
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((v for v in rel.values() if v > 0), reverse=True)[:k]
    idcg = sum(v / math.log2(i + 2) for i, v in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall(ranked: list[str], rel: dict[str, int], k: int = 10) -> float:
    wanted = {d for d, v in rel.items() if v > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0
