"""Admission against the limits of the caller's key and team.

Two steps, each atomic over every limit it touches:

1. ``admit`` (every request, once authenticated): one request against requests-per-minute and
   one slot against max-concurrency; refused if the token window or the budget is used up.
2. ``reserve`` (requests that generate, once the body is known): the tokens the request may use
   (its prompt plus ``max_tokens``) against tokens-per-minute, and what that could cost at the
   requested model's price (the fleet's dearest for routes that choose) against the budget.

``settle`` (when the request ends, whatever happened) releases the slot and books what the
request really used in place of what it reserved. So no limit is overrun by requests in flight.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..database import connect
from ..errors import RateLimited
from .counters import Counters, MemoryCounters, RedisCounters, Want
from .spec import LimitSpec, LimitsSettings

log = logging.getLogger("plusn.limits")


class QuotaExceeded(RateLimited):
    """A budget is spent: OpenAI's 429 ``insufficient_quota``."""

    code = "insufficient_quota"


@dataclass
class Ticket:
    member: str  # the request id
    scopes: list[tuple[str, LimitSpec]]
    held: list[Want] = field(default_factory=list)
    tokens: float = 0.0  # reserved
    cost: float = 0.0  # reserved
    settled: bool = False


def _period(spec: LimitSpec, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return {"day": now.strftime("d%Y%m%d"), "month": now.strftime("m%Y%m"), "total": "all"}[spec.budget_period]


Seed = Callable[[str, LimitSpec], Awaitable[float]]


class Limits:
    def __init__(self, settings: LimitsSettings, seed: Seed | None = None) -> None:
        self.settings = settings
        self.counters: Counters = RedisCounters(settings.redis_url) if settings.redis_url else MemoryCounters()
        # Spending so far comes from the ledger the first time a budget is looked at in this
        # process (and whenever Redis has lost it), so a restart does not reset a budget.
        self.seed = seed
        self._seeded: set[str] = set()

    def scopes(self, key_id: str | None, team: str | None, own: LimitSpec | None) -> list[tuple[str, LimitSpec]]:
        out = []
        spec = own if own is not None and not own.empty() else self.settings.default
        if not spec.empty():
            out.append((f"key:{key_id or '-'}", spec))
        if team is not None and team in self.settings.teams:
            out.append((f"team:{team}", self.settings.teams[team]))
        return out

    async def _spend_key(self, scope: str, spec: LimitSpec) -> str:
        key = f"spend:{scope}:{_period(spec)}"
        if key not in self._seeded and self.seed is not None:
            self._seeded.add(key)
            have = await self.counters.value("total", key)
            if have == 0:
                spent = await self.seed(scope, spec)
                if spent:
                    await self.counters.add("total", key, spent)
        return key

    async def admit(self, member: str, key_id: str | None, team: str | None, own: LimitSpec | None) -> Ticket | None:
        scopes = self.scopes(key_id, team, own)
        if not scopes:
            return None
        wants: list[Want] = []
        what: list[str] = []
        for scope, spec in scopes:
            if spec.rpm is not None:
                wants.append(Want("window", f"rpm:{scope}", spec.rpm))
                what.append(f"{spec.rpm} requests per minute ({scope})")
            if spec.max_concurrency is not None:
                wants.append(Want("lease", f"conc:{scope}", spec.max_concurrency))
                what.append(f"{spec.max_concurrency} requests at once ({scope})")
            if spec.tpm is not None:
                wants.append(Want("window", f"tpm:{scope}", spec.tpm, 0))
                what.append(f"{spec.tpm} tokens per minute ({scope})")
            if spec.budget is not None:
                wants.append(Want("total", await self._spend_key(scope, spec), spec.budget, 0))
                what.append(f"the budget of {spec.budget:g} per {spec.budget_period} ({scope})")
        failed = await self.counters.take(wants, member, self.settings.lease_s)
        if failed is not None:
            self._refuse(wants[failed], what[failed])
        return Ticket(member, scopes, [w for w in wants if w.kind == "lease"])

    def _refuse(self, want: Want, what: str) -> None:
        if want.kind == "total":
            raise QuotaExceeded(f"over {what}: the budget is spent", retry_after=3600)
        if want.kind == "lease":
            raise RateLimited(f"over {what}; retry when one finishes", retry_after=1)
        retry = 60 - dt.datetime.now(dt.UTC).second
        raise RateLimited(f"over {what}", retry_after=retry)

    async def reserve(self, ticket: Ticket | None, tokens: int, cost: float) -> None:
        if ticket is None:
            return
        wants: list[Want] = []
        what: list[str] = []
        for scope, spec in ticket.scopes:
            if spec.tpm is not None and tokens:
                wants.append(Want("window", f"tpm:{scope}", spec.tpm, tokens))
                what.append(f"{spec.tpm} tokens per minute ({scope}; this request may use {tokens})")
            if spec.budget is not None and cost:
                wants.append(Want("total", await self._spend_key(scope, spec), spec.budget, cost))
                what.append(f"the budget of {spec.budget:g} per {spec.budget_period} ({scope}; this request "
                            f"may cost up to {cost:.4g})")
        failed = await self.counters.take(wants, ticket.member, self.settings.lease_s)
        if failed is not None:
            self._refuse(wants[failed], what[failed])
        ticket.tokens, ticket.cost = float(tokens if any(s.tpm for _, s in ticket.scopes) else 0), float(cost)

    async def settle(self, ticket: Ticket | None, tokens: int, cost: float) -> None:
        """Release the slot; book what was used in place of what was reserved."""
        if ticket is None or ticket.settled:
            return
        ticket.settled = True
        await self.counters.give_back(ticket.held, ticket.member)
        for scope, spec in ticket.scopes:
            if spec.tpm is not None and (tokens or ticket.tokens):
                await self.counters.add("window", f"tpm:{scope}", tokens - ticket.tokens)
            if spec.budget is not None and (cost or ticket.cost):
                await self.counters.add("total", await self._spend_key(scope, spec), cost - ticket.cost)

    async def close(self) -> None:
        await self.counters.close()


def period_start(spec: LimitSpec, now: dt.datetime | None = None) -> float:
    now = now or dt.datetime.now(dt.UTC)
    if spec.budget_period == "day":
        return now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    if spec.budget_period == "month":
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()
    return 0.0


def ledger_seed(path: Any) -> Seed:
    """What a key or team has spent this period, from the ledger (for budgets after a restart)."""
    import asyncio

    def spent(scope: str, spec: LimitSpec) -> float:
        kind, _, name = scope.partition(":")
        conn = connect(path)
        try:
            since = period_start(spec)
            if kind == "team":
                row = conn.execute("SELECT SUM(cost) FROM ledger WHERE shadow = 0 AND ts >= ? AND key_id IN "
                                   "(SELECT id FROM api_keys WHERE team = ?)", (since, name)).fetchone()
            elif name == "-":
                row = conn.execute("SELECT SUM(cost) FROM ledger WHERE shadow = 0 AND ts >= ? AND key_id IS NULL", (since,)).fetchone()
            else:
                row = conn.execute("SELECT SUM(cost) FROM ledger WHERE shadow = 0 AND ts >= ? AND key_id = ?", (since, name)).fetchone()
            return float(row[0] or 0.0)
        finally:
            conn.close()

    async def seed(scope: str, spec: LimitSpec) -> float:
        return await asyncio.to_thread(spent, scope, spec)

    return seed
