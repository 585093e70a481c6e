from __future__ import annotations

import asyncio

import pytest

from plusn.errors import Overloaded, RateLimited
from plusn.fleet.limiter import Limiter


def test_queue_full_is_429_and_order_is_fifo() -> None:
    async def scenario() -> list[str]:
        lim = Limiter("m", max_concurrency=1, max_queue=2, queue_timeout_s=5)
        order: list[str] = []
        gate = asyncio.Event()

        async def job(name: str) -> None:
            async with lim.slot():
                order.append(name)
                await gate.wait()

        tasks = [asyncio.create_task(job(n)) for n in "abc"]
        await asyncio.sleep(0.01)
        assert lim.running == 1 and lim.queued == 2
        with pytest.raises(RateLimited) as info:
            await job("d")
        assert info.value.status == 429 and "Retry-After" in info.value.headers
        gate.set()
        await asyncio.gather(*tasks)
        assert lim.running == 0 and lim.queued == 0
        return order

    assert asyncio.run(scenario()) == ["a", "b", "c"]


async def hold(lim: Limiter, until: asyncio.Event) -> None:
    """Take a slot and keep it until the event is set."""
    async with lim.slot():
        await until.wait()


def test_waiting_too_long_is_503() -> None:
    async def scenario() -> None:
        lim = Limiter("m", max_concurrency=1, max_queue=5, queue_timeout_s=0.05)
        release = asyncio.Event()
        t = asyncio.create_task(hold(lim, release))
        await asyncio.sleep(0.01)
        with pytest.raises(Overloaded) as info:
            async with lim.slot():
                pass
        assert info.value.status == 503
        assert lim.queued == 0  # the timed-out waiter left the queue
        release.set()
        await t
        async with lim.slot():  # and the slot is usable again
            assert lim.running == 1

    asyncio.run(scenario())


def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    async def scenario() -> None:
        lim = Limiter("m", max_concurrency=1, max_queue=5, queue_timeout_s=5)
        release = asyncio.Event()
        t = asyncio.create_task(hold(lim, release))
        await asyncio.sleep(0.01)
        waiter = asyncio.create_task(hold(lim, release))
        await asyncio.sleep(0.01)
        waiter.cancel()
        await asyncio.sleep(0.01)
        release.set()
        await t
        assert lim.running == 0 and lim.queued == 0

    asyncio.run(scenario())


def test_a_half_open_trial_that_says_nothing_frees_the_breaker() -> None:
    """A trial request ending in a 429 (or a 400, or the client leaving) reports neither success
    nor failure; the breaker must still let the next request try, rather than stay shut."""
    from plusn.config import CircuitBreaker
    from plusn.fleet.resilience import Breaker

    now = [0.0]
    b = Breaker(CircuitBreaker(failures=1, window_s=10, open_s=5), clock=lambda: now[0])
    b.failure()
    assert b.state == "open" and not asyncio.run(b.allow())
    now[0] = 6.0
    assert asyncio.run(b.allow())  # the one trial
    assert not asyncio.run(b.allow())  # while it runs, no second one
    b.settle()  # it ended without a verdict
    assert asyncio.run(b.allow())  # so another may try
    b.success()
    assert b.state == "closed"
