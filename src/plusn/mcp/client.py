"""Sessions to MCP servers, for the agents' ``mcp`` tools.

One session per server per deployment, opened on first use and kept, so a stdio server is one
process for the deployment's life rather than one per call. The SDK's client holds task groups,
which must be entered and left by one task, so each session is owned by a task of its own and
callers only send requests through it. A session that ends (the process exits, the connection
breaks) is dropped, and the next call opens a new one. Every wait is bounded by the server's
``timeout_s``: a dead or hung server is an error the agent sees, never a hung request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from .. import __version__

log = logging.getLogger("plusn.mcp")
_PAGES = 20  # pages of a tool listing read at most: a server that pages forever cannot hang a call
_CONNECTION_CLOSED = -32000  # the SDK's error code for a connection that ended under a request
# A server that could not be started is not tried again sooner: an agent lists all its tools each
# turn, and each would otherwise wait out the start again.
RETRY_AFTER_S = 5.0


class CallFailed(Exception):
    """The server could not be started or reached, broke off, refused the call or did not
    answer in time; the message names the server and says which."""


@dataclass(frozen=True)
class ServerSpec:
    """How to reach one MCP server: a command (stdio) or a URL (streamable HTTP)."""

    label: str  # its name in traces, the ledger and messages
    command: str | None = None
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    cwd: str | None = None
    url: str | None = None
    headers_env: tuple[tuple[str, str], ...] = ()  # (header, the environment variable holding its value)
    timeout_s: float = 10.0

    def headers(self) -> dict[str, str]:
        """The HTTP headers, read from the environment when the session opens (never from the file)."""
        out = {}
        for header, var in self.headers_env:
            value = os.environ.get(var)
            if not value:
                raise CallFailed(f"the MCP server {self.label!r} needs ${var} (for the {header} header), "
                                 "which is not set")
            out[header] = value
        return out


@dataclass
class RemoteTool:
    name: str
    description: str
    schema: dict[str, Any]


@dataclass
class Reply:
    """A tool's answer: its content as text blocks, its structured content, and whether the
    tool reports an error (the text then says what went wrong)."""

    texts: list[str]
    data: Any = None
    is_error: bool = False


def _reply(result: Any) -> Reply:
    texts = []
    for block in result.content:
        kind = getattr(block, "type", "")
        if kind == "text":
            texts.append(block.text)
        elif kind == "resource":  # an embedded resource: its text, if it is text
            texts.append(getattr(block.resource, "text", None) or f"[resource {block.resource.uri}]")
        elif kind == "resource_link":
            texts.append(f"[resource {block.uri}]")
        else:  # images and audio mean nothing to a text model
            texts.append(f"[{kind or 'unknown'} content left out]")
    return Reply(texts, result.structured_content, bool(result.is_error))


def _leaf(exc: BaseException) -> BaseException:
    """The error itself, however deep in task groups it was raised."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _summary(exc: BaseException) -> str:
    """One line about an error."""
    exc = _leaf(exc)
    if isinstance(exc, CallFailed):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


class _Watched:
    """A transport's read stream that notes when it ends, so that a server which exited between
    calls is known to be gone before the next call is sent to it."""

    def __init__(self, inner: Any, ended: asyncio.Event) -> None:
        self._inner = inner
        self._ended = ended

    async def __aenter__(self) -> _Watched:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        self._ended.set()
        return await self._inner.__aexit__(*exc)

    def __aiter__(self) -> _Watched:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self._inner.__anext__()
        except StopAsyncIteration:
            self._ended.set()
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextlib.asynccontextmanager
async def _transport(spec: ServerSpec, ended: asyncio.Event) -> AsyncIterator[tuple[Any, Any]]:
    async with contextlib.AsyncExitStack() as stack:
        if spec.command is not None:
            from mcp import StdioServerParameters, stdio_client

            params = StdioServerParameters(command=spec.command, args=list(spec.args), env=dict(spec.env) or None,
                                           cwd=spec.cwd)
            read, write = await stack.enter_async_context(stdio_client(params))
        else:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            http = await stack.enter_async_context(httpx2.AsyncClient(
                headers=spec.headers(), trust_env=False, timeout=httpx2.Timeout(spec.timeout_s, read=300.0)))
            read, write = await stack.enter_async_context(streamable_http_client(str(spec.url), http_client=http))
        yield _Watched(read, ended), write


async def _listing(client: Any) -> dict[str, RemoteTool]:
    tools: dict[str, RemoteTool] = {}
    cursor = None
    for _ in range(_PAGES):
        page = await client.list_tools(cursor=cursor)
        for t in page.tools:
            tools[t.name] = RemoteTool(t.name, t.description or "", dict(t.input_schema or {"type": "object"}))
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


@dataclass
class _Live:
    client: Any
    tools: dict[str, RemoteTool]
    owner: asyncio.Task[None]
    stop: asyncio.Event  # set to close the session
    ended: asyncio.Event  # set once the connection is over, however it ended


class Session:
    """The session to one server: opened when first needed, and again after it ends."""

    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self._live: _Live | None = None
        self._failed: tuple[float, str] | None = None  # when the last start failed, and why
        self._opening = asyncio.Lock()
        self._ending: set[asyncio.Task[None]] = set()  # owners winding down (a stdio server is given time to exit)

    async def tools(self) -> dict[str, RemoteTool]:
        """The server's tools, as it listed them when the session opened."""
        return (await self._ready()).tools

    async def call(self, name: str, arguments: dict[str, Any]) -> Reply:
        """Call one tool; :class:`CallFailed` unless the server answered in time (an answer that
        reports an error is still an answer: see :attr:`Reply.is_error`)."""
        from mcp import MCPError

        live = await self._ready()
        label, timeout = self.spec.label, self.spec.timeout_s
        try:
            async with asyncio.timeout(timeout):
                result = await live.client.call_tool(name, arguments)
        except TimeoutError:
            raise CallFailed(f"the MCP server {label!r} did not answer within {timeout:g} s") from None
        except MCPError as exc:
            if exc.code != _CONNECTION_CLOSED and not live.ended.is_set():
                raise CallFailed(f"the MCP server {label!r} refused the call: {exc.message}") from None
            self._end(live)
            raise CallFailed(f"the MCP server {label!r} closed the connection during the call") from None
        except Exception as exc:  # the transport broke (connection refused or reset, ...): the session is gone
            self._end(live)
            raise CallFailed(f"the connection to the MCP server {label!r} broke: {_summary(exc)}") from None
        return _reply(result)

    async def _ready(self) -> _Live:
        live = self._live
        if live is not None and not live.ended.is_set():
            return live
        async with self._opening:  # concurrent first calls open one session
            live = self._live
            if live is None or live.ended.is_set():
                if live is not None:
                    self._end(live)
                if self._failed is not None and time.monotonic() - self._failed[0] < RETRY_AFTER_S:
                    raise CallFailed(self._failed[1])
                try:
                    self._live = live = await self._open()
                except CallFailed as exc:
                    self._failed = (time.monotonic(), str(exc))
                    raise
                self._failed = None
            return live

    async def _open(self) -> _Live:
        from mcp import Client
        from mcp.types import Implementation

        ready: asyncio.Future[tuple[Any, dict[str, RemoteTool]]] = asyncio.get_running_loop().create_future()
        stop, ended = asyncio.Event(), asyncio.Event()

        async def own() -> None:
            try:
                async with Client(_transport(self.spec, ended), read_timeout_seconds=self.spec.timeout_s,
                                  client_info=Implementation(name="plusn", version=__version__)) as client:
                    tools = await _listing(client)
                    ready.set_result((client, tools))
                    await _first(stop, ended)
            except Exception as exc:
                if not ready.done():
                    ready.set_exception(exc)
                else:
                    log.warning("the session to MCP server %s ended: %s", self.spec.label, _summary(exc))
            finally:
                ended.set()
                if not ready.done():
                    ready.cancel()

        owner = asyncio.create_task(own(), name=f"plusn-mcp:{self.spec.label}")
        try:
            async with asyncio.timeout(self.spec.timeout_s):
                client, tools = await asyncio.shield(ready)
        except BaseException as exc:
            stop.set()
            owner.cancel()
            self._reap(owner)
            if isinstance(exc, TimeoutError):
                raise CallFailed(f"the MCP server {self.spec.label!r} did not start within "
                                 f"{self.spec.timeout_s:g} s") from None
            if isinstance(_leaf(exc), CallFailed):  # it says what is wrong already
                raise CallFailed(str(_leaf(exc))) from None
            if isinstance(exc, Exception):
                raise CallFailed(f"could not start the MCP server {self.spec.label!r}: {_summary(exc)}") from None
            raise
        log.info("MCP server %s: session open, %d tools", self.spec.label, len(tools))
        return _Live(client, tools, owner, stop, ended)

    def _end(self, live: _Live) -> None:
        """Close a session that failed; the next call opens a new one."""
        live.stop.set()
        live.ended.set()
        if self._live is live:
            self._live = None
        self._reap(live.owner)

    def _reap(self, owner: asyncio.Task[None]) -> None:
        if not owner.done():
            self._ending.add(owner)
            owner.add_done_callback(self._ending.discard)

    async def close(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop.set()
            self._reap(live.owner)
        if self._ending:  # a stdio server gets its grace period to exit, then is killed (by the SDK)
            await asyncio.wait(set(self._ending), timeout=10)


class McpServers:
    """The MCP servers a deployment's agents name: one :class:`Session` each, shared by every
    agent that names the server the same way, closed with the deployment."""

    def __init__(self) -> None:
        self._sessions: dict[ServerSpec, Session] = {}

    def session(self, spec: ServerSpec) -> Session:
        found = self._sessions.get(spec)
        if found is None:
            found = self._sessions[spec] = Session(spec)
        return found

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        results = await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
        for s, r in zip(sessions, results, strict=True):
            if isinstance(r, BaseException):
                log.warning("closing the session to MCP server %s: %s", s.spec.label, _summary(r))
