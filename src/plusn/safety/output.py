"""The output guard: content-safety categories checked on replies, incrementally on streams.

Categories are phrase lists and regular expressions, per deployment (``safety.categories``),
on top of a small built-in set of unambiguous phrases in Chinese and English. A stream is
checked each time a sentence ends or a few dozen characters have arrived, over the text so
far; on a match it stops the model and ends the stream with ``finish_reason:
"content_filter"`` and an error event naming the category. The piece that completes a match is
never sent.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from typing import Any

from ..errors import PlusnError
from ..fleet.backend import Backend, Delta, Generation, GenRequest
from .audit import note

# Deliberately narrow: phrases with no everyday reading. Deployments add their own.
BUILTIN: dict[str, list[str]] = {
    "violence": ["how to make a pipe bomb", "制作炸弹的步骤", "自制炸药的方法"],
    "self_harm": ["最无痛的自杀方法", "painless way to kill yourself", "how to kill yourself"],
    "illegal": ["制毒的步骤", "how to synthesize methamphetamine", "how to cook meth"],
}

WINDOW = 512  # characters of the reply so far that each check reads


class OutputBlocked(PlusnError):
    status = 400
    type = "invalid_request_error"
    code = "content_filter"
    finish_reason = "content_filter"


class Categories:
    def __init__(self, extra: dict[str, Any] | None = None, builtin: bool = True) -> None:
        self.patterns: list[tuple[str, re.Pattern[str]]] = []
        merged: dict[str, list[str]] = {k: list(v) for k, v in BUILTIN.items()} if builtin else {}
        regexes: dict[str, list[str]] = {}
        for name, spec in (extra or {}).items():
            merged.setdefault(name, []).extend(spec.get("phrases", []))
            if spec.get("regex"):
                regexes.setdefault(name, []).append(spec["regex"])
        for name, phrases in merged.items():
            if phrases:
                self.patterns.append((name, re.compile("|".join(re.escape(p) for p in phrases), re.I)))
        for name, rs in regexes.items():
            self.patterns.extend((name, re.compile(r, re.I)) for r in rs)

    def match(self, text: str) -> str | None:
        for name, pattern in self.patterns:
            if pattern.search(text):
                return name
        return None


class OutputGuard(Backend):
    """A backend whose replies pass the output categories."""

    def __init__(self, inner: Backend, categories: Categories, action: str) -> None:
        super().__init__(inner.name, inner.settings, inner.options, context=inner.context)
        self.inner = inner
        self.categories = categories
        self.action = action

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _judge(self, text: str) -> None:
        category = self.categories.match(text)
        if category is None:
            return
        note("output", category=category, action="blocked" if self.action == "block" else "flagged",
             target=self.inner.name)
        if self.action == "block":
            raise OutputBlocked(f"the reply was stopped by the safety policy (category: {category})")

    async def generate(self, req: GenRequest) -> Generation:
        gen = await self.inner.generate(req)
        self._judge(gen.text)
        return gen

    async def stream(self, req: GenRequest) -> AsyncGenerator[Delta, None]:
        text = ""
        gen = self.inner.stream(req)
        flagged = False
        try:
            async for d in gen:
                text += d.text
                # Every piece is checked before it is passed on, over a window that holds any
                # phrase that can have just been completed, so the cost stays linear.
                if d.text and not flagged:
                    window = text[-WINDOW:]
                    flagged = self.categories.match(window) is not None
                    self._judge(window)  # raises when blocking
                yield d
        finally:
            await gen.aclose()
