"""The tool-using agent: a bounded loop of model turns and tool calls.

Small local models rarely speak OpenAI's ``tools`` reliably, so the agent also has a text
protocol that they can follow: the system prompt lists the tools with their JSON arguments,
and the model replies either with one ``CALL {"tool": ..., "arguments": {...}}`` line or with
its answer. The parser is forgiving: it also accepts a bare JSON object with ``tool`` or
``name``, a ``<tool_call>`` block (the Hermes/Qwen style) and code fences. Results go back as
the next user turn. Steps, tokens and wall time are bounded; a tool error is shown to the
model, which may try again or answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import PlusnError
from ..fleet.backend import Call, GenRequest, Usage
from ..skills.backend import parse_json
from ..templating import render
from .spec import AgentSpec
from .tools import Tool, ToolContext, ToolError, call_traced, listed, parameters

log = logging.getLogger("plusn.agents")
PROTOCOL = """You can use these tools:
{tools}

To use a tool, reply with exactly one line and nothing else:
CALL {{"tool": "<tool name>", "arguments": {{...}}}}
You will get the result, and may call another tool. When you can answer, reply with the answer only."""

_CALL = re.compile(r"^\s*CALL\s*:?\s*(\{.*\})", re.S | re.M)
_TAGGED = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)


@dataclass
class ToolCall:
    tool: str
    arguments: dict[str, Any]


def parse_call(text: str, tools: set[str]) -> ToolCall | None:
    """The tool call in a model's reply, or None when the reply is an answer."""

    t = text.strip()
    candidates = []
    for rx in (_CALL, _TAGGED):
        m = rx.search(t)
        if m:
            candidates.append(m.group(1))
    if t.startswith(("{", "```")):
        candidates.append(t)
    for c in candidates:
        try:
            obj = parse_json(c)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        # {"tool": ...} is a call; {"name": ...} only with its arguments, since an ordinary JSON
        # answer may well have a "name" field.
        if "tool" not in obj and not ({"arguments", "args", "parameters"} & set(obj)):
            continue
        name = obj.get("tool") or obj.get("name")
        args = obj.get("arguments", obj.get("args", obj.get("parameters", {})))
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                args = {"input": args}
        if isinstance(name, str) and name in tools and isinstance(args, dict):
            return ToolCall(name, args)
    return None


@dataclass
class Outcome:
    text: str
    finish_reason: str = "stop"
    calls: list[Call] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    trace: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    model: str = ""


LIMIT = {"zh": "已达到本次任务的{what}上限（{n}），未能完成。目前的进展：{last}",
         "en": "Stopped at the {what} limit ({n}) before finishing. Progress so far: {last}"}
WHAT = {"zh": {"steps": "步数", "tokens": "token", "seconds": "时间（秒）"},
        "en": {"steps": "step", "tokens": "token", "seconds": "time (seconds)"}}


async def tool_list(spec: AgentSpec, tools: dict[str, Tool], ctx: ToolContext) -> str:
    lines = []
    for name, tool in tools.items():
        first, *more = (await tool.description(ctx)).split("\n", 1)
        lines.append(f"- {name}: {first}\n  arguments: {json.dumps(parameters(tool, ctx), ensure_ascii=False)}")
        if more:  # e.g. a database's schema
            lines.append("  " + more[0].replace("\n", "\n  "))
    return "\n".join(lines)


def native_tools(spec: AgentSpec, model: str, ctx: ToolContext) -> bool:
    """Whether to use OpenAI's ``tools`` (the model declares support) rather than the text protocol."""
    if spec.protocol != "auto":
        return spec.protocol == "openai"
    member = ctx.env.lookup(model)
    return bool(member is not None and member.capabilities.tools)


async def openai_tools(tools: dict[str, Tool], ctx: ToolContext) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": n, "description": await t.description(ctx),
                                              "parameters": parameters(t, ctx)}} for n, t in tools.items()]


def _native_calls(gen: Any, tools: set[str]) -> list[tuple[str, ToolCall | None, str]]:
    """(call id, the call or None when malformed, the raw name) for each OpenAI tool call."""
    out = []
    for i, c in enumerate(gen.tool_calls or []):
        fn = c.get("function") or {}
        name, raw = str(fn.get("name", "")), fn.get("arguments") or "{}"
        try:
            args = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            args = None
        call = ToolCall(name, args) if name in tools and isinstance(args, dict) else None
        out.append((str(c.get("id") or f"call_{i}"), call, name))
    return out


async def run_agent(spec: AgentSpec, model: str, tools: dict[str, Tool], ctx: ToolContext,
                    messages: list[dict[str, Any]], context: dict[str, Any]) -> Outcome:
    """Run the loop on a conversation; the answer, or a clear note of the limit that stopped it."""
    out = Outcome("", model=model)
    tools = await listed(tools, ctx)  # an MCP server that allows "*": the tools it lists now
    native = bool(tools) and native_tools(spec, model, ctx)
    system = render(spec.instructions, context) if spec.instructions else ""
    extra: dict[str, Any] = {}
    if native:
        extra = {"tools": await openai_tools(tools, ctx)}
    elif tools:
        system = f"{system}\n\n{PROTOCOL.format(tools=await tool_list(spec, tools, ctx))}".strip()
    convo = ([{"role": "system", "content": system}] if system else []) + \
        [m for m in messages if m.get("role") != "system"]
    deadline = time.monotonic() + spec.limits.seconds
    lang = spec.language
    last = ""
    for step in range(1, spec.limits.steps + 1):
        left = deadline - time.monotonic()
        if left <= 0:
            return _limit(out, "seconds", spec.limits.seconds, last, lang)
        t0 = time.perf_counter()
        try:
            # the caller's access travels on: the model may be a route grounded in a knowledge base
            step_req = GenRequest("chat", convo, extra=extra, viewer=ctx.viewer)
            gen, backend = await asyncio.wait_for(ctx.env.run(model, step_req), left)
        except TimeoutError:
            return _limit(out, "seconds", spec.limits.seconds, last, lang)
        out.calls += gen.calls or [backend.call_of(gen.usage, f"step {step}")]
        out.usage.prompt_tokens += gen.usage.prompt_tokens
        out.usage.completion_tokens += gen.usage.completion_tokens
        out.model = gen.model or model
        if native:
            calls = _native_calls(gen, set(tools))
        else:
            parsed = parse_call(gen.text, set(tools))
            calls = [("", parsed, parsed.tool)] if parsed else []
        out.trace.append({"step": step, "type": "model", "model": out.model, "protocol": "openai" if native else "text",
                          "ms": round((time.perf_counter() - t0) * 1000, 1)})
        if not calls:
            out.trace[-1]["answer"] = True
            out.text = gen.text.strip()
            return out
        last = gen.text.strip() or json.dumps(gen.tool_calls, ensure_ascii=False)[:300]
        results = [(cid, name, await _call_tool(call, name, tools, ctx, out)) for cid, call, name in calls]
        if native:
            convo = [*convo, {"role": "assistant", "content": gen.text or None, "tool_calls": gen.tool_calls},
                     *({"role": "tool", "tool_call_id": cid, "content": result} for cid, _, result in results)]
        else:
            convo = [*convo, {"role": "assistant", "content": gen.text.strip()},
                     {"role": "user", "content": f"RESULT of {results[0][1]}:\n{results[0][2]}"}]
        if out.usage.total_tokens >= spec.limits.tokens:
            return _limit(out, "tokens", spec.limits.tokens, results[-1][2], lang)
    return _limit(out, "steps", spec.limits.steps, last, lang)


async def _call_tool(call: ToolCall | None, name: str, tools: dict[str, Tool], ctx: ToolContext,
                     out: Outcome) -> str:
    """Run one call; its result, or the error as text for the model. Traced either way."""
    t1 = time.perf_counter()
    entry: dict[str, Any] = {"type": "tool", "tool": name}
    out.trace.append(entry)
    if call is None:
        entry["status"] = "error"
        entry["error"] = f"no tool {name!r} takes these arguments; tools: {', '.join(tools)}"
        return f"ERROR: {entry['error']}"
    entry["arguments"] = call.arguments
    entry["status"] = "error"
    try:
        res = await call_traced(tools[call.tool], call.arguments, ctx)
    except ToolError as exc:
        entry.update(exc.trace, error=str(exc))
        return f"ERROR: {exc}"
    except PlusnError as exc:
        entry["error"] = exc.message
        return f"ERROR: {exc.message}"
    except Exception as exc:
        log.exception("tool %s failed", name)
        entry["error"] = f"the tool failed ({type(exc).__name__})"
        return f"ERROR: {entry['error']}"
    finally:
        entry["ms"] = round((time.perf_counter() - t1) * 1000, 1)
    out.citations += res.citations
    out.calls += res.calls
    entry.update(status="ok", result=res.text[:300])
    entry.update(res.trace)  # the tool's own account wins (e.g. its output, redacted)
    return res.text


def _limit(out: Outcome, what: str, n: float, last: str, lang: str) -> Outcome:
    out.text = LIMIT[lang].format(what=WHAT[lang][what], n=int(n) if float(n).is_integer() else n,
                                  last=last[:300] or "-")
    out.finish_reason = "length"
    out.trace.append({"type": "limit", "limit": what, "value": n})
    return out
