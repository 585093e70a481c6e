"""A model whose every call is a span, with the attributes of OpenTelemetry's GenAI semantic
conventions (operation, system, model, tokens) and plusn's cost. Models are wrapped only when
the deployment exports traces, so an untraced gateway pays nothing for it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from ..fleet.backend import Backend, Delta, Generation, GenRequest, Usage, Wrapper
from .spans import Span, span, start_span


class TracedModel(Wrapper):
    def __init__(self, inner: Backend, system: str) -> None:
        super().__init__(inner)
        self.system = system

    def _attributes(self, req: GenRequest) -> dict[str, Any]:
        return {"gen_ai.operation.name": "chat" if req.kind == "chat" else "text_completion",
                "gen_ai.system": self.system, "gen_ai.request.model": self.name,
                "gen_ai.request.max_tokens": req.max_tokens, "gen_ai.request.temperature": req.temperature}

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
            return gen

    async def stream(self, req: GenRequest) -> AsyncGenerator[Delta, None]:
        attributes = self._attributes(req)
        s = start_span(f"{attributes['gen_ai.operation.name']} {self.name}", **attributes)
        try:
            async for delta in self.inner.stream(req):
                if delta.usage is not None:
                    self._finish(s, delta.usage, delta.finish_reason)
                yield delta
        except BaseException as exc:
            s.record_exception(exc)
            raise
        finally:
            s.end()
