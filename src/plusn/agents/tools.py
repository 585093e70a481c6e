"""Tools an agent or a workflow node can call.

Every tool takes a JSON object of arguments and gives text for the model (and, where useful,
data and citations). A tool that fails raises :class:`ToolError` with a message meant for the
model or the user: the agent shows it to the model, a workflow to the user. It is never an
HTTP error of the gateway. Text that comes from outside (passages, web pages, MCP results) goes
through the same passage screens as retrieval, so injected instructions do not reach a prompt.
"""

from __future__ import annotations

import ast
import json
import logging
import math
import operator
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from ..errors import PlusnError
from ..fleet.backend import EmbeddingBackend, Member, RunMember
from ..knowledge.catalog import Knowledge
from ..knowledge.grounding import Screen
from ..mcp.client import CallFailed, McpServers, Reply, ServerSpec
from ..safety.redact import scrub
from ..skills.backend import SkillBackend
from ..telemetry.spans import span
from .spec import ToolSpec

MAX_DEPTH = 3  # agents calling agents
log = logging.getLogger("plusn.agents")


class ToolError(Exception):
    """A tool failed; the message is shown to the model or the user."""

    def __init__(self, message: str, trace: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.trace = trace or {}  # what the tool adds to its step of the trace (see ToolResult.trace)


@dataclass
class ToolResult:
    text: str
    data: Any = None
    citations: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Any] = field(default_factory=list)  # model calls made inside (skills, agents), metered
    # What the tool adds to its step of the trace (an MCP tool: its server, and its input and
    # output redacted); it replaces what the step would show by default.
    trace: dict[str, Any] = field(default_factory=dict)


@dataclass
class AgentEnv:
    """What agents reach in the deployment: members by name (looked up when used, so agents
    may name agents built after them), calls to them, knowledge and the passage screens."""

    run: RunMember
    lookup: Callable[[str], Member | None]
    knowledge: Knowledge
    screens: list[Screen]
    # an embedding model by name, started (forms match answers by meaning with it)
    embedder: Callable[[str], Awaitable[EmbeddingBackend]] | None = None
    # the sessions to the MCP servers the agents name, one per server, closed with the deployment
    mcp: McpServers | None = None


@dataclass
class ToolContext:
    env: AgentEnv
    depth: int = 0
    run_agent: Callable[[str, str, int], Awaitable[ToolResult]] | None = None
    # Who asked, as access tokens: the knowledge tools find only what that caller may read.
    viewer: frozenset[str] = frozenset()


class Tool:
    def __init__(self, spec: ToolSpec) -> None:
        self.spec = spec
        self.name = spec.tool_name()

    async def description(self, ctx: ToolContext) -> str:
        return self.spec.description or ""

    parameters: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}

    def schema(self, ctx: ToolContext) -> dict[str, Any]:
        """The JSON schema of the arguments (read after :meth:`description`, which may load it)."""
        return self.parameters

    async def call(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        raise NotImplementedError

    async def _screened(self, text: str, ctx: ToolContext) -> str | None:
        for screen in ctx.env.screens:
            reason = await screen(text)
            if reason:
                return reason
        return None


def _arg(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ToolError(f"the argument {name!r} (text) is missing")
    return value


class Search(Tool):
    parameters: ClassVar[dict[str, Any]] = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}

    async def description(self, ctx: ToolContext) -> str:
        return self.spec.description or f"Search the knowledge base {self.spec.kb!r}; gives numbered passages."

    async def call(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        kb = await ctx.env.knowledge.get(str(self.spec.kb))
        try:
            hits = await kb.search(_arg(args, "query"), k=self.spec.k, viewer=ctx.viewer)
        except PlusnError as exc:
            raise ToolError(exc.message) from None
        kept, cites = [], []
        for h in hits:
            if await self._screened(h.text, ctx):
                continue
            kept.append(h)
            cites.append({**h.citation(len(kept)), "knowledge": self.spec.kb})
        if not kept:
            return ToolResult("No passages found.", [], [])
        text = "\n\n".join(f"[{i}] ({h.heading or h.title}) {h.text}" for i, h in enumerate(kept, 1))
        return ToolResult(text, [c["document"] for c in cites], cites)


class SQL(Tool):
    parameters: ClassVar[dict[str, Any]] = {"type": "object", "properties": {"query": {"type": "string", "description": "one SELECT"}},
                  "required": ["query"]}

    async def description(self, ctx: ToolContext) -> str:
        tool = ctx.env.knowledge.tool(str(self.spec.db))
        head = self.spec.description or f"Run one read-only SELECT on the {tool.dialect} database {self.spec.db!r}."
        return f"{head}\nSchema:\n{await tool.describe()}"

    async def call(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        tool = ctx.env.knowledge.tool(str(self.spec.db))
        try:
            res = await tool.query(_arg(args, "query"))
        except PlusnError as exc:
            raise ToolError(exc.message) from None
        data = res.as_dict()
        if not res.rows:
            return ToolResult("The query returned no rows.", data)
        return ToolResult(json.dumps({"columns": res.columns, "rows": res.rows, "truncated": res.truncated},
                                     ensure_ascii=False, default=str), data)


class HTTP(Tool):
    parameters: ClassVar[dict[str, Any]] = {"type": "object", "properties": {"url": {"type": "string"}, "method": {"type": "string"},
                                                   "body": {"type": "object"}}, "required": ["url"]}

    async def description(self, ctx: ToolContext) -> str:
        return self.spec.description or f"Fetch a URL (hosts: {', '.join(self.spec.allow)})."

    def allowed(self, url: str) -> str:
        """The URL if its host is on the allow-list; else :class:`ToolError`."""
        try:
            parts = urllib.parse.urlsplit(url)
        except ValueError:
            raise ToolError(f"not a URL: {url!r}") from None
        if parts.scheme not in ("http", "https"):
            raise ToolError("only http and https URLs can be fetched")
        if parts.username or parts.password or not parts.hostname:
            raise ToolError("the URL must name a host, without credentials")
        host = parts.hostname.lower().rstrip(".")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ToolError("the URL's port is not valid") from None
        for rule in self.spec.allow:
            # "host", "*.example.com", or either with ":port"; without a port only 80 and 443
            rule_host, _, rule_port = rule.lower().rstrip(".").partition(":")
            ports = {int(rule_port)} if rule_port.isdigit() else {80, 443}
            if (host == rule_host or (rule_host.startswith("*.") and host.endswith(rule_host[1:]))) \
                    and port in ports:
                return url
        raise ToolError(f"the host {host}:{port} is not on this tool's allow-list")

    async def call(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        import httpx

        url = self.allowed(_arg(args, "url"))
        method = str(args.get("method") or "GET").upper()
        if method not in self.spec.methods:
            raise ToolError(f"method {method} is not allowed; use {', '.join(self.spec.methods)}")
        body = args.get("body")
        try:
            async with httpx.AsyncClient(timeout=self.spec.timeout_s, follow_redirects=False, trust_env=False) as c:
                for _ in range(4):  # each redirect is checked against the allow-list too
                    async with c.stream(method, url, json=body if method == "POST" else None) as r:
                        if r.is_redirect and "location" in r.headers:
                            url = self.allowed(str(r.url.join(r.headers["location"])))
                            method, body = "GET", None
                            continue
                        content = b""
                        async for piece in r.aiter_bytes():  # never more than max_bytes in memory
                            content += piece
                            if len(content) >= self.spec.max_bytes:
                                break
                        status, encoding = r.status_code, r.encoding
                    break
                else:
                    raise ToolError("too many redirects")
        except ToolError:
            raise
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            raise ToolError(f"the request failed: {type(exc).__name__}") from None
        text = content[: self.spec.max_bytes].decode(encoding or "utf-8", errors="replace")
        reason = await self._screened(text, ctx)
        if reason:
            raise ToolError(f"the response was kept out: it {reason}")
        if status >= 400:
            raise ToolError(f"HTTP {status} from {urllib.parse.urlsplit(url).hostname}: {text[:300]}")
        return ToolResult(text, {"status": status, "url": url})


_OPS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow, ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
_FUNCS: dict[str, Callable[..., Any]] = {"sqrt": math.sqrt, "abs": abs, "round": round, "min": min, "max": max,
                                         "log": math.log, "exp": math.exp, "ceil": math.ceil, "floor": math.floor}


def calculate(expression: str) -> float | int:
    """Arithmetic only: numbers, + - * / // % **, parentheses and a few functions. Decimal
    arithmetic, so 19.9 * 3 is 59.7 (money sums must not pick up binary-float noise)."""
    expression = expression.replace("×", "*").replace("÷", "/").replace("^", "**").replace("，", ",")
    if len(expression) > 500:
        raise ToolError("the expression is too long (500 characters at most)")

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return Decimal(repr(node.value)) if isinstance(node.value, float) else Decimal(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and abs(right) > 64:
                raise ToolError("the exponent is too large")
            return _OPS[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.operand))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS \
                and not node.keywords:
            args = [ev(a) for a in node.args]
            if node.func.id in ("sqrt", "log", "exp"):
                return Decimal(repr(_FUNCS[node.func.id](*map(float, args))))
            if node.func.id == "round" and len(args) == 2:
                return round(args[0], int(args[1]))
            return Decimal(_FUNCS[node.func.id](*args))
        raise ToolError("only arithmetic is allowed (numbers, + - * / // % **, sqrt, abs, round, min, max, log)")

    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, RecursionError, ValueError):
        raise ToolError(f"not an arithmetic expression: {expression!r}") from None
    try:
        value = ev(tree)
    except ZeroDivisionError:
        raise ToolError("cannot compute: division by zero") from None
    except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
        raise ToolError(f"cannot compute: {exc or type(exc).__name__}") from None
    if not value.is_finite() or abs(value) > Decimal(10) ** 100:
        raise ToolError("cannot compute: the result is too large")
    if value == value.to_integral_value() and abs(value) < Decimal(10) ** 15:
        return int(value)
    return float(value)


class Calculator(Tool):
    parameters: ClassVar[dict[str, Any]] = {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}

    async def description(self, ctx: ToolContext) -> str:
        return self.spec.description or "Exact arithmetic, e.g. (1200 - 150) * 0.85."

    async def call(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        value = calculate(_arg(args, "expression"))
        return ToolResult(str(value), value)


class Clock(Tool):
    async def description(self, ctx: ToolContext) -> str:
        return self.spec.description or f"The current date and time ({self.spec.timezone})."

    async def call(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        from zoneinfo import ZoneInfo

        now = datetime.now(ZoneInfo(self.spec.timezone))
        return ToolResult(now.strftime("%Y-%m-%d %H:%M (%A), ") + self.spec.timezone, now.isoformat())


class SkillTool(Tool):
    def _backend(self, ctx: ToolContext) -> Any:
        b = ctx.env.lookup(f"skill:{self.spec.skill}")
        if not isinstance(b, SkillBackend):
            raise ToolError(f"there is no skill {self.spec.skill!r}")
        return b

    async def description(self, ctx: ToolContext) -> str:
        return self.spec.description or self._backend(ctx).skill.spec.description

    def schema(self, ctx: ToolContext) -> dict[str, Any]:
        spec = self._backend(ctx).skill.spec
        return {"type": "object", "properties": {n: {"type": v.type, "description": v.description}
                                                 for n, v in spec.variables.items()},
                "required": [n for n, v in spec.variables.items() if v.required and v.default is None]}

    async def call(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        b = self._backend(ctx)
        try:
            gen, output = await b.invoke(b.variables(args, "arguments"))
        except PlusnError as exc:
            raise ToolError(exc.message) from None
        return ToolResult(gen.text, output, calls=list(gen.calls))


class AgentTool(Tool):
    parameters: ClassVar[dict[str, Any]] = {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}

    async def description(self, ctx: ToolContext) -> str:
        b = ctx.env.lookup(f"agent:{self.spec.agent}")
        return self.spec.description or (b.settings.description if b is not None else "")

    async def call(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        if ctx.depth >= MAX_DEPTH or ctx.run_agent is None:
            raise ToolError(f"agents may call agents at most {MAX_DEPTH} deep")
        return await ctx.run_agent(str(self.spec.agent), _arg(args, "input"), ctx.depth + 1)


# --- MCP -------------------------------------------------------------------------------------

KEPT_OUT = "[part of this result was kept out: it reads as injected instructions]"


def _server(spec: ToolSpec) -> ServerSpec:
    return ServerSpec(spec.server_label(), spec.command, tuple(spec.args), tuple(sorted(spec.env.items())),
                      spec.cwd, spec.url, tuple(sorted(spec.headers_env.items())), spec.timeout_s)


class McpTool(Tool):
    """One tool of an MCP server (an ``mcp`` source), called through the deployment's one session
    to that server. Its description and schema are the server's. Its text is screened like a
    retrieved passage: a part that reads as injected instructions is kept out, and the screen's
    decision is recorded."""

    def __init__(self, spec: ToolSpec, remote: str) -> None:
        super().__init__(spec)
        self.remote = remote
        self.name = spec.prefix + remote
        self.server = _server(spec)
        self._schema: dict[str, Any] = {"type": "object"}

    def _session(self, ctx: ToolContext) -> Any:
        if ctx.env.mcp is None:
            raise ToolError("MCP servers cannot be reached from here")
        return ctx.env.mcp.session(self.server)

    async def description(self, ctx: ToolContext) -> str:
        # A server that cannot be reached still shows its tool, saying why; calling it is the error.
        try:
            found = (await self._session(ctx).tools()).get(self.remote)
        except (CallFailed, ToolError) as exc:
            return f"(unavailable: {exc})"
        if found is None:
            return f"(the MCP server {self.server.label!r} lists no tool {self.remote!r})"
        self._schema = found.schema or {"type": "object"}
        return found.description or f"the tool {self.remote!r} of the MCP server {self.server.label!r}"

    def schema(self, ctx: ToolContext) -> dict[str, Any]:
        return self._schema

    async def call(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        traced: dict[str, Any] = {"source": "mcp", "server": self.server.label, "arguments": scrub(args)}
        try:
            reply = await self._session(ctx).call(self.remote, args)
        except CallFailed as exc:
            raise ToolError(str(exc), traced) from None
        text, data, why = await self._kept(reply, ctx)
        if why:
            traced["kept_out"] = why
        if reply.is_error:
            raise ToolError(f"the tool {self.remote!r} of the MCP server {self.server.label!r} failed: {text[:500]}",
                            traced)
        traced["result"] = scrub(text[:300])
        return ToolResult(text, data, trace=traced)

    async def _kept(self, reply: Reply, ctx: ToolContext) -> tuple[str, Any, str | None]:
        """The result's text with what the screens keep out replaced by a note, its structured
        content (dropped with anything kept out: it may carry the same words), and why."""
        data_text = None if reply.data is None else json.dumps(reply.data, ensure_ascii=False, default=str)
        texts = reply.texts or ([data_text] if data_text is not None else [])
        parts, why = [], None
        for t in texts:
            reason = await self._screened(t, ctx)
            why = why or reason
            parts.append(KEPT_OUT if reason else t)
        if why is None and data_text is not None and data_text not in texts:
            why = await self._screened(data_text, ctx)
        text = "\n".join(parts)[: self.spec.max_bytes] or "(the tool returned nothing)"
        return text, None if why else reply.data, why


class McpServerTools(Tool):
    """Every tool of an MCP server that allows ``"*"``; :func:`listed` puts the tools the server
    lists in its place each turn."""

    async def expand(self, ctx: ToolContext) -> list[McpTool]:
        if ctx.env.mcp is None:
            return []
        try:
            found = await ctx.env.mcp.session(_server(self.spec)).tools()
        except CallFailed as exc:
            log.warning("no tools of MCP server %s this turn: %s", self.spec.server_label(), exc)
            return []
        return [McpTool(self.spec, name) for name in found]


async def call_traced(tool: Tool, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    """A tool call, as a span of the request's trace (its name and kind, and how it ended;
    never its arguments or result, which may be private)."""
    with span("plusn.tool", **{"plusn.tool": tool.name, "plusn.tool.type": tool.spec.type}) as s:
        try:
            result = await tool.call(args, ctx)
        except Exception as exc:
            s.set_attribute("plusn.tool.status", "error")
            s.set_attribute("error.type", type(exc).__name__)
            raise
        s.set_attribute("plusn.tool.status", "ok")
        return result


async def listed(tools: dict[str, Tool], ctx: ToolContext) -> dict[str, Tool]:
    """The tools, with each MCP server that allows ``"*"`` replaced by the tools it lists now
    (none while it cannot be reached; a name another tool has already is left out)."""
    if not any(isinstance(t, McpServerTools) for t in tools.values()):
        return tools
    out = {n: t for n, t in tools.items() if not isinstance(t, McpServerTools)}
    for t in tools.values():
        if isinstance(t, McpServerTools):
            for tool in await t.expand(ctx):
                out.setdefault(tool.name, tool)
    return out


KINDS: dict[str, type[Tool]] = {"search": Search, "sql": SQL, "http": HTTP, "calculator": Calculator,
                                "clock": Clock, "skill": SkillTool, "agent": AgentTool}


def build(specs: list[ToolSpec]) -> dict[str, Tool]:
    out: dict[str, Tool] = {}
    for s in specs:
        if s.type != "mcp":
            out[s.tool_name()] = KINDS[s.type](s)
        elif isinstance(s.tools, list):
            out.update((s.prefix + t, McpTool(s, t)) for t in s.tools)
        else:  # "*": the server's tools, as it lists them (see listed)
            out[f"{s.server_label()}:*"] = McpServerTools(s)
    return out


def parameters(tool: Tool, ctx: ToolContext) -> dict[str, Any]:
    return tool.schema(ctx)
