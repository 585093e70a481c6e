"""Sticky sessions: a conversation that escalated stays on the tier it escalated to.

A conversation is identified by the client's session header when it sends one, else by a hash
of the messages so far: after answering, the store keeps hash(messages + answer), which is
exactly the history the client sends with its next turn.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from typing import Any


def conversation_key(messages: list[dict[str, Any]]) -> str:
    canon = [{"role": m.get("role"), "content": m.get("content")} for m in messages]
    return hashlib.sha256(json.dumps(canon, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:32]


class StickyStore:
    """Bounded, expiring map from conversation to the model it is pinned to (in-process)."""

    def __init__(self, ttl_s: float = 3600, max_sessions: int = 100_000) -> None:
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        self._d: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def get(self, key: str) -> str | None:
        hit = self._d.get(key)
        if hit is None:
            return None
        if time.monotonic() - hit[0] > self.ttl_s:
            del self._d[key]
            return None
        self._d.move_to_end(key)
        return hit[1]

    def put(self, key: str, target: str) -> None:
        self._d[key] = (time.monotonic(), target)
        self._d.move_to_end(key)
        while len(self._d) > self.max_sessions:
            self._d.popitem(last=False)
