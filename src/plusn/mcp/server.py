"""plusn as an MCP server: the SDK's low-level server over :mod:`.catalog`, for any transport.

A transport supplies a *gate*: for each MCP request it says who calls and which ledger record
the request writes to (over HTTP the gateway's middleware opened the record and authenticated
the key; over stdio the gate does both, and books the row). The server notes the method and the
tool on the record, collects the safety decisions taken while serving on it, and answers a
failed tool call as an MCP tool error whose text says what to do, with the record saying why.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from typing import Any, Protocol

from .. import __version__
from ..assemble import Deployment
from ..errors import PlusnError
from ..safety.audit import collecting
from . import catalog
from .catalog import Caller

log = logging.getLogger("plusn.mcp")
_CALLER: ContextVar[Caller | None] = ContextVar("plusn_mcp_caller", default=None)
INSTRUCTIONS = ("plusn's knowledge bases (kb_*: search with citations), skills (skill_*) and agents (agent_*). "
                "An agent that asks a question answers with a session id: call it again with the user's answer "
                "and that session.")


class Gate(Protocol):
    def caller(self, ctx: Any) -> AbstractAsyncContextManager[Caller]:
        """Who makes this MCP request, and its ledger record, for as long as it is served."""


def _current() -> Caller:
    caller = _CALLER.get()
    if caller is None:  # a handler outside the middleware: a bug, not the client's fault
        raise RuntimeError("an MCP request was served without its caller")
    return caller


class _Booking:
    """The server middleware: every MCP request goes through the gate and is noted on its record."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        if ctx.request_id is None:  # a notification: nothing is served, nothing to book
            return await call_next(ctx)
        from mcp import MCPError
        from mcp.types import INVALID_REQUEST

        try:
            async with self.gate.caller(ctx) as caller:
                params = ctx.params or {}
                tool = params.get("name") if ctx.method == "tools/call" else None
                caller.record.via_mcp(ctx.method, tool if isinstance(tool, str) else None)
                token = _CALLER.set(caller)
                try:
                    with collecting(caller.record.safety):
                        return await call_next(ctx)
                finally:
                    _CALLER.reset(token)
        except PlusnError as exc:  # the gate refused (a revoked key, a limit): an MCP error saying why
            raise MCPError(code=INVALID_REQUEST, message=exc.message) from None


def build_server(d: Deployment, gate: Gate) -> Any:
    """The MCP server of a deployment: its tools listed and called through ``gate``."""
    from mcp.server import Server
    from mcp.types import CallToolResult, ListToolsResult, TextContent, Tool

    async def list_tools(ctx: Any, params: Any) -> Any:
        who = _current().who
        return ListToolsResult(tools=[Tool(name=t.name, description=t.description, input_schema=t.schema)
                                      for t in catalog.visible(d, who)])

    async def call_tool(ctx: Any, params: Any) -> Any:
        caller = _current()
        try:
            result = await catalog.call(d, caller, params.name, dict(params.arguments or {}))
        except PlusnError as exc:
            caller.record.failed(exc.type if exc.code is None else f"{exc.type}:{exc.code}", exc.status)
            return CallToolResult(content=[TextContent(text=exc.message)], is_error=True)
        return CallToolResult(content=[TextContent(text=result.text)], structured_content=result.data)

    def input_schema(name: str) -> dict[str, Any] | None:
        # for the SDK's check of a call's parameter headers; that check runs before any caller is known
        return next((t.schema for t in catalog.offered(d) if t.name == name), None)

    server: Any = Server("plusn", version=__version__, instructions=INSTRUCTIONS, on_list_tools=list_tools,
                         on_call_tool=call_tool, get_tool_input_schema=input_schema)
    # In place of the SDK's default (OpenTelemetry spans): plusn meters every request in its ledger.
    server.middleware = [_Booking(gate)]
    return server

