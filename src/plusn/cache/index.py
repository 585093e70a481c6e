"""The cache's entries in memory: by exact key, and by scope as a matrix of question vectors.

A lookup never leaves memory, so a miss costs a hash and a dict lookup, and a semantic lookup
a search of its own scope's question vectors (vectors.py). The database (see store.py)
only keeps the entries for a restart and for other gateway processes.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from .keys import Marks
from .vectors import ScopeVectors


@dataclass(slots=True)
class Answer:
    """What a hit gives back: the answer as it was served."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    model: str  # the model that wrote it
    route: dict[str, Any] | None  # the plusn.route block it was served with
    cost: float  # what it cost then: what each hit saves


@dataclass(slots=True)
class Entry:
    key: str
    scope: str
    name: str  # the served name (its bounds, `plusn cache clear --route`)
    tenant: str  # `plusn cache clear --key`
    answer: Answer
    vector: np.ndarray | None
    created: float
    expires: float
    marks: Marks | None = None  # the question's numbers and names (a meaning match must agree on them)


def unit(vector: Any) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


class Index:
    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._lru: dict[str, OrderedDict[str, None]] = {}  # served name → its keys, oldest use first
        self._scopes: dict[str, ScopeVectors] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def count(self, name: str) -> int:
        return len(self._lru.get(name, ()))

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def names(self) -> list[str]:
        return list(self._lru)

    def get(self, key: str, now: float) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= now:
            self.remove(key)
            return None
        self._lru[entry.name].move_to_end(key)
        return entry

    def nearest(self, scope: str, vector: np.ndarray, threshold: float, now: float,
                marks: Marks | None = None) -> tuple[Entry, float] | None:
        """The entry of ``scope`` whose question is closest to ``vector``, at least ``threshold``
        alike and, given ``marks``, asking about the same numbers and names (of the few
        closest: a near question about another year is passed over for the next)."""
        rows = self._scopes.get(scope)
        if rows is None:
            return None
        for key, sim in rows.nearest(vector, threshold, 3):
            entry = self.get(key, now)
            if entry is not None and (marks is None or (entry.marks is not None and marks.agree(entry.marks))):
                return entry, sim
        return None

    def put(self, entry: Entry, max_entries: int) -> None:
        """Add or replace an entry; the served name's least recently used go beyond its bound."""
        if entry.key in self._entries:
            self.remove(entry.key)
        self._entries[entry.key] = entry
        order = self._lru.setdefault(entry.name, OrderedDict())
        order[entry.key] = None
        if entry.vector is not None:
            rows = self._scopes.get(entry.scope)
            if rows is None:
                rows = self._scopes[entry.scope] = ScopeVectors(len(entry.vector))
            rows.add(entry.key, entry.vector)
        while len(order) > max_entries:
            self.remove(next(iter(order)))

    def remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        order = self._lru[entry.name]
        order.pop(key, None)
        if not order:
            del self._lru[entry.name]
        rows = self._scopes.get(entry.scope)
        if rows is not None and key in rows.pos:
            rows.remove(key)
            if not rows.keys:
                del self._scopes[entry.scope]

    def clear(self, name: str | None = None, tenant: str | None = None) -> int:
        """Remove the entries of a served name, of a tenant, of both, or all; how many went."""
        gone = [e.key for e in self._entries.values()
                if (name is None or e.name == name) and (tenant is None or e.tenant == tenant)]
        for key in gone:
            self.remove(key)
        return len(gone)

    def expire(self, now: float) -> int:
        gone = [e.key for e in self._entries.values() if e.expires <= now]
        for key in gone:
            self.remove(key)
        return len(gone)
