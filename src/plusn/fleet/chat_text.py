"""An OpenAI conversation as plain text turns, for chat templates that know only text.

Small models' chat templates (SmolLM2's among them) concatenate ``message['content']`` as a
string and know the roles system, user and assistant. OpenAI conversations carry more: content
as a list of parts, ``developer`` instructions, assistant turns that call tools and ``tool``
turns that give their results. Here each becomes text the template can render and the model can
read: parts joined, and each result written into the user's turn as ``Result of
get_weather({"city": "Paris"}): ...``. The assistant turn that made the call keeps only its
words: shown its own call as JSON, a 135M model answers the result with that JSON again, while
shown the question and the result together it answers the question. Parts that are not text
(images, audio, files) are refused with a 400 that names the model: a text model must never
answer as if it had seen them.
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
    calls: dict[str, str] = {}  # tool call id -> the call, as its result's turn names it
    out: list[dict[str, str]] = []
    for m in messages:
        role = m.get("role")
        text = _text(m.get("content"))
        if role in ("tool", "function"):
            call = calls.get(str(m.get("tool_call_id"))) or str(m.get("name") or "the tool")
            _add_user(out, f"Result of {call}: {text}")
            continue
        for c in (m.get("tool_calls") or []) if role == "assistant" else []:
            fn = c.get("function") or {}
            args = json.dumps(_arguments(fn.get("arguments")), ensure_ascii=False)
            calls[str(c.get("id"))] = f"{fn.get('name', 'the tool')}({args})"
        if role == "assistant" and m.get("tool_calls") and not text:
            continue
        if role == "user":
            _add_user(out, text)
            continue
        out.append({"role": "system" if role == "developer" else str(role), "content": text})
    return out


def _add_user(out: list[dict[str, str]], text: str) -> None:
    """A user turn, joined to the one before when that is the user's too (a question and the
    results that answer it read as one turn, and some templates insist that roles alternate)."""
    if out and out[-1]["role"] == "user":
        out[-1]["content"] += "\n\n" + text
    else:
        out.append({"role": "user", "content": text})


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


def called_since_user(messages: list[dict[str, Any]]) -> set[str] | None:
    """The tools called since the user last spoke, once a result has come back; None before."""
    called: set[str] = set()
    answered = False
    for m in reversed(messages):
        if m.get("role") == "user":
            break
        if m.get("role") in ("tool", "function"):
            answered = True
        for c in m.get("tool_calls") or []:
            called.add(str((c.get("function") or {}).get("name")))
    return called if answered else None


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
        if not raw.strip():  # a call without arguments, as some clients send it
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw if raw is not None else {}
