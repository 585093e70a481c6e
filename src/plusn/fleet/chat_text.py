"""An OpenAI conversation as plain text turns, for chat templates that know only text.

Small models' chat templates (SmolLM2's among them) concatenate ``message['content']`` as a
string and know the roles system, user and assistant. OpenAI conversations carry more: content
as a list of parts, ``developer`` instructions, assistant turns that call tools and ``tool``
turns that give their results. Here each becomes a text turn the template can render and the
model can read: parts joined, a call written as the JSON the model itself would write, a result
as a user turn naming its tool. Parts that are not text (images, audio, files) are refused with
a 400 that names the model: a text model must never answer as if it had seen them.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidRequest
from .backend import media_part

_TEXT_PARTS = ("text", "input_text", "output_text", "refusal")


def plain_messages(messages: list[dict[str, Any]], model: str) -> list[dict[str, str]]:
    """``messages`` as ``{"role", "content"}`` text turns with roles system, user, assistant."""
    found = media_part(messages)
    if found is not None:
        raise media_refused(model, *found)
    names: dict[str, str] = {}  # tool call id -> the tool's name, to say whose result a turn is
    out: list[dict[str, str]] = []
    results_at = -1  # the index in ``out`` of the turn holding the latest run of results
    for m in messages:
        role = m.get("role")
        text = _text(m.get("content"))
        if role in ("tool", "function"):
            name = m.get("name") or names.get(str(m.get("tool_call_id")), "the tool")
            turn = f"Result of {name}:\n{text}"
            if results_at == len(out) - 1 >= 0:  # results of parallel calls: one turn
                out[-1]["content"] += "\n\n" + turn
            else:
                out.append({"role": "user", "content": turn})
                results_at = len(out) - 1
            continue
        if role == "assistant" and m.get("tool_calls"):
            calls = []
            for c in m["tool_calls"]:
                fn = c.get("function") or {}
                names[str(c.get("id"))] = str(fn.get("name", "the tool"))
                calls.append(json.dumps({"name": fn.get("name"), "arguments": _arguments(fn.get("arguments"))},
                                        ensure_ascii=False))
            text = "\n".join([text, *calls] if text else calls)
        out.append({"role": "system" if role == "developer" else str(role), "content": text})
    return out


def media_refused(model: str, where: str, kind: str) -> InvalidRequest:
    """The 400 for a part a text model cannot read, naming the model and the part."""
    return InvalidRequest(
        f"model {model!r} reads text only, and {where} is a part of type {kind!r}; send text, or choose a "
        "model whose capabilities include vision in /v1/models", param="messages", code="unsupported_for_model")


def with_system(messages: list[dict[str, str]], text: str) -> list[dict[str, str]]:
    """The conversation with ``text`` added to its system prompt (one is made if it has none)."""
    if messages and messages[0]["role"] == "system":
        first = messages[0]["content"]
        return [{"role": "system", "content": f"{first}\n\n{text}" if first else text}, *messages[1:]]
    return [{"role": "system", "content": text}, *messages]


def after_tool_result(messages: list[dict[str, Any]]) -> bool:
    """Whether a tool's result has come back since the user last spoke."""
    for m in reversed(messages):
        if m.get("role") in ("tool", "function"):
            return True
        if m.get("role") == "user":
            return False
    return False


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or p.get("refusal") or "") for p in content
                       if isinstance(p, dict) and p.get("type", "text") in _TEXT_PARTS)
    return str(content)


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw if raw is not None else {}
