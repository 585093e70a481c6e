"""Where paused workflows wait: the ``agent_state`` table of the state database.

A conversation is found by the client's ``x-plusn-session`` header when it sends one, else by
a hash of the messages so far: after answering, the state is stored under
hash(messages + reply), which is exactly the history the client sends with its next turn.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Sequence
from typing import Any

from ..database import connect


class StateStore:
    def __init__(self, path: Any, ttl_s: float = 7 * 86400) -> None:
        self.path = path
        self.ttl_s = ttl_s
        self._conn: Any = None
        self._lock = threading.Lock()

    def _db(self) -> Any:
        if self._conn is None:
            self._conn = connect(self.path)
        return self._conn

    def _load(self, agent: str, keys: list[str]) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            db = self._db()
            for key in keys:
                row = db.execute("SELECT agent, state, updated FROM agent_state WHERE key = ?", (key,)).fetchone()
                if row is not None and row["agent"] == agent and time.time() - row["updated"] <= self.ttl_s:
                    return key, json.loads(row["state"])
        return None

    def _save(self, agent: str, version: str, keys: list[str], state: dict[str, Any], drop: Sequence[str]) -> None:
        now = time.time()
        blob = json.dumps(state, ensure_ascii=False)
        with self._lock:
            db = self._db()
            with db:
                db.executemany("DELETE FROM agent_state WHERE key = ?", [(k,) for k in drop if k not in keys])
                db.executemany("INSERT INTO agent_state (key, agent, version, state, updated) "
                               "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET agent = excluded.agent, "
                               "version = excluded.version, state = excluded.state, updated = excluded.updated", [(k, agent, version, blob, now) for k in keys])
                db.execute("DELETE FROM agent_state WHERE updated < ?", (now - self.ttl_s,))

    async def load(self, agent: str, keys: list[str]) -> tuple[str, dict[str, Any]] | None:
        return await asyncio.to_thread(self._load, agent, keys)

    async def save(self, agent: str, version: str, keys: list[str], state: dict[str, Any],
                   drop: Sequence[str] = ()) -> None:
        await asyncio.to_thread(self._save, agent, version, keys, state, drop)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
