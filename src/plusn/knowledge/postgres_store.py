"""A knowledge base in Postgres: pgvector for vectors (HNSW, cosine), full-text search for words.

For scale: many millions of chunks, several gateway replicas sharing one store, and the
database's own backups. Several knowledge bases share the tables, keyed by ``kb``. Words are
jieba-segmented before they reach Postgres (its own parsers cannot split Chinese), indexed
with the ``simple`` configuration, and ranked with ``ts_rank_cd``.

Needs the ``vector`` extension in the database (``CREATE EXTENSION vector``, once, by a role
allowed to) and ``pip install 'plusn[postgres]'``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..errors import MissingDependency, UpstreamError
from .sqlite_store import StoredChunk
from .text import words

SCHEMA = """
CREATE TABLE IF NOT EXISTS plusn_kb_docs (
    id BIGSERIAL PRIMARY KEY,
    kb TEXT NOT NULL,
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    title TEXT NOT NULL,
    meta JSONB NOT NULL DEFAULT '{}',
    ingested_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (kb, source)
);
CREATE TABLE IF NOT EXISTS plusn_kb_meta (
    kb TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kb, key)
);
"""

CHUNKS = """
CREATE TABLE IF NOT EXISTS plusn_kb_chunks (
    id BIGSERIAL PRIMARY KEY,
    doc_id BIGINT NOT NULL REFERENCES plusn_kb_docs(id) ON DELETE CASCADE,
    kb TEXT NOT NULL,
    ordinal INT NOT NULL,
    heading TEXT NOT NULL,
    text TEXT NOT NULL,
    words TSVECTOR NOT NULL,
    embedding VECTOR({dim}) NOT NULL
);
CREATE INDEX IF NOT EXISTS plusn_kb_chunks_words ON plusn_kb_chunks USING GIN (words);
CREATE INDEX IF NOT EXISTS plusn_kb_chunks_embedding ON plusn_kb_chunks USING hnsw (embedding vector_cosine_ops);
CREATE INDEX IF NOT EXISTS plusn_kb_chunks_doc ON plusn_kb_chunks (doc_id);
CREATE INDEX IF NOT EXISTS plusn_kb_chunks_kb ON plusn_kb_chunks (kb);
"""

_SAFE_WORD = re.compile(r"[^\w]+", re.UNICODE)


def _vector(v: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(v, dtype=np.float32)) + "]"


class PostgresStore:
    def __init__(self, dsn: str, kb: str) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise MissingDependency("the postgres store needs psycopg: pip install 'plusn[postgres]'") from exc
        self._psycopg = psycopg
        self.dsn = dsn
        self.kb = kb
        self._local = threading.local()
        self._lock = threading.Lock()
        self._access: tuple[int, dict[int, Any]] | None = None  # (generation, chunk id → access list)
        with self._tx() as conn:
            conn.execute(SCHEMA)
        self._has_chunks = self._chunks_exist()

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            try:
                conn = self._psycopg.connect(self.dsn, autocommit=True)
            except self._psycopg.OperationalError as exc:
                raise UpstreamError(f"knowledge base {self.kb!r}: cannot reach Postgres: {exc}") from None
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        """A connection inside a transaction (committed on success, rolled back on error)."""
        conn = self._conn()
        with conn.transaction():
            yield conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _chunks_exist(self) -> bool:
        with self._tx() as conn:
            row = conn.execute("SELECT to_regclass('plusn_kb_chunks') IS NOT NULL").fetchone()
        return bool(row[0])

    # --- writing ------------------------------------------------------------------------

    def fingerprints(self) -> dict[str, str]:
        with self._tx() as conn:
            return {r[0]: r[1] for r in conn.execute("SELECT source, sha256 FROM plusn_kb_docs WHERE kb = %s",
                                                     (self.kb,))}

    def put(self, source: str, sha256: str, title: str, meta: dict[str, Any],
            chunks: Sequence[tuple[int, str, str]], vectors: np.ndarray) -> None:
        vecs = np.asarray(vectors, dtype=np.float32)
        with self._lock, self._tx() as conn:
            if not self._has_chunks and len(vecs):
                conn.execute(CHUNKS.format(dim=int(vecs.shape[1])))
                self._has_chunks = True
            conn.execute("DELETE FROM plusn_kb_docs WHERE kb = %s AND source = %s", (self.kb, source))
            doc_id = conn.execute(
                "INSERT INTO plusn_kb_docs(kb, source, sha256, title, meta) VALUES (%s,%s,%s,%s,%s) RETURNING id",
                (self.kb, source, sha256, title, json.dumps(meta, ensure_ascii=False))).fetchone()[0]
            for (ordinal, heading, text), v in zip(chunks, vecs, strict=True):
                conn.execute(
                    "INSERT INTO plusn_kb_chunks(doc_id, kb, ordinal, heading, text, words, embedding) "
                    "VALUES (%s,%s,%s,%s,%s, to_tsvector('simple', %s), %s::vector)",
                    (doc_id, self.kb, ordinal, heading, text, " ".join(words(f"{heading}\n{text}")), _vector(v)))
            self._bump(conn)

    def delete(self, sources: Iterable[str]) -> int:
        with self._lock, self._tx() as conn:
            cur = conn.execute("DELETE FROM plusn_kb_docs WHERE kb = %s AND source = ANY(%s)", (self.kb, list(sources)))
            self._bump(conn)
            return int(cur.rowcount or 0)

    def _bump(self, conn: Any) -> None:
        """One more write: what was answered from the base before may be out of date."""
        conn.execute("INSERT INTO plusn_kb_meta(kb, key, value) VALUES (%s, 'generation', '1') ON CONFLICT (kb, key) "
                     "DO UPDATE SET value = (CAST(plusn_kb_meta.value AS BIGINT) + 1)::text", (self.kb,))

    def generation(self) -> int:
        with self._tx() as conn:
            row = conn.execute("SELECT value FROM plusn_kb_meta WHERE kb = %s AND key = 'generation'",
                               (self.kb,)).fetchone()
        return int(row[0]) if row else 0

    # --- reading ------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        with self._tx() as conn:
            docs = conn.execute("SELECT count(*) FROM plusn_kb_docs WHERE kb = %s", (self.kb,)).fetchone()[0]
            chunks = conn.execute("SELECT count(*) FROM plusn_kb_chunks WHERE kb = %s", (self.kb,)).fetchone()[0] \
                if self._has_chunks else 0
        return {"documents": int(docs), "chunks": int(chunks)}

    def dense(self, q: np.ndarray, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        if not self._has_chunks:
            return []
        where = "kb = %s"
        args: list[Any] = [self.kb]
        if allowed is not None:
            where += " AND id = ANY(%s)"
            args.append(list(allowed))
        with self._tx() as conn:
            rows = conn.execute(
                f"SELECT id, 1 - (embedding <=> %s::vector) FROM plusn_kb_chunks WHERE {where} "
                "ORDER BY embedding <=> %s::vector LIMIT %s",
                (_vector(q), *args, _vector(q), k)).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def bm25(self, query: str, k: int) -> list[tuple[int, float]]:
        """Full-text matches ranked by ts_rank_cd (Postgres has no BM25; the ranking is its own)."""
        terms = list(dict.fromkeys(t for t in (_SAFE_WORD.sub("", w) for w in words(query, query=True)) if t))
        if not terms or not self._has_chunks:
            return []
        tsquery = " | ".join(terms)
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT id, ts_rank_cd(words, q) AS r FROM plusn_kb_chunks, to_tsquery('simple', %s) q "
                "WHERE kb = %s AND words @@ q ORDER BY r DESC LIMIT %s", (tsquery, self.kb, k)).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def allowed(self, filters: dict[str, Any]) -> set[int]:
        sql = "SELECT c.id FROM plusn_kb_chunks c JOIN plusn_kb_docs d ON d.id = c.doc_id WHERE c.kb = %s"
        args: list[Any] = [self.kb]
        for key, want in filters.items():
            values = [str(v) for v in (want if isinstance(want, list) else [want])]
            if key == "source":
                sql += " AND d.source = ANY(%s)"
            else:
                sql += " AND d.meta ->> %s = ANY(%s)"
                args.append(key)
            args.append(values)
        if not self._has_chunks:
            return set()
        with self._tx() as conn:
            return {int(r[0]) for r in conn.execute(sql, args)}

    def access_lists(self) -> dict[int, Any]:
        """Chunk id → its document's access list, for the documents that have one; read again
        only after a write (by any process: the generation is in the database), since every
        search asks."""
        if not self._has_chunks:
            return {}
        gen = self.generation()
        if self._access is not None and self._access[0] == gen:
            return self._access[1]
        with self._tx() as conn:
            lists = {int(r[0]): r[1] for r in conn.execute(
                "SELECT c.id, d.meta ->> 'access' FROM plusn_kb_chunks c JOIN plusn_kb_docs d ON d.id = c.doc_id "
                "WHERE c.kb = %s AND d.meta ->> 'access' IS NOT NULL", [self.kb])}
        self._access = (gen, lists)
        return lists

    def fetch(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        if not ids:
            return {}
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT c.id, d.source, d.title, c.heading, c.ordinal, c.text, d.meta FROM plusn_kb_chunks c "
                "JOIN plusn_kb_docs d ON d.id = c.doc_id WHERE c.id = ANY(%s)", (list(ids),)).fetchall()
        return {int(r[0]): StoredChunk(int(r[0]), r[1], r[2], r[3], int(r[4]), r[5], dict(r[6])) for r in rows}

    def doc_of_chunks(self) -> dict[int, str]:
        if not self._has_chunks:
            return {}
        with self._tx() as conn:
            return {int(r[0]): r[1] for r in conn.execute(
                "SELECT c.id, d.source FROM plusn_kb_chunks c JOIN plusn_kb_docs d ON d.id = c.doc_id "
                "WHERE c.kb = %s", (self.kb,))}

    def meta(self) -> dict[str, str]:
        with self._tx() as conn:
            return {r[0]: r[1] for r in conn.execute("SELECT key, value FROM plusn_kb_meta WHERE kb = %s", (self.kb,))}

    def set_meta(self, key: str, value: str) -> None:
        with self._lock, self._tx() as conn:
            conn.execute("INSERT INTO plusn_kb_meta(kb, key, value) VALUES (%s,%s,%s) "
                         "ON CONFLICT (kb, key) DO UPDATE SET value = excluded.value", (self.kb, key, value))
