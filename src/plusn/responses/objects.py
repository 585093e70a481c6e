"""Response objects of the Responses API, built from an answer of the chat path."""

from __future__ import annotations

import json
import time
from typing import Any

from ..fleet.backend import Usage
from ..protocol import new_id
from .request import ResponsesRequest


def usage_of(usage: Usage) -> dict[str, Any]:
    return {"input_tokens": usage.prompt_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": usage.completion_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage.total_tokens}


def message_item(text: str, status: str = "completed", item_id: str | None = None) -> dict[str, Any]:
    return {"type": "message", "id": item_id or new_id("msg", "_"), "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}


def call_item(call: dict[str, Any]) -> dict[str, Any]:
    fn = call.get("function") or {}
    arguments = fn.get("arguments")
    return {"type": "function_call", "id": new_id("fc", "_"), "call_id": call.get("id") or new_id("call", "_"),
            "name": fn.get("name"), "status": "completed",
            "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments or {}, ensure_ascii=False)}


def output_items(text: str, tool_calls: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The answer as output items: its tool calls, else its text."""
    if tool_calls:
        return [call_item(c) for c in tool_calls]
    return [message_item(text)]


def as_messages(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Output items as the chat turns a later ``previous_response_id`` continues from."""
    calls = [{"id": i["call_id"], "type": "function", "function": {"name": i["name"], "arguments": i["arguments"]}}
             for i in items if i["type"] == "function_call"]
    if calls:
        return [{"role": "assistant", "content": None, "tool_calls": calls}]
    text = "".join(p["text"] for i in items if i["type"] == "message" for p in i["content"])
    return [{"role": "assistant", "content": text}]


def response_object(rid: str, body: ResponsesRequest, model: str, output: list[dict[str, Any]], finish: str,
                    usage: Usage | None, plusn: dict[str, Any] | None, status: str | None = None) -> dict[str, Any]:
    """The response, as ``responses.create`` returns it (and ``response.completed`` carries it)."""
    incomplete = finish == "length"
    obj: dict[str, Any] = {
        "id": rid, "object": "response", "created_at": int(time.time()),
        "status": status or ("incomplete" if incomplete else "completed"),
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": body.instructions, "max_output_tokens": body.max_output_tokens, "model": model,
        "output": output, "parallel_tool_calls": True, "previous_response_id": body.previous_response_id,
        "temperature": body.temperature, "top_p": body.top_p, "tool_choice": body.tool_choice or "auto",
        "tools": body.tools, "text": body.text or {"format": {"type": "text"}}, "store": body.store,
        "metadata": body.metadata or {}, "truncation": "disabled",
        "usage": usage_of(usage) if usage is not None else None,
    }
    if plusn is not None:
        obj["plusn"] = plusn
    return obj
