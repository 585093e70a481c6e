"""Budget pacing: move a cascade's acceptance threshold so that it spends a set share of what
always calling a reference model (usually the largest) would cost.

A threshold chosen offline spends whatever the live traffic makes it spend: on easier traffic
less than the budget, on harder traffic more. The pacer watches the money as requests finish
and nudges the threshold, on the scale of ``log(1 - threshold)``, by

    rate x (spent - share x reference cost) / mean reference cost

so each request that spends more than its share loosens the threshold a little and each that
spends less tightens it. This is stochastic approximation of the one root that matters (spent
= share x reference), the same idea as pacing an advertising budget.

It sees only what a live cascade sees: the calls it paid for, their tokens and the reference
model's price. The reference's cost for a request it did not call is its price for the
request's prompt tokens plus an answer of ``reference_output_tokens`` (measured offline on every
request of a sample, as ``plusn routes fit`` does), on every request, the ones it answered too. Without that figure, the answer length is
the first stage's times the ratio between the two on the requests the reference did answer.
(The mean of the reference's own answers here would overshoot: it is called on the hardest
requests, whose answers are longest; the ratio between two models on the same request moves
less. On GSM8K the offline mean was within 2% on 9 of 10 test halves, the ratio within 7%.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .spec import BudgetSpec

if TYPE_CHECKING:
    from ..config import Price

__all__ = ["Pacer"]

# The threshold stays within [min_threshold, 1 - 10^-6] (a cascade's verifier: at least 1/2,
# looser accepts coin flips); stricter cannot be told apart on real data.
LOWEST_U = math.log(1e-6)
# The running sum may go this far past those bounds, so spending that the bounds stopped the
# threshold from answering is still owed: when the only cheaper choice is the cheapest answer,
# alternating between it and escalation lands on the share instead of above it.
SLACK = 3.0
# How far past its share a paced policy may spend before its fallback takes over.
HARD_CAP = 0.02
BURST = 50


@dataclass
class Pacer:
    """The live state of one paced cascade (per process)."""

    spec: BudgetSpec
    reference: str  # the model name the reference's completions are recorded under
    price: Price
    threshold_start: float
    u: float = field(init=False)
    spent: float = 0.0
    reference_cost: float = 0.0
    requests: int = 0
    fallbacks: int = 0  # requests served by the fallback because the budget was spent
    _lengths: tuple[float, float] = (0.0, 0.0)  # on requests the reference answered: its tokens, the first's

    def __post_init__(self) -> None:
        self.highest_u = math.log(1.0 - self.spec.min_threshold)
        self.lowest_u = LOWEST_U
        self.u = self._clamp(math.log(max(1.0 - self.threshold_start, 1e-12)))
        self._u_start = self.u
        if self.spec.mode == "cap":
            self.lowest_u = min(self.u, self.highest_u)
        self.threshold_start = self.threshold()  # as clamped

    def _clamp(self, u: float, slack: float = 0.0) -> float:
        lowest = self.lowest_u - (slack if self.spec.mode == "target" else 0.0)
        return min(max(u, lowest), self.highest_u + slack)

    def threshold(self) -> float:
        return 1.0 - math.exp(self._clamp(self.u))

    def over_budget(self) -> bool:
        """Whether the policy must serve its fallback instead of spending more: the threshold is
        already at its loosest and spending is still over the share, or spending is more than
        ``HARD_CAP`` past the share whatever the threshold (the pacer moves a little per request;
        this keeps a slow start or a run of hard requests from overspending meanwhile)."""
        owed = self.spec.share * self.reference_cost
        if self.u >= self.highest_u and self.spent > owed:
            return True
        # for the first BURST requests, one request to the reference is allowed on top, so a
        # single dear request early on does not hand the next ones to the fallback
        burst = self.reference_cost / self.requests if 0 < self.requests < BURST else 0.0
        return self.spent > (1 + HARD_CAP) * owed + burst

    def length_ratio(self) -> float:
        ref, first = self._lengths
        return ref / first if first > 0 else 1.0

    def observe(self, spent: float, prompt_tokens: int, completions: list[tuple[str, int]],
                move: bool = True) -> None:
        """One finished request: what it cost, its prompt tokens, and each call's (model,
        completion tokens), first stage first. ``move=False`` (a request the fallback served)
        counts the money but leaves the threshold: that request says nothing about it."""
        first = completions[0][1] if completions else 0
        answered = [tokens for model, tokens in completions if model == self.reference]
        if answered:
            self._lengths = (self._lengths[0] + answered[-1], self._lengths[1] + first)
        ratios = self.spec.output_ratios
        if completions and completions[0][0] in ratios:
            # from this request's first answer, which every request has (the later ones only
            # the hard requests): tracks traffic easier or harder than the sample's
            expected = ratios[completions[0][0]] * completions[0][1]
        elif self.spec.reference_output_tokens is not None:
            # the offline mean on every request, even those the reference answered: its real
            # answers come from the hardest requests, and mixing them in would overstate what it
            # costs, so the policy would overspend
            expected = self.spec.reference_output_tokens
        elif answered:
            expected = float(answered[-1])
        else:
            expected = self.length_ratio() * first
        ref = self.price.cost(prompt_tokens, round(expected))
        self.requests += 1
        self.spent += spent
        self.reference_cost += ref
        mean_ref = self.reference_cost / self.requests
        if mean_ref <= 0:
            return
        allowed = self.spec.share * mean_ref  # what one request may spend
        if self.spec.mode == "cap":
            # never stricter than fitted; looser by `rate` for each request's allowance the
            # spending is past the share, beyond one request to the reference (a single dear
            # request early on is not a trend); back to the fitted threshold as the debt clears
            excess = max(0.0, self.spent - self.spec.share * self.reference_cost - mean_ref)
            self.u = self._clamp(self._u_start + self.spec.rate * excess / allowed)
        elif move:
            self.u = self._clamp(self.u + self.spec.rate * (spent - self.spec.share * ref) / mean_ref, SLACK)

    def describe(self) -> dict[str, float]:
        """For the route block: the share asked for, the share spent so far, the threshold now."""
        return {"share": self.spec.share,
                "spent_share": round(self.spent / self.reference_cost, 4) if self.reference_cost else 0.0,
                "threshold": round(self.threshold(), 6), "fallbacks": self.fallbacks}
