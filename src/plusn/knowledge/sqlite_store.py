"""A knowledge base in one SQLite file: documents, chunks, an FTS5 keyword index and vectors.

Why SQLite: it ships with Python, needs no server, and FTS5's BM25 over pre-segmented words
is fast; vectors are float32 blobs scanned with one numpy matrix product, which at 10,000
chunks of 384 dimensions takes about a millisecond (see ``bench/retrieval_latency.py``). For
millions of chunks or several gateway replicas, use the Postgres store (pgvector + full-text).

The keyword index holds jieba-segmented words (see :mod:`.text`), so FTS5's own tokenizer only
splits on the spaces we put in and applies Porter stemming to Latin words.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .text import words

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    title TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    ingested_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    doc_id INTEGER NOT NULL REFERENCES docs(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    heading TEXT NOT NULL,
    text TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(words, tokenize='porter unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS kb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass
class StoredChunk:
    id: int
    source: str
    title: str
    heading: str
    ordinal: int
    text: str
    meta: dict[str, Any]


# Query words found in more than this share of the chunks are left out of the keyword search.
# BM25 gives them little weight (an IDF of log 4 or less, against about 9 for a rare word in
# 10,000 chunks) while they match most rows, which is most of the search's time: 6.8 → 2.2 ms at
# p50 on 10,000 chunks (bench/retrieval_latency.py). They are this corpus's own stopwords,
# Chinese ones (的, 是, 在) included, without a hand-made list.
COMMON_SHARE = 0.2
# Only in large knowledge bases: in a small one a key word can sit in a fifth of the chunks, and
# the search is fast anyway.
COMMON_MIN_CHUNKS = 2000


def fts_query(text: str, common: frozenset[str] = frozenset()) -> str | None:
    """An FTS5 OR-query of the text's words, each quoted so no word is read as syntax; words in
    ``common`` are left out unless nothing else is left."""
    ws = list(dict.fromkeys(words(text, query=True)))
    ws = [w for w in ws if w not in common] or ws
    if not ws:
        return None
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in ws)


class SQLiteStore:
    """One knowledge base. Thread-safe: writes are serialised, reads use their own connection."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._write_lock = threading.Lock()
        self._local = threading.local()
        conn = self._conn()
        conn.executescript(SCHEMA)
        self._matrix: tuple[int, np.ndarray, np.ndarray] | None = None  # (generation, ids, vectors)
        self._access: tuple[int, dict[int, Any]] | None = None  # (generation, chunk id → access list)
        self._common: tuple[int, frozenset[str]] | None = None  # (generation, words)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- writing ----------------------------------------------------------------------------

    def generation(self) -> int:
        row = self._conn().execute("SELECT value FROM kb_meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def _bump(self, conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO kb_meta(key, value) VALUES('generation', '1') "
                     "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")

    def fingerprints(self) -> dict[str, str]:
        """source → content hash, to skip unchanged files."""
        return {r[0]: r[1] for r in self._conn().execute("SELECT source, sha256 FROM docs")}

    def put(self, source: str, sha256: str, title: str, meta: dict[str, Any],
            chunks: Sequence[tuple[int, str, str]], vectors: np.ndarray) -> None:
        """Replace a document and its chunks ((ordinal, heading, text), one vector each)."""
        vecs = np.asarray(vectors, dtype=np.float32)
        with self._write_lock:
            conn = self._conn()
            with conn:
                self._delete(conn, source)
                cur = conn.execute("INSERT INTO docs(source, sha256, title, meta, ingested_at) VALUES(?,?,?,?,?)",
                                   (source, sha256, title, json.dumps(meta, ensure_ascii=False), time.time()))
                doc_id = cur.lastrowid
                for (ordinal, heading, text), v in zip(chunks, vecs, strict=True):
                    c = conn.execute("INSERT INTO chunks(doc_id, ordinal, heading, text, vector) VALUES(?,?,?,?,?)",
                                     (doc_id, ordinal, heading, text, v.tobytes()))
                    conn.execute("INSERT INTO chunks_fts(rowid, words) VALUES(?, ?)",
                                 (c.lastrowid, " ".join(words(f"{heading}\n{text}"))))
                self._bump(conn)

    def delete(self, sources: Iterable[str]) -> int:
        n = 0
        with self._write_lock:
            conn = self._conn()
            with conn:
                for s in sources:
                    n += self._delete(conn, s)
                if n:
                    self._bump(conn)
        return n

    def _delete(self, conn: sqlite3.Connection, source: str) -> int:
        row = conn.execute("SELECT id FROM docs WHERE source=?", (source,)).fetchone()
        if row is None:
            return 0
        conn.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE doc_id=?)", (row[0],))
        conn.execute("DELETE FROM chunks WHERE doc_id=?", (row[0],))
        conn.execute("DELETE FROM docs WHERE id=?", (row[0],))
        return 1

    # --- reading ----------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        conn = self._conn()
        return {"documents": int(conn.execute("SELECT count(*) FROM docs").fetchone()[0]),
                "chunks": int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])}

    def matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, L2-normalised vectors), cached until the next write."""
        gen = self.generation()
        if self._matrix is None or self._matrix[0] != gen:
            rows = self._conn().execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            if rows:
                m = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
                m = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
            else:
                m = np.zeros((0, 1), dtype=np.float32)
            self._matrix = (gen, ids, np.ascontiguousarray(m, dtype=np.float32))
        return self._matrix[1], self._matrix[2]

    def common_words(self) -> frozenset[str]:
        """Indexed words in more than :data:`COMMON_SHARE` of the chunks (of at least
        :data:`COMMON_MIN_CHUNKS`), cached until the next write."""
        gen = self.generation()
        if self._common is None or self._common[0] != gen:
            conn = self._conn()
            n = int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])
            common: frozenset[str] = frozenset()
            if n >= COMMON_MIN_CHUNKS:
                conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocab USING fts5vocab(main, chunks_fts, row)")
                rows = conn.execute("SELECT term FROM temp.chunks_vocab WHERE doc > ?", (n * COMMON_SHARE,)).fetchall()
                common = frozenset(r[0] for r in rows)
            self._common = (gen, common)
        return self._common[1]

    def dense(self, q: np.ndarray, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) of the ``k`` nearest chunks: one matrix product."""
        ids, m = self.matrix()
        if not len(ids):
            return []
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        sims = m @ q.astype(np.float32)
        if allowed is not None:
            mask = np.isin(ids, np.fromiter(allowed, dtype=np.int64, count=len(allowed)))
            sims = np.where(mask, sims, -np.inf)
        n = min(k, len(ids))
        top = np.argpartition(-sims, n - 1)[:n]
        top = top[np.argsort(-sims[top])]
        return [(int(ids[t]), float(sims[t])) for t in top if np.isfinite(sims[t])]

    def bm25(self, query: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score; higher is better) for the best ``k`` keyword matches."""
        q = fts_query(query, self.common_words())
        if q is None:
            return []
        rows = self._conn().execute(
            "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?",
            (q, k)).fetchall()
        return [(int(r[0]), -float(r[1])) for r in rows]

    def allowed(self, filters: dict[str, Any]) -> set[int]:
        """Chunk ids whose document metadata equals every filter value (a list means any of)."""
        sql = "SELECT chunks.id FROM chunks JOIN docs ON docs.id = chunks.doc_id WHERE 1=1"
        args: list[Any] = []
        for key, want in filters.items():
            values = want if isinstance(want, list) else [want]
            expr = "docs.source" if key == "source" else "json_extract(docs.meta, ?)"
            if key != "source":
                args.append(f'$."{key}"')
            sql += f" AND {expr} IN ({','.join('?' * len(values))})"
            args.extend(values)
        return {int(r[0]) for r in self._conn().execute(sql, args)}

    def access_lists(self) -> dict[int, Any]:
        """Chunk id → its document's access list, for the documents that have one; cached until
        the next write, as the vectors are (every search asks)."""
        gen = self.generation()
        if self._access is None or self._access[0] != gen:
            self._access = (gen, {int(r[0]): r[1] for r in self._conn().execute(
                "SELECT chunks.id, json_extract(docs.meta, '$.access') FROM chunks JOIN docs ON docs.id = chunks.doc_id "
                "WHERE json_extract(docs.meta, '$.access') IS NOT NULL")})
        return self._access[1]

    def fetch(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        if not ids:
            return {}
        rows = self._conn().execute(
            "SELECT chunks.id, docs.source, docs.title, chunks.heading, chunks.ordinal, chunks.text, docs.meta "
            f"FROM chunks JOIN docs ON docs.id = chunks.doc_id WHERE chunks.id IN ({','.join('?' * len(ids))})",
            list(ids)).fetchall()
        return {int(r[0]): StoredChunk(int(r[0]), r[1], r[2], r[3], int(r[4]), r[5], json.loads(r[6])) for r in rows}

    def doc_of_chunks(self) -> dict[int, str]:
        """chunk id → document source, for evaluation by document."""
        return {int(r[0]): r[1] for r in self._conn().execute(
            "SELECT chunks.id, docs.source FROM chunks JOIN docs ON docs.id = chunks.doc_id")}

    def meta(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self._conn().execute("SELECT key, value FROM kb_meta")}

    def set_meta(self, key: str, value: str) -> None:
        with self._write_lock:
            conn = self._conn()
            with conn:
                conn.execute("INSERT INTO kb_meta(key, value) VALUES(?, ?) "
                             "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))
