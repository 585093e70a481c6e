"""The deterministic head: keyword, regex and exact-match rules, checked in order.

The traditional model keeps the head (frequent, well-understood requests answered the same way
every time, in microseconds); the LLM takes the long tail.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

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
            if exact and norm in exact:
                return RuleHit(spec.name, f"exact match {norm!r}", spec.answer, spec.route)
            for k in keywords:
                # whole words for Latin text; substring for CJK, which has no spaces
                if (f" {k} " in padded) if k.isascii() else (k in norm):
                    return RuleHit(spec.name, f"keyword {k!r}", spec.answer, spec.route)
            if regex is not None and (m := regex.search(text)):
                return RuleHit(spec.name, f"regex matched {m.group(0)[:40]!r}", spec.answer, spec.route)
        return None
