"""What makes two requests the same to the cache.

A request is split into its *scope* (everything but the wording of its last question: who asks,
what is served, the earlier turns, the parameters, the versions of what answers) and the
*question*. An exact hit needs the same scope and the same question once normalised; a
semantic hit needs the same scope and a question alike in meaning. So a later turn of a
conversation can only hit when every earlier turn matches exactly, and nothing ever crosses
from one key to another.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_json

from ..fleet.backend import GenRequest, content_text

# Fields a client may send that never change the answer (who the end user is, tags).
_IGNORED = frozenset({"user", "metadata", "stream_options"})
# Fields that make an answer a tool call: never cached (n > 1 is refused at the edge).
_TOOLS = frozenset({"tools", "tool_choice", "functions", "function_call"})
_SPACE = re.compile(r"\s+")
# Closing punctuation says nothing about the question ("what is X" and "what is X?").
_TRAILING = ".?!。？！~～…"


@dataclass(frozen=True, slots=True)
class Question:
    """A request as the cache sees it."""

    scope: str  # a hash of everything that must match exactly
    key: str  # a hash of the scope and the normalised question
    text: str  # the question as asked (what a semantic lookup embeds)


def normalise(text: str) -> str:
    """The question with width, case, spacing and closing punctuation made uniform."""
    text = _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()
    return text.rstrip(_TRAILING + " ")


def uncacheable(req: GenRequest) -> str | None:
    """Why this request's answer must not be kept or reused (None: it may be)."""
    if _TOOLS & req.extra.keys():
        return "tools"
    if req.extra.get("logprobs"):
        return "logprobs"
    if req.kind == "chat":
        if not req.messages or req.messages[-1].get("role") != "user":
            return "the last message is not the user's"
        if any(m.get("role") == "tool" or m.get("tool_calls") for m in req.messages):
            return "tools"
    return None


def _digest(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p.encode())
        h.update(b"\x00")
    return h.hexdigest()


def question_of(req: GenRequest, context: tuple[str, ...]) -> Question:
    """The request's scope and question; ``context`` holds the parts that come from outside the
    request (the tenant, the served name, versions), already as strings."""
    if req.kind == "completion":
        earlier: Any = None
        text = req.prompt
    else:
        earlier = req.messages[:-1]
        text = content_text(req.messages[-1].get("content"))
    params = {
        "kind": req.kind, "earlier": earlier, "max_tokens": req.max_tokens, "temperature": req.temperature,
        "top_p": req.top_p, "stop": req.stop, "seed": req.seed, "response_format": req.response_format,
        "extra": {k: req.extra[k] for k in sorted(req.extra) if k not in _IGNORED} if req.extra else None,
    }
    # pydantic-core's JSON is a few times faster than json.dumps; a client sends its fields in
    # the same order each time, and the extra fields are sorted here.
    scope = _digest(*context, to_json(params, fallback=str).decode())
    return Question(scope, _digest(scope, normalise(text)), text)
