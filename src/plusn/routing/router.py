"""The learned router as a Backend: predict each member's chance of success from the prompt,
then call the cheapest member that clears the threshold."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..fleet.backend import Composite, Generation, GenRequest, Lookup, sampled_member
from .cascade import MemberCall
from .estimator import Embed, SuccessEstimator
from .pacing import Pacer
from .policies import pick_cheapest
from .predict import predictor_from_config
from .spec import RouterSpec

if TYPE_CHECKING:
    from ..config import Price

class LearnedRouterBackend(Composite):
    def __init__(self, name: str, spec: RouterSpec, call: MemberCall, settings: Any, embed: Embed | None = None,
                 reference_price: Price | None = None, paced: bool = True) -> None:
        super().__init__(name, settings, None, context=None)
        self.spec = spec
        self.estimator = SuccessEstimator(predictor_from_config(spec.predictor), embed)
        self.models = spec.models()
        self._costs = np.array([float(spec.costs[m]) for m in self.models])
        self._order = np.argsort(self._costs, kind="stable")
        self.threshold = spec.threshold
        self._call = call
        self.pacer: Pacer | None = None
        if paced and spec.budget is not None and reference_price is not None:
            reference = spec.budget.reference or self.models[int(np.argmax(self._costs))]
            self.pacer = Pacer(spec.budget, reference, reference_price, spec.threshold)

    def with_threshold(self, name: str, threshold: float) -> LearnedRouterBackend:
        """The same router at a fixed threshold (pacing off)."""
        return LearnedRouterBackend(name, self.spec.model_copy(update={"threshold": threshold}), self._call,
                                    self.settings, embed=self.estimator.embed, paced=False)

    async def choose(self, req: GenRequest) -> tuple[str, dict[str, float], float]:
        """(model, every model's predicted chance, the threshold used)."""
        p = await self.estimator.predict(req)
        threshold = self.pacer.threshold() if self.pacer is not None else self.threshold
        idx = int(pick_cheapest(p[None, :], self._order, threshold)[0])
        return self.models[idx], dict(zip(self.models, np.round(p, 4).tolist(), strict=True)), threshold

    def sampled(self, temperature: float | None, lookup: Lookup) -> bool:
        return any(sampled_member(lookup, m, temperature) for m in self.models)

    async def generate(self, req: GenRequest) -> Generation:
        pacer = self.pacer
        fallback = pacer is not None and pacer.over_budget() and self.spec.budget and self.spec.budget.fallback
        if fallback:
            assert pacer is not None and self.spec.budget is not None and self.spec.budget.fallback is not None
            target, threshold = self.spec.budget.fallback, pacer.threshold()
            predicted: dict[str, float] = {}
            pacer.fallbacks += 1
            reason = f"budget spent: the fallback {target} serves until spending is back under the share"
        else:
            target, predicted, threshold = await self.choose(req)
            reason = f"cheapest model predicted to succeed with p >= {threshold:.4g}"
        gen, backend = await self._call(target, req)
        calls = [backend.call_of(gen.usage)]
        route: dict[str, Any] = {"router": self.name, "policy": self.spec.predictor["kind"] + " router",
                                 "threshold": round(threshold, 6), "chosen": target,
                                 "predicted_success": predicted.get(target), "predicted": predicted, "reason": reason}
        if pacer is not None:
            pacer.observe(calls[0].cost, gen.usage.prompt_tokens, [(backend.name, gen.usage.completion_tokens)],
                          move=not fallback)
            route["budget"] = pacer.describe()
        return Generation(gen.text, gen.finish_reason, gen.usage, backend.name, calls, route, gen.tool_calls)
