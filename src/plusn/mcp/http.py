"""``/mcp`` on the gateway: plusn's tools over streamable HTTP, behind the gateway's keys.

Each request is authenticated and admitted as any other API request (``Authorization: Bearer``,
the key's limits), and the gateway's middleware writes its one ledger row. The SDK serves it
statelessly with a JSON reply: every request stands alone, so any gateway process can answer it;
an agent's conversation lives in the state database under the session id its answer gave.

The SDK and its session manager start with the first ``/mcp`` request, so a gateway that never
serves MCP never loads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.types import Receive, Scope, Send

from ..errors import PermissionDenied
from ..gateway.admission import reserve
from ..gateway.auth import loopback
from ..gateway.runtime import principal, record, runtime
from .catalog import Caller
from .server import build_server

log = logging.getLogger("plusn.mcp")
_WHO = "plusn.principal"


class _HttpGate:
    """The caller of an MCP request over HTTP, as the endpoint authenticated it."""

    @contextlib.asynccontextmanager
    async def caller(self, ctx: Any) -> AsyncIterator[Caller]:
        conn = HTTPConnection(ctx.request.scope)

        async def reserved(tokens: int, cost: float) -> None:
            await reserve(conn, tokens, cost)

        yield Caller(conn.scope[_WHO], record(conn), reserved)


def _foreign_origin(conn: HTTPConnection) -> bool:
    """Whether a browser sent this from a page that is not on this machine."""
    origin = conn.headers.get("origin")
    if not origin:
        return False
    host = urlsplit(origin).hostname or ""
    return not loopback(host.strip("[]"))


class McpEndpoint:
    """The ASGI app at ``/mcp``; :meth:`open` and :meth:`close` bracket each run of the app."""

    def __init__(self) -> None:
        self.open()

    def open(self) -> None:
        self._manager: Any = None
        self._starting = asyncio.Lock()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        conn = HTTPConnection(scope)
        who = await principal(conn)  # 401 for a bad key, 429 past a limit: the gateway's own answers
        if who.key_id is None and _foreign_origin(conn):
            # A keyless gateway trusts whoever reaches it; a web page elsewhere must not be one of them.
            raise PermissionDenied("MCP requests from a web page need an API key (plusn keys create)")
        scope[_WHO] = who
        manager = await self._started(conn)
        await manager.handle_request(scope, receive, send)

    async def _started(self, conn: HTTPConnection) -> Any:
        if self._manager is not None:
            return self._manager
        async with self._starting:
            if self._manager is None:
                from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

                manager = StreamableHTTPSessionManager(build_server(runtime(conn).deployment, _HttpGate()),
                                                       json_response=True, stateless=True)
                ready = asyncio.Event()

                async def run() -> None:
                    async with manager.run():
                        ready.set()
                        await self._stop.wait()

                # A context of its own: the first request's (its ledger record, its safety
                # decisions) must not become every later request's.
                task = asyncio.create_task(run(), name="plusn-mcp-http", context=contextvars.Context())
                started = asyncio.ensure_future(ready.wait())
                await asyncio.wait({started, task}, return_when=asyncio.FIRST_COMPLETED)
                if not ready.is_set():
                    started.cancel()
                    task.result()  # raises why it could not start
                self._task, self._manager = task, manager
                log.info("MCP endpoint started")
        return self._manager

    async def close(self) -> None:
        """Stop the session manager, if it ever started (at shutdown)."""
        self._stop.set()
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=10)
        self._task, self._manager = None, None
