"""Retries, fallbacks and a circuit breaker around a fleet member.

The rule that decides everything: a request may be retried or moved to another model only
until the first byte of its answer has gone to the client. Before that, retryable failures
(upstream 5xx, 429, timeouts, broken connections) are retried with exponential backoff and then
passed to the fallbacks in order; a stream whose first token is too slow counts as failed.
After it, a failure ends the stream with a terminal error event (see the gateway), never with
a silently short answer.

The circuit breaker counts failures per model. Enough of them within a window open the
circuit: calls fail at once (and go straight to the fallbacks) instead of piling onto a dead
upstream. After a pause, the backend's health probe (``GET /models`` for OpenAI-compatible
servers) or, without one, a single trial request decides whether it closes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, TypeVar

from ..config import CircuitBreaker
from ..errors import Overloaded, PlusnError, RateLimited, UpstreamError, UpstreamTimeout
from .backend import Backend, Delta, Generation, GenRequest, Members, Wrapper

T = TypeVar("T")

RETRYABLE = (UpstreamError, UpstreamTimeout, Overloaded, RateLimited)


class Breaker:
    def __init__(self, spec: CircuitBreaker, probe: Callable[[], Awaitable[bool]] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.spec = spec
        self.probe = probe
        self.clock = clock
        self.state = "closed"
        self.failures: deque[float] = deque()
        self.opened = 0.0
        self._trial = False

    async def allow(self) -> bool:
        if self.state == "closed":
            return True
        if self.clock() - self.opened < self.spec.open_s:
            return False
        if self.probe is not None:
            healthy = False
            try:
                healthy = await self.probe()
            except Exception:  # a probe that fails says the upstream is still down
                healthy = False
            if healthy:
                self._close()
                return True
            self.opened = self.clock()
            return False
        if self._trial:  # one trial request at a time while half-open
            return False
        self.state, self._trial = "half_open", True
        return True

    def success(self) -> None:
        if self.state != "closed":
            self._close()

    def settle(self) -> None:
        """A trial that ended without saying whether the upstream works (a 429, a 4xx, the
        client leaving) frees the half-open slot, so the next request can try."""
        self._trial = False

    def failure(self) -> None:
        now = self.clock()
        if self.state == "half_open":
            self.state, self.opened, self._trial = "open", now, False
            return
        self.failures.append(now)
        while self.failures and now - self.failures[0] > self.spec.window_s:
            self.failures.popleft()
        if len(self.failures) >= self.spec.failures:
            self.state, self.opened = "open", now
            self.failures.clear()

    def _close(self) -> None:
        self.state, self._trial = "closed", False
        self.failures.clear()


def _describe(exc: PlusnError) -> str:
    return f"{exc.code or exc.type}: {exc.message[:200]}"


class ResilientBackend(Wrapper):
    """A member with retries, fallbacks, a first-token timeout and a circuit breaker."""

    def __init__(self, inner: Backend, fleet: Members, *, retries: int, breaker: Breaker | None) -> None:
        super().__init__(inner)
        self.fleet = fleet  # where the fallbacks are reached
        self.retries = retries
        self.breaker = breaker
        s = inner.settings
        self.fallbacks = list(s.fallbacks)
        self.first_token_s = s.first_token_timeout_s
        self.backoff_s, self.backoff_max_s = s.backoff_s, s.backoff_max_s

    def _wait(self, attempt: int, exc: PlusnError) -> float:
        """Exponential backoff with jitter; a Retry-After is honoured up to the cap."""
        base = self.backoff_s * (2 ** attempt) * (0.5 + random.random())
        after = float(getattr(exc, "retry_after", 0.0) or 0.0)
        return min(max(base, after), self.backoff_max_s)

    async def _refused(self) -> PlusnError | None:
        """Why the primary may not be tried now (its circuit is open), or None.

        A plain coroutine rather than an async generator of attempts: leaving an ``async for``
        early (every successful call does) hands the generator to the loop to close, a task per
        request on the hot path."""
        if self.breaker is not None and not await self.breaker.allow():
            return Overloaded(f"model {self.name!r} is unavailable (circuit open)", retry_after=1, code="circuit_open")
        return None

    def _failed(self, exc: PlusnError) -> None:
        if self.breaker is not None and not isinstance(exc, RateLimited):  # 429 is busy, not broken
            self.breaker.failure()

    async def _attempt_failed(self, exc: PlusnError, attempt: int, tried: list[dict[str, Any]]) -> None:
        """Count a failed attempt of the primary, note it, and wait before the next one."""
        self._failed(exc)
        self._noted(exc, tried)
        if attempt < self.retries:
            await asyncio.sleep(self._wait(attempt, exc))

    def _noted(self, exc: PlusnError, tried: list[dict[str, Any]]) -> PlusnError:
        tried.append({"model": self.name, "error": _describe(exc)})
        return exc

    def _settle(self) -> None:
        if self.breaker is not None:
            self.breaker.settle()

    def _ok(self) -> None:
        if self.breaker is not None:
            self.breaker.success()

    async def _first_answer(self, req: GenRequest, primary: Callable[[], Awaitable[T]],
                            other: Callable[[str, GenRequest], Awaitable[tuple[T, Backend]]]
                            ) -> tuple[T, Backend, list[dict[str, Any]]]:
        """The one retry loop, for answers and streams alike: the primary while its circuit
        allows and retries remain, then each fallback once. Returns what answered, who, and the
        failures before it."""
        tried: list[dict[str, Any]] = []
        last: PlusnError | None = None
        for attempt in range(self.retries + 1):
            refused = await self._refused()
            if refused is not None:  # the circuit is open: straight to the fallbacks
                last = self._noted(refused, tried)
                break
            try:
                result = await primary()
            except RETRYABLE as exc:
                last = exc
                await self._attempt_failed(exc, attempt, tried)
                continue
            finally:
                self._settle()
            self._ok()
            return result, self.inner, tried
        onward = dataclasses.replace(req, tried=req.tried | {self.name})
        for name in self._alternates(req):
            try:
                result, backend = await other(name, onward)
            except RETRYABLE as exc:
                last = exc
                tried.append({"model": name, "error": _describe(exc)})
                onward = dataclasses.replace(onward, tried=onward.tried | {name})
                continue
            return result, backend, tried
        assert last is not None
        raise last

    async def generate(self, req: GenRequest) -> Generation:
        gen, backend, tried = await self._first_answer(req, lambda: self.inner.generate(req), self.fleet.run)
        return self._annotate(gen, tried, backend) if tried else gen

    def _alternates(self, req: GenRequest) -> list[str]:
        return [n for n in self.fallbacks if n not in req.tried and n != self.name]

    def _annotate(self, gen: Generation, tried: list[dict[str, Any]], backend: Backend) -> Generation:
        """The answer, saying which model gave it after which failures (for the route block and ledger)."""
        route = dict(gen.route or {})
        route["resilience"] = {"failed": tried, "served_by": gen.model or backend.name}
        calls = gen.calls or [backend.call_of(gen.usage, "fallback" if backend is not self.inner else "retry")]
        return Generation(gen.text, gen.finish_reason, gen.usage, gen.model or backend.name, calls, route,
                          gen.tool_calls)

    async def _first(self, agen: AsyncGenerator[Delta, None]) -> Delta:
        try:
            if self.first_token_s is None:
                return await agen.__anext__()
            return await asyncio.wait_for(agen.__anext__(), self.first_token_s)
        except TimeoutError:
            raise UpstreamTimeout(f"model {self.name!r} sent no first token within {self.first_token_s:g}s",
                                  code="first_token_timeout") from None
        except StopAsyncIteration:
            raise UpstreamError(f"model {self.name!r} ended its stream without a word") from None

    async def _open(self, backend: Backend, req: GenRequest) -> tuple[Delta, AsyncGenerator[Delta, None]]:
        """A stream and its first chunk; the stream is closed if that fails."""
        agen = backend.stream(req)
        try:
            return await self._first(agen), agen
        except BaseException:
            await agen.aclose()
            raise

    async def stream(self, req: GenRequest) -> AsyncGenerator[Delta, None]:
        async with AsyncExitStack() as held:  # a fallback's slot, held until its stream ends

            async def other(name: str, onward: GenRequest) -> tuple[tuple[Delta, AsyncGenerator[Delta, None]], Backend]:
                backend = await self.fleet.backend(name, req.kind, onward)
                async with AsyncExitStack() as attempt:
                    await attempt.enter_async_context(self.fleet.slot(name))
                    opened = await self._open(backend, onward)
                    held.push_async_callback(attempt.pop_all().aclose)  # kept: this one answers
                return opened, backend

            (first, agen), backend, tried = await self._first_answer(req, lambda: self._open(self.inner, req), other)
            async for d in self._relay(first, agen, tried, backend):
                yield d

    async def _relay(self, first: Delta, agen: AsyncGenerator[Delta, None], tried: list[dict[str, Any]],
                     backend: Backend) -> AsyncGenerator[Delta, None]:
        """The stream as it comes; after a retry or fallback, the first chunk carries the route and
        the last one the call of the model that answered."""
        try:
            route = None
            if tried:
                route = dict(first.route or {})
                route["resilience"] = {"failed": tried, "served_by": backend.name}
            d: Delta | None = first
            while d is not None:
                if route is not None:
                    if d is first:
                        d = dataclasses.replace(d, route=route)
                    if d.usage is not None:
                        calls = d.calls or [backend.call_of(d.usage, "fallback" if backend is not self.inner
                                                            else "retry")]
                        d = dataclasses.replace(d, calls=calls, route=d.route or route)
                yield d
                if d.usage is not None:
                    return
                try:
                    d = await agen.__anext__()
                except StopAsyncIteration:
                    return
                except RETRYABLE as exc:  # too late to retry: the client gets a terminal error event
                    if backend is self.inner:
                        self._failed(exc)
                    raise
        finally:
            await agen.aclose()

    def circuit(self) -> str | None:
        return self.breaker.state if self.breaker is not None else None
