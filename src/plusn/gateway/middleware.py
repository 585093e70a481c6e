"""The outermost layer: one ledger row per API request, and the body-size limit.

This is plain ASGI rather than BaseHTTPMiddleware so streamed responses pass through
untouched and the row is written only after the last byte (or the disconnect).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import PayloadTooLarge, PlusnError
from ..ledger.writer import RequestRecord
from ..safety.audit import collecting
from ..telemetry.otel import OTelTracing, request_attributes, trace_id_of
from ..telemetry.spans import traced
from .admission import settle

log = logging.getLogger("plusn.gateway")


class _BodyTooLarge(Exception):
    pass


async def send_error(send: Send, exc: PlusnError, request_id: str) -> None:
    body = json.dumps(exc.envelope()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ] + [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class LedgerMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, prefix: tuple[str, ...] = ("/v1/", "/admin/")) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        rid = "req-" + os.urandom(12).hex()
        rec = RequestRecord(id=rid, endpoint=scope["path"])
        scope["plusn.record"] = rec
        limit = self.max_body_bytes
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                rec.responded(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        too_large = (
            f"request body is larger than the limit of {limit} bytes (server.max_body_bytes)"
        )
        try:
            declared = _content_length(scope)
            if declared is not None and declared > limit:
                raise _BodyTooLarge
            if scope["method"] == "POST":
                scope["headers"] = _json_content_type(scope["headers"])
            seen = 0

            async def receive_wrapper() -> Message:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > limit:
                        # An HTTPException passes through FastAPI's body parsing as itself
                        # (anything else there becomes a 400); the app's handler makes it a 413.
                        raise HTTPException(413, too_large)
                return message

            with collecting(rec.safety):  # safety decisions taken while serving land on this record
                tracing = scope["app"].state.plusn.tracing
                if tracing is None:
                    await self.app(scope, receive_wrapper, send_wrapper)
                else:
                    await _traced(tracing, self.app, scope, receive_wrapper, send_wrapper, rec)
        except _BodyTooLarge:
            exc = PayloadTooLarge(too_large)
            rec.failed(exc.type, exc.status)
            if not started:
                await send_error(send, exc, rid)
        except BaseException as exc:
            # The app's handlers answer every PlusnError; anything here is a bug or a cancel.
            rec.crashed(499 if _is_cancel(exc) else 500, type(exc).__name__)
            raise
        finally:
            rec.ended()
            try:
                scope["app"].state.plusn.finish(rec)
            except Exception:  # the row must not take the response down with it
                log.exception("could not book request %s", rid)
            await settle(scope, rec)  # release the caller's slot; book the tokens and money used


async def _traced(tracing: OTelTracing, app: ASGIApp, scope: Scope, receive: Receive, send: Send,
                  rec: RequestRecord) -> None:
    """The request under its span (a child of the caller's traceparent, if sent); the span
    gets what the ledger row says, and the row the span's trace id."""
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    with traced(tracing), tracing.request(f"{scope['method']} {scope['path']}", headers) as s:
        rec.traced(trace_id_of(s))
        try:
            await app(scope, receive, send)
        finally:
            s.set_attributes(request_attributes(rec))


def _json_content_type(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Read every API body as JSON, as OpenAI does: `curl -d` sends a form content type."""
    kept = [(k, v) for k, v in headers if k != b"content-type" or b"json" in v]
    if len(kept) == len(headers) and any(k == b"content-type" for k, _ in headers):
        return headers
    return [*kept, (b"content-type", b"application/json")]


def _content_length(scope: Scope) -> int | None:
    for k, v in scope.get("headers", []):
        if k == b"content-length":
            try:
                return int(v)
            except ValueError:
                return None
    return None


def _is_cancel(exc: BaseException) -> bool:
    return isinstance(exc, asyncio.CancelledError) or type(exc).__name__ in {"ClientDisconnect", "ClientDisconnected"}
