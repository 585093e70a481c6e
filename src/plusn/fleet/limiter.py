"""Per-model concurrency with a bounded queue.

At most ``max_concurrency`` requests run at once; up to ``max_queue`` more wait in FIFO
order. A request arriving at a full queue gets a 429 at once; one that waits longer than
``queue_timeout_s`` gets a 503. Both carry Retry-After.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from ..errors import Overloaded, RateLimited


class Limiter:
    def __init__(self, name: str, max_concurrency: int, max_queue: int, queue_timeout_s: float):
        self.name = name
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        self.queue_timeout_s = queue_timeout_s
        self.running = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def queued(self) -> int:
        return len(self._waiters)

    def _retry_after(self) -> float:
        # A rough hint: one slot frees after about a queue's worth of turns.
        return max(1.0, self.queued / max(1, self.max_concurrency))

    async def _acquire(self) -> None:
        if self.running < self.max_concurrency and not self._waiters:
            self.running += 1
            return
        if len(self._waiters) >= self.max_queue:
            raise RateLimited(
                f"model {self.name!r} is at capacity ({self.max_concurrency} running, "
                f"{self.queued} queued); retry later",
                retry_after=self._retry_after(),
                code="queue_full",
            )
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await asyncio.wait_for(asyncio.shield(fut), self.queue_timeout_s)
        except TimeoutError:
            if fut.done() and not fut.cancelled():
                return  # the slot arrived just as the wait timed out: keep it
            fut.cancel()
            raise Overloaded(
                f"model {self.name!r} did not free a slot within {self.queue_timeout_s:g}s; "
                "retry later",
                retry_after=self.queue_timeout_s,
                code="queue_timeout",
            ) from None
        except BaseException:
            if fut.done() and not fut.cancelled():
                self._release()  # we were handed a slot but are leaving: pass it on
            else:
                fut.cancel()
            raise
        finally:
            with suppress(ValueError):
                self._waiters.remove(fut)

    def _release(self) -> None:
        # Hand the slot straight to the next live waiter, so no newcomer can jump the queue.
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self.running -= 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the model's slots for the duration of the block."""
        await self._acquire()
        try:
            yield
        finally:
            self._release()
