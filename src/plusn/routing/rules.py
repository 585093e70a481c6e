"""The deterministic head: keyword, regex and exact-match rules, checked in order.

The traditional model keeps the head (frequent, well-understood requests answered the same way
every time, in microseconds); the LLM takes the long tail.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ..templating import TemplateProblem, render
from .spec import RuleSpec


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().strip()
    return re.sub(r"[\s\W_]+", " ", text).strip()


@dataclass(frozen=True)
class RuleHit:
    rule: str
    why: str
    answer: str | None
    route: str | None


def _keyword(keywords: list[str], norm: str, padded: str) -> str | None:
    """The first keyword in the text: whole words for Latin text, substrings for CJK (no spaces)."""
    for k in keywords:
        if (f" {k} " in padded) if k.isascii() else (k in norm):
            return k
    return None


class Rules:
    def __init__(self, specs: list[RuleSpec]) -> None:
        self._rules = [
            (s, [normalise(k) for k in s.keywords], re.compile(s.regex) if s.regex else None,
             {normalise(e) for e in s.exact})
            for s in specs
        ]

    def match(self, text: str) -> RuleHit | None:
        """The first rule that matches the user's message, with the reason."""
        norm = normalise(text)
        padded = f" {norm} "
        for spec, keywords, regex, exact in self._rules:
            why: str | None = None
            groups: dict[str, Any] = {}
            if exact and norm in exact:
                why = f"exact match {norm!r}"
            elif (k := _keyword(keywords, norm, padded)) is not None:
                why = f"keyword {k!r}"
            elif regex is not None and (m := regex.search(text)):
                why, groups = f"regex matched {m.group(0)[:40]!r}", m.groupdict()
            if why is None:
                continue
            answer = spec.answer
            if answer is not None and ("{{" in answer or "{%" in answer):
                try:
                    answer = render(answer, {**spec.values, **groups, "text": text})
                except TemplateProblem:
                    continue  # e.g. a phrasing the lookup tables do not cover: leave it to the next stage
            return RuleHit(spec.name, why, answer, spec.route)
        return None
