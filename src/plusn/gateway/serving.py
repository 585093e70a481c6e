"""Running one generation for an HTTP request: slots, disconnects, metering, SSE."""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..errors import ClientDisconnected, PlusnError, UpstreamError
from ..fleet.backend import Backend, Call, Delta, Generation, GenRequest, Usage
from ..ledger.writer import RequestRecord
from .runtime import record, runtime
from .wire import Wire

T = TypeVar("T")
log = logging.getLogger("plusn.gateway")


def meter(rec: RequestRecord, backend: Backend, usage: Usage, calls: list[Call] | None = None,
          route: dict[str, Any] | None = None, reference: Backend | None = None) -> None:
    """Charge a request's backend calls to its record: one call, or each call of a composite;
    and note what the answer would have cost on the reference model."""
    if calls is None:
        calls = [backend.call_of(usage)]
    reference_cost = None
    if reference is not None and calls:
        answer = calls[-1].usage  # the call whose answer the client got
        reference_cost = reference.settings.price.cost(answer.prompt_tokens, answer.completion_tokens)
    for c in calls:
        rec.charge(c.model, c.usage.prompt_tokens, c.usage.completion_tokens, c.cost)
    shown = route is not None and (len(calls) > 1 or bool(route))
    rec.routed(_route_name(route) or backend.name, route, [c.as_dict() for c in calls] if shown else None,
               reference_cost)


def blocked(rec: RequestRecord) -> bool:
    """Whether a guard refused the request (its text is then never kept for learning)."""
    return any(d.get("action") == "blocked" for d in rec.safety)


def _route_name(route: dict[str, Any] | None) -> str | None:
    if not route:
        return None
    return str(route.get("route") or route.get("cascade") or route.get("router") or route.get("target") or "")


def plusn_block(rec: RequestRecord) -> dict[str, Any]:
    """The ``plusn`` block each response carries: what served it, how, and what it cost."""
    block: dict[str, Any] = {
        "request_id": rec.id,
        "served_models": list(rec.served_models),
        "cost": round(rec.cost, 10),
    }
    if "route" in rec.extra:
        route = rec.extra["route"]
        block["route"] = route
        block["calls"] = rec.extra.get("calls", [])
        # What the answer was grounded in, where clients look for it.
        if isinstance(route, dict):
            for key in ("citations", "sql", "trace", "decision"):
                if key in route:
                    block[key] = route[key]
    if "cache" in rec.extra:
        block["cache"] = rec.extra["cache"]
    if rec.safety:  # what the guards decided (never the text they matched)
        block["safety"] = [{k: d.get(k) for k in ("stage", "category", "action", "score")} for d in rec.safety]
    return block


def plusn_headers(rec: RequestRecord, backend: Backend, answered_by: str | None = None,
                  route: dict[str, Any] | None = None) -> dict[str, str]:
    return plusn_headers_of(rec, answered_by or backend.name,
                            None if route is None else (_route_name(route) or backend.name))


def plusn_headers_of(rec: RequestRecord, answered_by: str, route: str | None) -> dict[str, str]:
    """Who answered, the route it took, and what the response cache did."""
    # Header values must be Latin-1; a model may well be called 通义千问.
    headers = {"x-plusn-model": urllib.parse.quote(answered_by, safe="")}
    if route is not None:
        headers["x-plusn-route"] = urllib.parse.quote(route, safe=":@")
    cache = rec.extra.get("cache")
    if cache is not None:
        headers["x-plusn-cache"] = "hit" if cache.get("hit") else "bypass" if "bypass" in cache else "miss"
    return headers


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def race_disconnect(receive: Receive, aw: Awaitable[T]) -> tuple[bool, T | None]:
    """Run ``aw`` until it finishes or the client disconnects; ``(finished, result)``.

    The awaitable's own exceptions propagate unchanged.
    """
    task = asyncio.ensure_future(aw)
    watcher = asyncio.ensure_future(_wait_disconnect(receive))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        return False, None
    return True, task.result()


async def until_disconnect(request: Request, aw: Awaitable[T]) -> T:
    """Await ``aw``, cancelling it if the client disconnects first.

    The work runs in the request's own task and one watcher task cancels it when the client
    goes: one task per request rather than two and an ``asyncio.wait``, which on the hot path
    is a measurable share of what the gateway adds to each request.
    """
    task = asyncio.current_task()
    assert task is not None
    gone = False

    def on_disconnect(w: asyncio.Future[None]) -> None:
        nonlocal gone
        if not w.cancelled() and w.exception() is None:
            gone = True
            task.cancel()

    watcher = asyncio.ensure_future(_wait_disconnect(request.receive))
    watcher.add_done_callback(on_disconnect)
    try:
        return await aw
    except asyncio.CancelledError:
        if gone:
            task.uncancel()
            raise ClientDisconnected("the client disconnected before the answer was ready") from None
        raise
    finally:
        watcher.remove_done_callback(on_disconnect)
        watcher.cancel()


async def generate_once(request: Request, backend: Backend, req: GenRequest) -> Generation:
    """A complete answer, holding one of the model's slots, metered on the record."""
    limiter = runtime(request).fleet.limiter_of(backend)

    async def run() -> Generation:
        async with limiter.slot():  # a client that leaves while queued gives up its place
            return await backend.generate(req)

    gen = await until_disconnect(request, run())
    meter(record(request), backend, gen.usage, gen.calls if gen.route is not None else None, gen.route,
          runtime(request).fleet.reference())
    return gen


# A stream that ended cleanly: its text, finish reason, usage and route (then its answerer).
Finished = Callable[[str, str, Usage, "dict[str, Any] | None"], None]
Done = Callable[[str, str, Usage, str, "dict[str, Any] | None"], None]


class EventStream(Response):
    """An SSE response that cancels the generation when the client disconnects."""

    def __init__(
        self,
        body: AsyncGenerator[bytes, None],
        headers: dict[str, str],
        cleanup: Callable[[], Awaitable[None]],
    ) -> None:
        super().__init__(status_code=200, media_type="text/event-stream")
        self.events = body
        self.extra_headers = headers
        # Runs whatever happens, even if the body never started: releases the slot.
        self.cleanup = cleanup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ] + [(k.encode(), v.encode()) for k, v in self.extra_headers.items()]
        await send({"type": "http.response.start", "status": 200, "headers": headers})

        async def pump() -> None:
            async for chunk in self.events:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        try:
            await race_disconnect(receive, pump())
        finally:
            await self.events.aclose()
            await self.cleanup()


async def open_stream(
    request: Request,
    backend: Backend,
    req: GenRequest,
    wire: Wire,
    *,
    opted_in: bool = False,
    done: Done | None = None,
) -> EventStream:
    """Start a streamed generation; errors before the first token still get a real status."""
    rec = record(request)
    rec.streaming()
    stack = AsyncExitStack()
    gen = backend.stream(req)

    async def cleanup() -> None:  # idempotent: both may already be closed
        await gen.aclose()
        await stack.aclose()

    async def start() -> Delta:
        await stack.enter_async_context(runtime(request).fleet.limiter_of(backend).slot())
        try:
            return await gen.__anext__()
        except StopAsyncIteration:
            return Delta("", "stop", Usage())

    try:
        first = await until_disconnect(request, start())
    except BaseException:
        await cleanup()
        raise

    rt = runtime(request)
    answered_by = (first.route or {}).get("answered_by") if first.route else None
    spec = rt.observer.learning(_route_name(first.route) or backend.name, opted_in, blocked(rec)) if opted_in else None
    finished = None
    if spec is not None or done is not None:  # the whole answer is wanted once it has gone out
        def finished(text: str, finish: str, usage: Usage, route: dict[str, Any] | None) -> None:
            if spec is not None:  # the route and the key opted in to learning
                rt.observer.keep(rec, spec, req, text, answered_by or backend.name)
            if done is not None:
                done(text, finish, usage, answered_by or backend.name, route)
    events = _events(rec, backend, gen, first, wire, rt.fleet.reference(), cleanup, finished)
    return EventStream(events, plusn_headers(rec, backend, answered_by, first.route), cleanup)


async def _events(rec: RequestRecord, backend: Backend, gen: AsyncGenerator[Delta, None], first: Delta,
                  wire: Wire, reference: Backend | None, cleanup: Callable[[], Awaitable[None]],
                  finished: Finished | None = None) -> AsyncGenerator[bytes, None]:
    """The SSE events of a stream that has started: each token, then the usage and the plusn
    block; an error after the first byte ends it with an error event, never a short answer."""
    finish, usage, sent, called = "stop", None, 0, False
    calls: list[Call] | None = None
    parts: list[str] | None = [] if finished is not None else None  # the answer, only when wanted
    try:
        for event in wire.opening():
            yield event
        delta: Delta | None = first
        while delta is not None:
            if delta.text:
                rec.mark_first_token()
                sent += 1
                if parts is not None:
                    parts.append(delta.text)
                yield wire.delta(delta.text)
            if delta.tool_calls:
                rec.mark_first_token()
                called = True
                yield wire.calls(delta.tool_calls)
            if delta.finish_reason:
                finish = delta.finish_reason
            if delta.usage is not None:
                usage = delta.usage
                calls = delta.calls
            delta = await gen.__anext__() if delta.usage is None else None
    except StopAsyncIteration:
        pass
    except PlusnError as exc:
        # Headers are gone; end the stream with an error event a client can see.
        rec.failed(exc.type if exc.code is None else f"{exc.type}:{exc.code}")
        meter(rec, backend, Usage(0, sent))
        for event in wire.failure(exc.envelope(), getattr(exc, "finish_reason", None)):
            yield event
        return
    except (asyncio.CancelledError, GeneratorExit):
        rec.failed("client_disconnected", 499)
        meter(rec, backend, Usage(0, sent))
        raise
    except Exception as exc:  # a bug or a malformed upstream: still end the stream cleanly
        log.exception("stream from %s failed", backend.name)
        err = UpstreamError(f"the stream from model {backend.name!r} failed: {type(exc).__name__}")
        rec.failed(f"{err.type}:{err.code}")
        meter(rec, backend, Usage(0, sent))
        for event in wire.failure(err.envelope(), None):
            yield event
        return
    finally:
        await cleanup()
    meter(rec, backend, usage or Usage(0, sent), calls, first.route, reference)
    if finished is not None and parts is not None and not called:  # a call is no answer to keep
        finished("".join(parts), finish, usage or Usage(0, sent), first.route)
    for event in await wire.closing(finish, usage or Usage(0, sent), plusn_block(rec)):
        yield event
