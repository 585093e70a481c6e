"""Redact PII and secrets before a request leaves for a remote model; restore them in the reply.

Every backend whose ``capabilities.remote`` is true is wrapped when the fleet is built (unless
``safety.redact_remote`` is off), so every path to it (a plain model, a cascade stage, a
grounded route) is covered. What was redacted is recorded as a safety decision (kinds and
counts only, never the values).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator
from typing import Any

from ..fleet.backend import Backend, Delta, Generation, GenRequest, Wrapper
from .audit import note
from .redact import StreamRestorer, Vault, redact, restore


def redact_request(req: GenRequest, vault: Vault) -> tuple[GenRequest, dict[str, int]]:
    kinds: dict[str, int] = {}

    def clean(text: str) -> str:
        out, found = redact(text, vault)
        for f in found:
            kinds[f.kind] = kinds.get(f.kind, 0) + 1
        return out

    if req.kind == "completion":
        return dataclasses.replace(req, prompt=clean(req.prompt)), kinds
    messages = []
    for m in req.messages:
        content = m.get("content")
        if isinstance(content, str):
            m = {**m, "content": clean(content)}
        elif isinstance(content, list):
            m = {**m, "content": [{**p, "text": clean(p["text"])} if isinstance(p, dict) and isinstance(
                p.get("text"), str) else p for p in content]}
        messages.append(m)
    return dataclasses.replace(req, messages=messages), kinds


class RedactingBackend(Wrapper):
    """A remote backend seen through redaction; everything else is the inner backend's."""

    def __init__(self, inner: Backend, *, restore: bool = True) -> None:
        super().__init__(inner)
        self.restore = restore

    def _redact(self, req: GenRequest) -> tuple[GenRequest, Vault]:
        vault = Vault()
        clean, kinds = redact_request(req, vault)
        if kinds:
            note("redact", category="pii_or_secret", action="redacted", target=self.name,
                 detail={k: v for k, v in sorted(kinds.items())})
        return clean, vault

    async def generate(self, req: GenRequest) -> Generation:
        clean, vault = self._redact(req)
        gen = await self.inner.generate(clean)
        if self.restore and vault.by_placeholder:
            calls = None
            if gen.tool_calls:  # a tool's arguments may quote what was redacted
                calls = [{**c, "function": {**c.get("function", {}), "arguments": restore(
                    str(c.get("function", {}).get("arguments", "")), vault)}} for c in gen.tool_calls]
            gen = dataclasses.replace(gen, text=restore(gen.text, vault), tool_calls=calls)
        return gen

    async def stream(self, req: GenRequest) -> AsyncGenerator[Delta, None]:
        clean, vault = self._redact(req)
        restorer = StreamRestorer(vault) if (self.restore and vault.by_placeholder) else None
        arguments: dict[int, StreamRestorer] = {}  # a tool call's arguments arrive in pieces too
        async for d in self.inner.stream(clean):
            if restorer is not None:
                if d.tool_calls:
                    d = dataclasses.replace(d, tool_calls=[_restored(f, arguments, vault) for f in d.tool_calls])
                if d.finish_reason:
                    for index, held in arguments.items():
                        rest = held.flush()
                        if rest:
                            yield Delta(tool_calls=[{"index": index, "function": {"arguments": rest}}])
                d = dataclasses.replace(d, text=restorer.feed(d.text))
                if d.finish_reason:
                    d = dataclasses.replace(d, text=d.text + restorer.flush())
            yield d


def _restored(fragment: dict[str, Any], restorers: dict[int, StreamRestorer], vault: Vault) -> dict[str, Any]:
    fn = fragment.get("function")
    if not isinstance(fn, dict) or not isinstance(fn.get("arguments"), str):
        return fragment
    held = restorers.setdefault(int(fragment.get("index", 0)), StreamRestorer(vault))
    return {**fragment, "function": {**fn, "arguments": held.feed(fn["arguments"])}}
