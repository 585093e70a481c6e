"""The stored responses: each one's caller, the conversation up to and including its output,
and the response object, in the state database (SQLite or Postgres, like the ledger).

A response is written before it is returned, so the next turn's ``previous_response_id`` finds
it in any gateway process. Only its caller may continue, read or delete it.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from ..database import connect

# Old rows are deleted now and then, on a write, rather than by a timer.
_PURGE_EVERY = 200


class ResponseStore:
    def __init__(self, db: Any, retention_days: float) -> None:
        self._db = db
        self._retention_s = retention_days * 86400
        self._conn: Any = None
        self._lock = threading.Lock()
        self._writes = 0

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = connect(self._db)
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def save(self, rid: str, tenant: str, conversation: list[dict[str, Any]], response: dict[str, Any]) -> None:
        now = time.time()
        with self._lock:
            conn = self._connection()
            with conn:
                conn.execute("INSERT INTO responses (id, key_id, created, conversation, response) VALUES (?, ?, ?, ?, ?)",
                             (rid, tenant, now, json.dumps(conversation, ensure_ascii=False),
                              json.dumps(response, ensure_ascii=False)))
                self._writes += 1
                if self._writes % _PURGE_EVERY == 1:
                    conn.execute("DELETE FROM responses WHERE created < ?", (now - self._retention_s,))

    def load(self, rid: str, tenant: str) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
        """The conversation and the response, if this caller made it and it is still kept."""
        with self._lock:
            row = self._connection().execute(
                "SELECT conversation, response FROM responses WHERE id = ? AND key_id = ? AND created >= ?",
                (rid, tenant, time.time() - self._retention_s)).fetchone()
        return None if row is None else (json.loads(row[0]), json.loads(row[1]))

    def delete(self, rid: str, tenant: str) -> bool:
        with self._lock:
            conn = self._connection()
            with conn:
                gone = conn.execute("DELETE FROM responses WHERE id = ? AND key_id = ?", (rid, tenant)).rowcount
        return bool(gone)
