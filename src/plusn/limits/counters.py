"""Atomic counters behind the limits: in this process, or in Redis for several processes.

Three kinds, each checked and changed in one atomic step (a Lua script in Redis), so that N
requests racing for a limit of K admit exactly K:

- a fixed one-minute window (requests or tokens per minute);
- leases (requests at once): each request holds a member with an expiry, so a process that
  dies cannot keep its slots;
- a running total for a period (spending against a budget).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import MissingDependency


@dataclass(frozen=True)
class Want:
    """One thing to check and take: ``amount`` of the counter ``key`` of ``kind``, within ``limit``."""

    kind: str  # "window" | "lease" | "total"
    key: str
    limit: float
    amount: float = 1.0


class Counters(Protocol):
    async def take(self, wants: list[Want], member: str, lease_s: float) -> int | None:
        """Take all of ``wants`` or none; the index of the first that does not fit, or None."""

    async def give_back(self, wants: list[Want], member: str) -> None:
        """Return what ``take`` took (leases are released; windows and totals are left)."""

    async def add(self, kind: str, key: str, amount: float) -> None:
        """Add to a window or a total after the fact (tokens used, money spent)."""

    async def value(self, kind: str, key: str) -> float: ...

    async def close(self) -> None: ...


def window_key(key: str, now: float | None = None) -> str:
    return f"{key}:{int((now or time.time()) // 60)}"


class MemoryCounters:
    """One process: the event loop makes each call atomic (no await between check and take)."""

    def __init__(self) -> None:
        self.windows: dict[str, float] = {}
        self.leases: dict[str, dict[str, float]] = {}
        self.totals: dict[str, float] = {}

    def _current(self, w: Want, now: float) -> float:
        if w.kind == "window":
            return self.windows.get(window_key(w.key, now), 0.0)
        if w.kind == "lease":
            held = self.leases.setdefault(w.key, {})
            for m in [m for m, exp in held.items() if exp < now]:
                del held[m]
            return float(len(held))
        return self.totals.get(w.key, 0.0)

    async def take(self, wants: list[Want], member: str, lease_s: float) -> int | None:
        now = time.time()
        for i, w in enumerate(wants):
            current = self._current(w, now)
            # an amount of 0 asks only that the counter is not already used up
            if (w.amount == 0 and current >= w.limit) or (w.amount > 0 and current + w.amount > w.limit):
                return i
        for w in wants:
            if w.kind == "window":
                k = window_key(w.key, now)
                self.windows[k] = self.windows.get(k, 0.0) + w.amount
            elif w.kind == "lease":
                self.leases.setdefault(w.key, {})[member] = now + lease_s
            else:
                self.totals[w.key] = self.totals.get(w.key, 0.0) + w.amount
        if len(self.windows) > 100_000:  # old minutes
            cutoff = int(now // 60) - 2
            self.windows = {k: v for k, v in self.windows.items() if int(k.rsplit(":", 1)[1]) >= cutoff}
        return None

    async def give_back(self, wants: list[Want], member: str) -> None:
        for w in wants:
            if w.kind == "lease":
                self.leases.get(w.key, {}).pop(member, None)

    async def add(self, kind: str, key: str, amount: float) -> None:
        if kind == "window":
            k = window_key(key)
            self.windows[k] = self.windows.get(k, 0.0) + amount
        else:
            self.totals[key] = self.totals.get(key, 0.0) + amount

    async def value(self, kind: str, key: str) -> float:
        return self._current(Want(kind, key, 0.0), time.time())

    async def close(self) -> None:
        pass


# KEYS: the counters; ARGV: now, lease_s, member, then kind/limit/amount for each key.
_TAKE = """
local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local member = ARGV[3]
local minute = math.floor(now / 60)
for i, key in ipairs(KEYS) do
  local kind = ARGV[1 + 3 * i]
  local limit = tonumber(ARGV[2 + 3 * i])
  local amount = tonumber(ARGV[3 + 3 * i])
  local current
  if kind == "window" then
    current = tonumber(redis.call("GET", key .. ":" .. minute) or "0")
  elseif kind == "lease" then
    redis.call("ZREMRANGEBYSCORE", key, "-inf", now)
    current = redis.call("ZCARD", key)
  else
    current = tonumber(redis.call("GET", key) or "0")
  end
  -- an amount of 0 asks only that the counter is not already used up
  if (amount == 0 and current >= limit) or (amount > 0 and current + amount > limit) then
    return i
  end
end
for i, key in ipairs(KEYS) do
  local kind = ARGV[1 + 3 * i]
  local amount = ARGV[3 + 3 * i]
  if kind == "window" then
    local k = key .. ":" .. minute
    redis.call("INCRBYFLOAT", k, amount)
    redis.call("EXPIRE", k, 180)
  elseif kind == "lease" then
    redis.call("ZADD", key, now + lease, member)
    redis.call("EXPIRE", key, math.ceil(lease) + 60)
  else
    redis.call("INCRBYFLOAT", key, amount)
  end
end
return 0
"""


class RedisCounters:
    """Counters in Redis: exact across every gateway process that shares it."""

    def __init__(self, url: str, prefix: str = "plusn:limits:") -> None:
        try:
            import redis.asyncio as redis
        except ImportError as exc:
            raise MissingDependency("limits.redis_url needs the redis client: pip install 'plusn[redis]'") from exc

        self.client: Any = redis.from_url(url)
        self.prefix = prefix
        self._take = self.client.register_script(_TAKE)

    async def take(self, wants: list[Want], member: str, lease_s: float) -> int | None:
        if not wants:
            return None
        args: list[Any] = [time.time(), lease_s, member]
        for w in wants:
            args += [w.kind, w.limit, w.amount]
        failed = int(await self._take(keys=[self.prefix + w.key for w in wants], args=args))
        return failed - 1 if failed else None

    async def give_back(self, wants: list[Want], member: str) -> None:
        leases = [w for w in wants if w.kind == "lease"]
        if leases:
            pipe = self.client.pipeline(transaction=False)
            for w in leases:
                pipe.zrem(self.prefix + w.key, member)
            await pipe.execute()

    async def add(self, kind: str, key: str, amount: float) -> None:
        if kind == "window":
            k = self.prefix + window_key(key)
            pipe = self.client.pipeline(transaction=True)
            pipe.incrbyfloat(k, amount)
            pipe.expire(k, 180)
            await pipe.execute()
        else:
            await self.client.incrbyfloat(self.prefix + key, amount)

    async def value(self, kind: str, key: str) -> float:
        if kind == "window":
            return float(await self.client.get(self.prefix + window_key(key)) or 0)
        if kind == "lease":
            await self.client.zremrangebyscore(self.prefix + key, "-inf", time.time())
            return float(await self.client.zcard(self.prefix + key))
        return float(await self.client.get(self.prefix + key) or 0)

    async def close(self) -> None:
        await self.client.aclose()
