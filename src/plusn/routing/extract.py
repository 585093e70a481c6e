"""Final-answer extraction, so answers from different models can be compared.

Configurable as ``{type: last_number}``, ``{type: json_field, field: answer}``,
``{type: regex, pattern: "Answer: (.*)"}`` or ``{type: text}`` (whole text, normalised, compared
by similarity).
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_NUMBER = re.compile(r"[-−]?\d[\d,，]*(?:\.\d+)?(?:/\d+)?")


class Extractor(BaseModel):
    """How to pull the final answer out of a reply, and when two answers are the same."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["last_number", "json_field", "regex", "text"] = "last_number"
    field: str | None = None  # json_field: dotted path
    pattern: str | None = None  # regex: group 1 (or the whole match)
    # text: two normalised answers agree at or above this similarity (0..1)
    similarity: float = Field(0.9, ge=0, le=1)

    def extract(self, text: str | float | None) -> str | None:
        """The normalised final answer, or None when there is none."""
        if text is None:
            return None
        if not isinstance(text, str):  # an outcome file may record 42 rather than "42"
            text = str(text)
        if self.type == "last_number":
            return last_number(text)
        if self.type == "json_field":
            return _json_field(text, self.field or "answer")
        if self.type == "regex":
            m = list(re.finditer(self.pattern or r"(.+)", text, re.S))
            if not m:
                return None
            last = m[-1]
            return _normalise(last.group(1) if last.groups() else last.group(0)) or None
        return _normalise(text) or None

    def same(self, a: str | None, b: str | None) -> bool:
        """Whether two extracted answers count as agreeing."""
        if a is None or b is None:
            return False
        if self.type != "text":
            return a == b
        return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= self.similarity


def last_number(text: str) -> str | None:
    """The last number in the text, canonical ("1,000.50" -> "1000.5", "3/4" -> "0.75")."""
    found = _NUMBER.findall(unicodedata.normalize("NFKC", text))
    if not found:
        return None
    raw = found[-1].replace(",", "").replace("，", "").replace("−", "-")
    try:
        if "/" in raw:
            num, den = raw.split("/")
            value = float(num) / float(den)
        else:
            value = float(raw)
    except (ValueError, ZeroDivisionError):
        return raw
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(round(value, 6))


def _json_field(text: str, path: str) -> str | None:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        value = json.loads(text[start : end + 1])
    except ValueError:
        return None
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return _normalise(value if isinstance(value, str) else json.dumps(value, sort_keys=True))


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().strip()
    text = re.sub(r"\s+", " ", text)
    return text.strip(" .。!！?？'\"`")
