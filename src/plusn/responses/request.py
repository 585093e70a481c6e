"""A Responses API request (``POST /v1/responses``) and the chat request it becomes.

The Responses API carries the same things as Chat Completions in other clothes: ``input``
items instead of messages, ``instructions`` instead of a system message, ``text.format``
instead of ``response_format``, function tools without the ``function`` wrapper, and a
``previous_response_id`` that stands for the conversation so far. plusn translates it into the
chat request every route already serves, so dispatch, skills, agents, safety, the cache and
the ledger work unchanged. What it cannot serve (built-in tools, background runs, reasoning
effort) is a 400 that names the parameter.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from ..errors import InvalidRequest
from ..fleet.backend import GenRequest
from ..protocol import _Request

# Fields a client may send that change nothing here (who the end user is, cache hints, tiers).
_IGNORED = {"user", "metadata", "service_tier", "prompt_cache_key", "safety_identifier", "store", "stream_options",
            "parallel_tool_calls", "max_tool_calls", "include", "truncation", "top_logprobs"}
# Fields plusn cannot honour when they ask for something: refused, by name.
_REFUSED = {
    "background": "background responses are not served; send the request and wait for it",
    "conversation": "conversation objects are not served; chain responses with previous_response_id",
    "prompt": "stored prompt templates are not served; send instructions and input",
    "reasoning": "the models served here do not take a reasoning effort",
}


class ResponsesRequest(_Request):
    model: str = Field(min_length=1)
    input: str | list[dict[str, Any]] = ""
    instructions: str | None = None
    previous_response_id: str | None = None
    tools: list[dict[str, Any]] = Field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    text: dict[str, Any] | None = None
    max_output_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    stream: bool = False
    store: bool = True
    metadata: dict[str, Any] | None = None

    def refuse_unserved(self) -> None:
        for name, value in (self.model_extra or {}).items():
            if value in (None, False, {}, [], "") or name in _IGNORED:
                continue
            why = _REFUSED.get(name)
            if why is not None:
                raise InvalidRequest(f"{name}: {why}", param=name, code="unsupported_parameter")
        if (self.model_extra or {}).get("truncation") not in (None, "disabled", "auto"):
            raise InvalidRequest("truncation: only 'disabled' and 'auto' are served", param="truncation")


def _text_of(content: Any, where: str) -> str | list[dict[str, Any]]:
    """A message's content as chat content: a string, or parts (text and images)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InvalidRequest(f"{where}.content must be a string or a list of parts", param=f"{where}.content")
    parts: list[dict[str, Any]] = []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "input_image":
            url = part.get("image_url") or part.get("file_id")
            parts.append({"type": "image_url", "image_url": {"url": url}})
        else:
            raise InvalidRequest(f"{where}.content[{i}]: parts of type {kind!r} are not served; send input_text "
                                 "or input_image", param=f"{where}.content[{i}].type")
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _message(item: dict[str, Any], where: str) -> dict[str, Any]:
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        if role not in ("user", "assistant", "system", "developer"):
            raise InvalidRequest(f"{where}.role must be user, assistant, system or developer", param=f"{where}.role")
        return {"role": "system" if role == "developer" else role, "content": _text_of(item.get("content", ""), where)}
    if kind == "function_call":
        call = {"id": item.get("call_id") or item.get("id"), "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments") or "{}"}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    if kind == "function_call_output":
        output = item.get("output")
        return {"role": "tool", "tool_call_id": item.get("call_id"),
                "content": output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)}
    raise InvalidRequest(f"{where}: input items of type {kind!r} are not served; send messages, function_call and "
                         "function_call_output items", param=f"{where}.type")


def input_messages(body: ResponsesRequest) -> list[dict[str, Any]]:
    """The request's own input as chat messages (without instructions or earlier turns)."""
    if isinstance(body.input, str):
        return [{"role": "user", "content": body.input}] if body.input else []
    out: list[dict[str, Any]] = []
    for i, item in enumerate(body.input):
        if not isinstance(item, dict):
            raise InvalidRequest(f"input[{i}] must be an object", param=f"input[{i}]")
        if item.get("type") == "reasoning":  # a client echoing reasoning items back: nothing to read
            continue
        message = _message(item, f"input[{i}]")
        if message.get("tool_calls") and out and out[-1].get("tool_calls") and out[-1].get("content") is None:
            out[-1]["tool_calls"].extend(message["tool_calls"])  # parallel calls: one assistant turn
        else:
            out.append(message)
    return out


def chat_tools(body: ResponsesRequest) -> tuple[list[dict[str, Any]] | None, Any]:
    """Function tools and the tool choice in Chat Completions' shape."""
    tools = []
    for i, tool in enumerate(body.tools):
        if tool.get("type") != "function":
            raise InvalidRequest(f"tools[{i}]: tools of type {tool.get('type')!r} are not served; only function "
                                 "tools (MCP servers are configured on agents)", param=f"tools[{i}].type")
        fn = {k: tool[k] for k in ("name", "description", "parameters", "strict") if tool.get(k) is not None}
        tools.append({"type": "function", "function": fn})
    choice = body.tool_choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        choice = {"type": "function", "function": {"name": choice.get("name")}}
    elif isinstance(choice, dict):
        raise InvalidRequest(f"tool_choice of type {choice.get('type')!r} is not served", param="tool_choice")
    return tools or None, choice


def response_format(body: ResponsesRequest) -> dict[str, Any] | None:
    fmt = (body.text or {}).get("format")
    if not fmt or fmt.get("type") == "text":
        return None
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    if fmt.get("type") == "json_schema":
        if not isinstance(fmt.get("schema"), dict):
            raise InvalidRequest("text.format of type json_schema needs a schema", param="text.format.schema")
        return {"type": "json_schema", "json_schema": {"name": fmt.get("name", "response"), "schema": fmt["schema"],
                                                        "strict": fmt.get("strict")}}
    raise InvalidRequest(f"text.format of type {fmt.get('type')!r} is not served; use text, json_object or "
                         "json_schema", param="text.format.type")


def to_chat(body: ResponsesRequest, earlier: list[dict[str, Any]]) -> tuple[GenRequest, list[dict[str, Any]]]:
    """The chat request, and the conversation to keep for a later ``previous_response_id``
    (earlier turns and this input, without the instructions, which are not carried over)."""
    body.refuse_unserved()
    conversation = [*earlier, *input_messages(body)]
    if not conversation or conversation[-1].get("role") not in ("user", "tool"):
        raise InvalidRequest("input must end with a user message or a function_call_output", param="input")
    messages = ([{"role": "system", "content": body.instructions}] if body.instructions else []) + conversation
    tools, choice = chat_tools(body)
    extra: dict[str, Any] = {}
    if tools is not None:
        extra["tools"] = tools
    if choice is not None:
        extra["tool_choice"] = choice
    req = GenRequest("chat", messages, max_tokens=body.max_output_tokens, temperature=body.temperature,
                     top_p=body.top_p, response_format=response_format(body), extra=extra)
    return req, conversation
