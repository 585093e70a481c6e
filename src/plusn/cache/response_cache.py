"""The response cache: which requests may use it, the lookup, and what is kept.

A request may use the cache when its served name has the cache on, it asks for one plain answer
(no tools, no choices), it is not an agent's (agents keep state every turn), and its answer is
determined: the temperature that applies (the request's, else the skill's or the model's own)
is 0 on every model it may reach, unless the route accepts sampled answers. Its scope holds
the caller's key, the served name, the routes' and skills' versions and the knowledge bases'
write generations, so an answer never crosses keys and a change to what answered retires it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..fleet.backend import Backend, EmbedQuery, GenRequest, Lookup, Wrapper
from .index import Answer, Entry, Index, unit
from .keys import Question, question_of, uncacheable
from .spec import CacheRoute, CacheSettings
from .stored import StoredCache, row_of

log = logging.getLogger("plusn.cache")


class Served(Protocol):
    """What the cache reads of the deployment (assemble.Deployment is one)."""

    @property
    def cache_settings(self) -> CacheSettings: ...

    def is_model(self, name: str) -> bool: ...

    def member(self, name: str) -> Any: ...

    def versions(self) -> str: ...

    def knowledge_generations(self) -> str: ...

    def cache_embed(self) -> EmbedQuery | None: ...


@dataclass(frozen=True, slots=True)
class Policy:
    """A served name's cache settings, resolved."""

    semantic: bool
    threshold: float
    ttl_s: float
    max_entries: int
    sampled: bool


@dataclass(slots=True)
class Plan:
    """A request that may use the cache, and what a lookup learnt about it."""

    question: Question
    name: str
    tenant: str
    policy: Policy
    vector: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    entry: Entry
    kind: str  # "exact" or "semantic"
    similarity: float

    def block(self) -> dict[str, Any]:
        return {"hit": True, "kind": self.kind, "similarity": round(self.similarity, 4),
                "saved_cost": round(self.entry.answer.cost, 10)}


def _base(name: str) -> str:
    # "skill:x@<version>", "router:y@0.8": the cache settings of x and y
    return name.rpartition("@")[0] or name if "@" in name else name


def _volatile(route: Any) -> bool:
    """Whether an answer was grounded on the clock or on SQL facts: never the same tomorrow."""
    if isinstance(route, dict):
        return any(k in ("datetime", "sql") or _volatile(v) for k, v in route.items())
    if isinstance(route, list):
        return any(_volatile(v) for v in route)
    return False


def _member(lookup: Lookup, name: str) -> Any:
    try:
        member = lookup(name)
    except Exception:
        return None
    while isinstance(member, Wrapper):
        member = member.inner
    return member


class ResponseCache:
    def __init__(self, served: Served, db: Any = None) -> None:
        self.served = served
        self.index = Index()
        self._db = db
        self._stored: StoredCache | None = None
        self._task: asyncio.Task[None] | None = None
        self._policies: dict[str, Policy | None] = {}
        self._sampled: dict[tuple[str, float | None], bool] = {}
        self._versions = ""  # the versions the memos were made under
        self._high = 0.0  # the newest stored entry read back
        self._clear_id = 0

    @property
    def enabled(self) -> bool:
        return self.served.cache_settings.enabled or bool(self.served.cache_settings.routes)

    # --- who may use it --------------------------------------------------------------------

    def _current(self) -> str:
        """The routes' and skills' versions; what was worked out under others goes (a reload)."""
        versions = self.served.versions()
        if versions != self._versions:
            self._policies.clear()
            self._sampled.clear()
            self._versions = versions
        return versions

    def policy(self, name: str) -> Policy | None:
        """The cache settings of a served name; None: it does not use the cache."""
        if name in self._policies:
            return self._policies[name]
        s = self.served.cache_settings
        own = s.routes.get(_base(name)) or CacheRoute()
        member = _member(self.served.member, _base(name))
        on = own.enabled if own.enabled is not None else s.enabled
        policy = None
        if on and member is not None and not _base(name).startswith("agent:"):
            semantic = own.semantic if own.semantic is not None else bool(getattr(member, "embeds_query", False))
            policy = Policy(semantic and s.embedding_model is not None, own.threshold or s.threshold,
                            own.ttl_s or s.ttl_s, own.max_entries or s.max_entries, own.sampled)
        self._policies[name] = policy
        return policy

    def _determined(self, name: str, temperature: float | None) -> bool:
        memo = (name, temperature)
        if memo not in self._sampled:
            if len(self._sampled) > 4096:  # clients choose the temperatures: keep the memo bounded
                self._sampled.clear()
            member = _member(self.served.member, _base(name))
            self._sampled[memo] = not isinstance(member, Backend) or member.sampled(temperature, self.served.member)
        return not self._sampled[memo]

    def plan(self, tenant: str, name: str, req: GenRequest) -> Plan | str:
        """The request's plan, or why it passes the cache by."""
        versions = self._current()
        policy = self.policy(name)
        if policy is None:
            return "off for this model"
        why = uncacheable(req)
        if why is not None:
            return why
        if not policy.sampled and not self._determined(name, req.temperature):
            return "sampled (temperature above 0)"
        context: tuple[str, ...] = (tenant, name, versions)
        if not self.served.is_model(_base(name)):  # a route may ground on a knowledge base
            context += (self.served.knowledge_generations(),)
        return Plan(question_of(req, context), name, tenant, policy)

    # --- lookup and keeping ----------------------------------------------------------------

    async def lookup(self, plan: Plan) -> Hit | None:
        """The exact entry, else (where the route matches meaning) the nearest alike enough;
        a failure to embed is a miss, never an error."""
        now = time.time()
        entry = self.index.get(plan.question.key, now)
        if entry is not None:
            return Hit(entry, "exact", 1.0)
        embed = self.served.cache_embed() if plan.policy.semantic else None
        if embed is None:
            return None
        try:
            vector = unit(await embed(plan.question.text))
        except Exception:
            log.exception("the cache could not embed a question; answering without it")
            return None
        if not np.isfinite(vector).all():  # would poison the scope's directions; nothing is kept either
            log.warning("the cache's embedding model gave a vector that is not finite; answering without the cache")
            return None
        plan.vector = vector
        found = self.index.nearest(plan.question.scope, plan.vector, plan.policy.threshold, now, plan.question.marks)
        return None if found is None else Hit(found[0], "semantic", found[1])

    def keep(self, plan: Plan, answer: Answer, touched_by_safety: bool) -> Entry | str:
        """Keep an answer a model just gave (the entry), or say why not."""
        if answer.finish_reason not in ("stop", "length"):
            return f"finished with {answer.finish_reason}"
        if touched_by_safety:
            return "the safety layer acted on it"
        if _volatile(answer.route):
            return "grounded on the clock or SQL"
        if plan.policy.semantic and plan.vector is None:
            return "no embedding of the question"
        now = time.time()
        entry = Entry(plan.question.key, plan.question.scope, plan.name, plan.tenant, answer, plan.vector, now,
                      now + plan.policy.ttl_s, plan.question.marks if plan.vector is not None else None)
        self.index.put(entry, plan.policy.max_entries)
        return entry

    def row(self, entry: Entry) -> Callable[[], tuple[Any, ...]] | None:
        """What makes the database row of a kept entry (None without a database)."""
        return functools.partial(row_of, entry) if self._db is not None else None

    # --- sharing through the database ------------------------------------------------------

    async def start(self) -> None:
        if self._db is None or not self.enabled:
            return
        self._stored = await asyncio.to_thread(StoredCache, self._db)
        entries, self._clear_id = await asyncio.to_thread(self._stored.load, time.time())
        self._add(entries)
        self._task = asyncio.create_task(self._sync_forever())

    def _add(self, entries: list[Entry]) -> None:
        for e in entries:
            self._high = max(self._high, e.created)
            policy = self.policy(e.name)
            if policy is not None and e.key not in self.index:
                self.index.put(e, policy.max_entries)

    def clear(self, name: str | None = None, tenant: str | None = None) -> int:
        return self.index.clear(name, tenant)

    async def sync(self) -> None:
        """Read what other processes stored and cleared since the last time; prune the database."""
        stored = self._stored
        if stored is None:
            return
        now = time.time()
        # A little behind the newest seen: the writer thread commits in batches.
        entries, clears = await asyncio.to_thread(stored.since, self._high - 5.0, self._clear_id, now)
        for clear_id, name, tenant in clears:
            self.clear(name, tenant)
            self._clear_id = clear_id
        self._add(entries)
        self.index.expire(now)
        bounds = {name: p.max_entries for name in self.index.names() if (p := self.policy(name)) is not None}
        await asyncio.to_thread(stored.prune, now, bounds)

    async def _sync_forever(self) -> None:
        while True:
            await asyncio.sleep(self.served.cache_settings.sync_interval_s)
            try:
                await self.sync()
            except Exception:  # the database away for a while: the memory copy still serves
                log.exception("the response cache could not sync with the database")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._stored is not None:  # in a thread: it waits for a prune still running there
            await asyncio.to_thread(self._stored.close)
