"""The cache's rows in the state database: what a restart loads, what other gateway processes
stored since, the clears to apply, and pruning by age and bounds.

Entries are written with their request's ledger row (by the ledger's writer thread, see
``RequestRecord.keep_in_cache``), so a request never waits on the disk for them.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict
from typing import Any

import numpy as np

from ..database import connect
from .index import Answer, Entry
from .keys import Marks


def row_of(entry: Entry) -> tuple[Any, ...]:
    vector = None if entry.vector is None else entry.vector.astype(np.float32).tobytes()
    answer = asdict(entry.answer)
    if entry.marks is not None:  # beside the answer: the question's marks (hashes)
        answer["marks"] = [entry.marks.numbers, entry.marks.names]
    return (entry.key, entry.scope, entry.name, entry.tenant, entry.created, entry.expires,
            json.dumps(answer, ensure_ascii=False), vector)


def entry_of(row: Any) -> Entry:
    vector = None if row["vector"] is None else np.frombuffer(bytes(row["vector"]), dtype=np.float32).copy()
    answer = json.loads(row["answer"])
    marks = answer.pop("marks", None)
    return Entry(row["key"], row["scope"], row["name"], row["tenant"], Answer(**answer), vector,
                 float(row["created"]), float(row["expires"]), Marks(*marks) if marks else None)


_COLUMNS = "key, scope, name, tenant, created, expires, answer, vector"


class StoredCache:
    """One connection to the state database, used from worker threads one at a time.

    The lock matters at shutdown: a sync cancelled while its prune runs in a worker thread
    leaves that thread running, and closing the connection under it crashes SQLite's driver.
    """

    def __init__(self, db: Any) -> None:
        self._conn = connect(db)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def load(self, now: float) -> tuple[list[Entry], int]:
        """Every live entry, oldest first (so the newest survive the bounds), and the latest clear."""
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM response_cache WHERE expires > ? ORDER BY created",
                                      (now,)).fetchall()
            return [entry_of(r) for r in rows], self._last_clear()

    def _last_clear(self) -> int:
        row = self._conn.execute("SELECT MAX(id) FROM cache_clears").fetchone()
        return int(row[0] or 0)

    def since(self, created: float, clear_id: int, now: float) -> tuple[list[Entry], list[tuple[int, str | None, str | None]]]:
        """Entries stored after ``created`` and clears after ``clear_id``."""
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM response_cache WHERE created > ? AND expires > ? "
                                      "ORDER BY created", (created, now)).fetchall()
            clears = self._conn.execute("SELECT id, name, tenant FROM cache_clears WHERE id > ? ORDER BY id",
                                        (clear_id,)).fetchall()
        return [entry_of(r) for r in rows], [(int(c[0]), c[1], c[2]) for c in clears]

    def prune(self, now: float, bounds: dict[str, int]) -> int:
        """Delete expired entries and each name's oldest beyond its bound; how many went."""
        with self._lock, self._conn:
            gone = self._conn.execute("DELETE FROM response_cache WHERE expires <= ?", (now,)).rowcount or 0
            for name, bound in bounds.items():
                gone += self._conn.execute(
                    "DELETE FROM response_cache WHERE name = ? AND created < (SELECT created FROM response_cache "
                    "WHERE name = ? ORDER BY created DESC LIMIT 1 OFFSET ?)", (name, name, bound - 1)).rowcount or 0
        return int(gone)


def clear_stored(db: Any, name: str | None = None, tenant: str | None = None) -> int:
    """Delete stored entries (of a served name, a tenant, both, or all) and record the clear, so
    that every running gateway drops them from memory at its next sync; how many rows went."""
    where, params = [], []
    for column, value in (("name", name), ("tenant", tenant)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    conn = connect(db)
    try:
        with conn:
            sql = "DELETE FROM response_cache" + (" WHERE " + " AND ".join(where) if where else "")
            gone = conn.execute(sql, params).rowcount or 0
            conn.execute("INSERT INTO cache_clears (ts, name, tenant) VALUES (?, ?, ?)", (time.time(), name, tenant))
        return int(gone)
    finally:
        conn.close()


def cache_stats(db: Any) -> list[dict[str, Any]]:
    """Stored entries per served name: how many, and how many still live."""
    conn = connect(db)
    try:
        now = time.time()
        rows = conn.execute("SELECT name, COUNT(*), SUM(CASE WHEN expires > ? THEN 1 ELSE 0 END) FROM response_cache "
                            "GROUP BY name ORDER BY name", (now,)).fetchall()
        return [{"name": r[0], "entries": int(r[1]), "live": int(r[2] or 0)} for r in rows]
    finally:
        conn.close()
