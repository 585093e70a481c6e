"""The learned router as a Backend: predict each member's chance of success from the prompt,
then call the cheapest member that clears the threshold."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..fleet.base import Composite, Generation, GenRequest, content_text
from .cascade import MemberCall
from .learned import SuccessModel, pick_cheapest


def prompt_of(req: GenRequest) -> str:
    """What routing looks at: the current user message plus the turn before it."""
    if req.kind == "completion":
        return req.prompt
    texts = [content_text(m.get("content")) for m in req.messages if m.get("role") in ("user", "assistant")]
    return "\n".join(texts[-3:])


class LearnedRouterBackend(Composite):
    def __init__(self, name: str, model: SuccessModel, costs: dict[str, float], threshold: float,
                 call: MemberCall, settings: Any) -> None:
        super().__init__(name, settings, None, context=None)
        self.model = model
        self.threshold = threshold
        self.costs = [float(costs[m]) for m in model.models]
        self._costs = np.array(self.costs)
        self._call = call

    def choose(self, req: GenRequest) -> tuple[str, dict[str, float]]:
        p = self.model.predict([prompt_of(req)])[0]
        idx = int(pick_cheapest(p[None, :], self._costs, self.threshold)[0])
        return self.model.models[idx], dict(zip(self.model.models, np.round(p, 4).tolist(), strict=True))

    async def generate(self, req: GenRequest) -> Generation:
        target, predicted = self.choose(req)
        gen, backend = await self._call(target, req)
        route = {"router": self.name, "threshold": self.threshold, "chosen": target,
                 "predicted_success": predicted[target], "predicted": predicted,
                 "reason": f"cheapest model predicted to succeed with p >= {self.threshold:g}"}
        return Generation(gen.text, gen.finish_reason, gen.usage, backend.name, [backend.call_of(gen.usage)], route)
