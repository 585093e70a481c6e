"""OpenAI tool calls for models that have no tool format of their own (llama.cpp in-process).

The request's ``tools`` and ``tool_choice`` become a :class:`ToolPlan`. A call is one JSON
object, ``{"name": <tool>, "arguments": {...}}``, and :func:`call_schema` is the JSON schema
that a grammar holds the model to, so the name is always one of the tools and the arguments
always match that tool's ``parameters``. What the model wrote becomes OpenAI's ``tool_calls``
(:func:`call_from_text`), and, for a stream, the deltas OpenAI sends for them
(:func:`call_deltas`). Nothing here knows llama.cpp; ``llamacpp_tools`` does the model's part.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import InvalidRequest

# A description longer than this says nothing more to a small model, and costs prompt tokens.
_DESCRIPTION_CHARS = 400


@dataclass(frozen=True, slots=True)
class Function:
    """One callable tool: OpenAI's ``{"type": "function", "function": {...}}``."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolPlan:
    """What a request allows: ``required`` must call one of ``functions`` (one only when the
    client named it); ``auto`` may call one or answer in text."""

    functions: tuple[Function, ...]
    mode: Literal["auto", "required"]

    def named(self, name: str) -> Function | None:
        return next((f for f in self.functions if f.name == name), None)


def tool_plan(extra: dict[str, Any]) -> ToolPlan | None:
    """The plan for a request's ``tools`` and ``tool_choice`` (in its pass-through fields);
    None when no tool may be called (no tools, or ``tool_choice: "none"``)."""
    tools = extra.get("tools") or []
    # OpenAI's default is "auto" when tools are given.
    choice = extra.get("tool_choice") or "auto"
    if not tools or choice == "none":
        return None
    functions = tuple(_function(i, t) for i, t in enumerate(tools))
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") if choice.get("type") == "function" else None
        if not isinstance(name, str):
            raise InvalidRequest('tool_choice must be "none", "auto", "required" or '
                                 '{"type": "function", "function": {"name": ...}}', param="tool_choice")
        chosen = next((f for f in functions if f.name == name), None)
        if chosen is None:
            raise InvalidRequest(f"tool_choice names the function {name!r}, which is not among the tools "
                                 f"({', '.join(f.name for f in functions)})", param="tool_choice")
        return ToolPlan((chosen,), "required")
    if choice == "required":
        return ToolPlan(functions, "required")
    if choice != "auto":
        raise InvalidRequest(f"tool_choice {choice!r} is not one of none, auto, required", param="tool_choice")
    return ToolPlan(functions, "auto")


def _function(i: int, tool: Any) -> Function:
    fn = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(tool, dict) or tool.get("type", "function") != "function" or not isinstance(fn, dict):
        raise InvalidRequest(f"tools[{i}] must be {{\"type\": \"function\", \"function\": {{...}}}}; "
                             "this model calls functions only", param="tools")
    name = fn.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidRequest(f"tools[{i}].function.name is missing", param="tools")
    params = fn.get("parameters")
    if params is not None and not isinstance(params, dict):
        raise InvalidRequest(f"tools[{i}].function.parameters must be a JSON schema object", param="tools")
    description = str(fn.get("description") or "")[:_DESCRIPTION_CHARS]
    return Function(name, description, closed(params or {"type": "object", "properties": {}}))


def closed(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with ``additionalProperties: false`` on each object that leaves it unsaid: a
    small model given room invents keys, and the arguments still match the tool's schema."""
    out = copy.deepcopy(schema)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(out)
    return out


def call_schema(functions: tuple[Function, ...]) -> dict[str, Any]:
    """The JSON schema of one call to one of ``functions``: the name first, so that a grammar
    settles which tool before the arguments, and the arguments by that tool's schema."""
    variants = [{
        "type": "object",
        "properties": {"name": {"const": f.name}, "arguments": f.parameters},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    } for f in functions]
    return variants[0] if len(variants) == 1 else {"anyOf": variants}


def signature(f: Function) -> str:
    """A short, readable line for a tool: ``name(city: string, unit?: "c" | "f") - what it does``."""
    props = f.parameters.get("properties") or {}
    required = set(f.parameters.get("required") or [])
    args = []
    for key, spec in props.items():
        spec = spec if isinstance(spec, dict) else {}
        kind = " | ".join(json.dumps(v, ensure_ascii=False) for v in spec["enum"]) if "enum" in spec \
            else str(spec.get("type") or "any")
        note = f" ({spec['description']})" if spec.get("description") else ""
        args.append(f"{key}{'' if key in required else '?'}: {kind}{note}")
    return f"{f.name}({', '.join(args)})" + (f" - {f.description}" if f.description else "")


def tools_prompt(functions: tuple[Function, ...]) -> str:
    """The system prompt's part that shows the tools and the form of a call."""
    lines = "\n".join(f"- {signature(f)}" for f in functions)
    return (f"You can call these tools:\n{lines}\n"
            'To call a tool, reply with a JSON object: {"name": <tool name>, "arguments": {<argument>: <value>}}. '
            "Take the argument values from the user's words.")


def new_call_id() -> str:
    return f"call_{os.urandom(12).hex()}"


def tool_call(name: str, arguments: str) -> dict[str, Any]:
    """One entry of OpenAI's ``tool_calls``; ``arguments`` is a JSON string, as OpenAI sends it."""
    return {"id": new_call_id(), "type": "function", "function": {"name": name, "arguments": arguments}}


_HEAD = re.compile(r'\A\s*\{\s*"name"\s*:\s*("(?:[^"\\]|\\.)*")\s*,\s*"arguments"\s*:\s*', re.S)


def call_from_text(text: str) -> dict[str, Any] | None:
    """The tool call a model wrote under the grammar of :func:`call_schema`; None when the text
    holds no name at all. A call cut short (``max_tokens``) keeps its arguments as written,
    unfinished, as OpenAI does with ``finish_reason: "length"``."""
    try:
        obj = json.loads(text)
    except ValueError:
        m = _HEAD.match(text)
        if m is None:
            return None
        return tool_call(json.loads(m.group(1)), text[m.end():])
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None
    return tool_call(obj["name"], json.dumps(obj.get("arguments", {}), ensure_ascii=False))


def call_deltas(calls: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The stream deltas of whole calls, as OpenAI sends them: for each call, its index, id,
    type and name with empty arguments, then its arguments."""
    out: list[list[dict[str, Any]]] = []
    for i, c in enumerate(calls):
        fn = c.get("function") or {}
        out.append([{"index": i, "id": c.get("id"), "type": c.get("type", "function"),
                     "function": {"name": fn.get("name", ""), "arguments": ""}}])
        if fn.get("arguments"):
            out.append([{"index": i, "function": {"arguments": fn["arguments"]}}])
    return out
