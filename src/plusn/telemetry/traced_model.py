"""A model whose every call is a span, with the attributes of OpenTelemetry's GenAI semantic
conventions (operation, system, model, tokens) and plusn's cost. Models are wrapped only when
the deployment exports traces, so an untraced gateway pays nothing for it."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

from ..fleet.backend import Backend, Delta, Generation, GenRequest, Usage, Wrapper
from ..safety.redact import redact
from .spans import Span, current, span, start_span


def _with_text() -> bool:
    """Whether this deployment puts (redacted) prompt and answer text on spans."""
    tracing = current()
    return tracing is not None and tracing.record_text


class TracedModel(Wrapper):
    def __init__(self, inner: Backend, system: str) -> None:
        super().__init__(inner)
        self.system = system

    def _attributes(self, req: GenRequest) -> dict[str, Any]:
        attributes = {"gen_ai.operation.name": "chat" if req.kind == "chat" else "text_completion",
                      "gen_ai.system": self.system, "gen_ai.request.model": self.name,
                      "gen_ai.request.max_tokens": req.max_tokens, "gen_ai.request.temperature": req.temperature}
        if _with_text():
            prompt = req.prompt if req.kind == "completion" else json.dumps(req.messages, ensure_ascii=False)
            attributes["gen_ai.prompt"] = redact(prompt)[0]
        return attributes

    def _answer(self, s: Span, text: str) -> None:
        if _with_text():
            s.set_attribute("gen_ai.completion", redact(text)[0])

    def _finish(self, s: Span, usage: Usage, finish: str | None) -> None:
        s.set_attributes({"gen_ai.response.model": self.name, "gen_ai.usage.input_tokens": usage.prompt_tokens,
                          "gen_ai.usage.output_tokens": usage.completion_tokens,
                          "gen_ai.response.finish_reasons": [finish or "stop"],
                          "plusn.cost": self.settings.price.cost(usage.prompt_tokens, usage.completion_tokens)})

    async def generate(self, req: GenRequest) -> Generation:
        attributes = self._attributes(req)
        with span(f"{attributes['gen_ai.operation.name']} {self.name}", **attributes) as s:
            gen = await self.inner.generate(req)
            self._finish(s, gen.usage, gen.finish_reason)
            self._answer(s, gen.text)
            return gen

    async def stream(self, req: GenRequest) -> AsyncGenerator[Delta, None]:
        attributes = self._attributes(req)
        s = start_span(f"{attributes['gen_ai.operation.name']} {self.name}", **attributes)
        parts: list[str] | None = [] if _with_text() else None
        try:
            async for delta in self.inner.stream(req):
                if parts is not None:
                    parts.append(delta.text)
                if delta.usage is not None:
                    self._finish(s, delta.usage, delta.finish_reason)
                    if parts is not None:
                        self._answer(s, "".join(parts))
                yield delta
        except BaseException as exc:
            s.record_exception(exc)
            raise
        finally:
            s.end()
