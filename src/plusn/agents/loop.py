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
import re
import time
from dataclasses import dataclass, field
from typing import Any

from ..fleet.base import Call, GenRequest, Usage
from ..templating import render
from .spec import AgentSpec
from .tools import Tool, ToolContext, ToolError, parameters

PROTOCOL = """You can use these tools:
{tools}

To use a tool, reply with exactly one line and nothing else:
CALL {{"tool": "<tool name>", "arguments": {{...}}}}
You will get the result, and may call another tool. When you can answer, reply with the answer only."""

_CALL = re.compile(r"CALL\s*:?\s*(\{.*\})", re.S)
_TAGGED = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)


@dataclass
class ToolCall:
    tool: str
    arguments: dict[str, Any]


def parse_call(text: str, tools: set[str]) -> ToolCall | None:
    """The tool call in a model's reply, or None when the reply is an answer."""
    from ..skills.backend import parse_json

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


async def run_agent(spec: AgentSpec, model: str, tools: dict[str, Tool], ctx: ToolContext,
                    messages: list[dict[str, Any]], context: dict[str, Any]) -> Outcome:
    """Run the loop on a conversation; the answer, or a clear note of the limit that stopped it."""
    out = Outcome("", model=model)
    system = render(spec.instructions, context) if spec.instructions else ""
    if tools:
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
            gen, backend = await asyncio.wait_for(ctx.fleet.run(model, GenRequest("chat", convo)), left)
        except TimeoutError:
            return _limit(out, "seconds", spec.limits.seconds, last, lang)
        out.calls += gen.calls or [backend.call_of(gen.usage, f"step {step}")]
        out.usage.prompt_tokens += gen.usage.prompt_tokens
        out.usage.completion_tokens += gen.usage.completion_tokens
        out.model = gen.model or model
        call = parse_call(gen.text, set(tools))
        entry: dict[str, Any] = {"step": step, "type": "model", "model": out.model,
                                 "ms": round((time.perf_counter() - t0) * 1000, 1)}
        out.trace.append(entry)
        if call is None:
            entry["answer"] = True
            out.text = gen.text.strip()
            return out
        last = gen.text.strip()
        t1 = time.perf_counter()
        tool_entry: dict[str, Any] = {"step": step, "type": "tool", "tool": call.tool, "arguments": call.arguments}
        try:
            res = await tools[call.tool].call(call.arguments, ctx)
            result = res.text
            out.citations += res.citations
            out.calls += res.calls
            tool_entry["result"] = result[:300]
        except ToolError as exc:
            result = f"ERROR: {exc}"
            tool_entry["error"] = str(exc)
        tool_entry["ms"] = round((time.perf_counter() - t1) * 1000, 1)
        out.trace.append(tool_entry)
        convo = [*convo, {"role": "assistant", "content": gen.text.strip()},
                 {"role": "user", "content": f"RESULT of {call.tool}:\n{result}"}]
        if out.usage.total_tokens >= spec.limits.tokens:
            return _limit(out, "tokens", spec.limits.tokens, result, lang)
    return _limit(out, "steps", spec.limits.steps, last, lang)


def _limit(out: Outcome, what: str, n: float, last: str, lang: str) -> Outcome:
    out.text = LIMIT[lang].format(what=WHAT[lang][what], n=int(n) if float(n).is_integer() else n,
                                  last=last[:300] or "-")
    out.finish_reason = "length"
    out.trace.append({"type": "limit", "limit": what, "value": n})
    return out
