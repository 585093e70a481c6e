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

from ..agents.quantities import chinese_number
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

    @property
    def marks(self) -> Marks:
        return marks_of(self.text)


# Numbers (Arabic; Chinese of two characters or more, or one that cannot be a word's part like
# 一下; English number words) and Latin words, for marks_of.
_EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
               "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "thirty": 30, "hundred": 100}
_NUMBER = re.compile(r"\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万点]{2,}|[二两三四五六七八九十]|\b(?:"
                     + "|".join(_EN_NUMBERS) + r")\b", re.IGNORECASE)
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_CJK = re.compile(r"[\u3400-\u9fff]")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+)\W*$")


@dataclass(frozen=True, slots=True)
class Marks:
    """What a question's embedding blurs and its answer turns on: its numbers (years, amounts,
    versions, dates) and its names (product names, codes). Kept as hashes: the cache stores no
    question text."""

    numbers: str
    names: str  # "" when the question names nothing

    def agree(self, other: Marks) -> bool:
        """Numbers must be the same; names too, where both name something (a name written in
        lower case is not seen as one, so one side naming nothing says nothing)."""
        return self.numbers == other.numbers and (not self.names or not other.names or self.names == other.names)


def marks_of(text: str) -> Marks:
    text = unicodedata.normalize("NFKC", text)
    numbers = []
    for m in _NUMBER.finditer(text):
        word = m.group()
        value = float(word) if word[0].isdigit() else _EN_NUMBERS.get(word.lower()) or chinese_number(word)
        if value is not None:
            numbers.append(f"{float(value):g}")
    chinese = bool(_CJK.search(text))
    names = set()
    for m in _LATIN.finditer(text):
        word = m.group()
        # In Chinese text every Latin word is a name or a term; in English, a word with a digit or
        # an inner capital, or a capital that does not start a sentence ("I" is no name).
        capital = word[0].isupper() and word != "I" and not _SENTENCE_START.search(text[: m.start()])
        if chinese or capital or any(c.isdigit() for c in word) or word[1:] != word[1:].lower():
            names.add(word.casefold())
    return Marks(_digest(*sorted(numbers)), _digest(*sorted(names)) if names else "")


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
