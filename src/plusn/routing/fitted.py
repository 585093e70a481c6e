"""The chosen policy, refitted on every training row, and written as plusn config.

:func:`refit` turns the setting cross-validation chose into the policy that ships: predictors
and the verifier fitted on all training rows, the knob as chosen. :func:`to_config` writes it
as the ``routers:``/``cascades:``/``routes:`` blocks ``plusn serve`` loads; the config carries
the fitted weights, so serving never trains. ``plusn eval routing`` builds the test half's
backends from the very same config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import policies as pol
from .extract import Extractor
from .predict import KnnPredictor, LogisticPredictor, Predictor, fit_scores
from .select import Folds, Point
from .table import Table, fit_verifier
from .verifiers import BayesVerifier


@dataclass
class FittedPolicy:
    """One served policy over recorded model names."""

    family: str  # single | router | knn | cascade | ladder | route-then-cascade
    label: str
    models: list[str]  # the rungs or the router's models, cheapest first
    knob: float  # the verifier's or the router's threshold
    start_threshold: float | None
    verifier: BayesVerifier | None
    predictor: Predictor | None
    costs: dict[str, float]  # each model's mean cost per request on the training rows
    extractor: Extractor
    floor: str | None  # the best single model within the budget: the pacer's fallback
    reference: str  # the model the budget is a share of
    point: Point

    def simulate(self, t: Table, X: np.ndarray) -> pol.Outcome:
        """What this policy does on recorded rows (the same decisions the backends make)."""
        idx = [t.models.index(m) for m in self.models]
        rows = np.arange(len(t.correct))
        if self.family == "single":
            return pol.Outcome(t.correct[:, idx[0]], t.cost[:, idx[0]])
        if self.family in ("router", "knn"):
            assert self.predictor is not None
            p = self.predictor.predict(X)
            pick = pol.pick_cheapest(p, np.arange(len(idx)), self.knob)
            cols = np.array(idx)[pick]
            return pol.Outcome(t.correct[rows, cols], t.cost[rows, cols])
        assert self.verifier is not None
        a, c, cost = t.answers[:, idx], t.correct[:, idx], t.cost[:, idx]
        if self.family == "route-then-cascade":
            assert self.predictor is not None and self.start_threshold is not None
            ok, spent = pol.route_cascade_curve(a, c, cost, self.predictor.predict(X), self.verifier.collide,
                                                self.start_threshold, [self.knob])
        else:
            acc = np.array([self.verifier.accuracy[m] for m in self.models])
            ok, spent = pol.cascade_curve(a, c, cost, acc, self.verifier.collide, [self.knob])
        return pol.Outcome(ok[0], spent[0])


def fit_logistic(t: Table, X: np.ndarray, folds: Folds, models: list[str], embedding: bool) -> LogisticPredictor:
    """The logistic predictor on every training row, calibrated as cross-validation measured."""
    idx = [t.models.index(m) for m in models]
    fits = [fit_scores(X, t.correct[:, i]) for i in idx]
    return LogisticPredictor(models, np.stack([w for w, _ in fits]), np.array([b for _, b in fits]),
                             folds.platt[idx], embedding)


def refit(t: Table, X: np.ndarray, folds: Folds, point: Point, floor: Point | None, extractor: Extractor,
          embedding: bool) -> FittedPolicy:
    models = list(point.params["models"])
    idx = [t.models.index(m) for m in models]
    mean_cost = t.cost.mean(axis=0)
    reference = t.models[int(np.argmax(mean_cost))]
    predictor: Predictor | None = None
    verifier: BayesVerifier | None = None
    if point.family in ("router", "route-then-cascade"):
        predictor = fit_logistic(t, X, folds, models, embedding)
    elif point.family == "knn":
        predictor = KnnPredictor.of(models, X, t.correct[:, idx], int(point.params["k"]), embedding)
    if point.family in ("cascade", "ladder", "route-then-cascade"):
        measured = fit_verifier(t)
        verifier = measured.model_copy(update={"accuracy": {m: measured.accuracy[m] for m in models},
                                                "threshold": float(point.knob if point.knob is not None else 1.0)})
    return FittedPolicy(point.family, point.label, models, float(point.knob if point.knob is not None else 1.0),
                        point.params.get("start_threshold"), verifier, predictor,
                        {m: float(mean_cost[i]) for m, i in zip(models, idx, strict=True)}, extractor,
                        floor.params["models"][0] if floor is not None else None, reference, point)


def to_config(fp: FittedPolicy, name: str, *, names: dict[str, str] | None = None, budget: float | None = None,
              reference_output_tokens: float | None = None, output_ratios: dict[str, float] | None = None,
              embedding_model: str | None = None, note: str = "") -> dict[str, Any]:
    """The policy as plusn config: a route named ``name`` and what it needs, with recorded model
    names replaced by fleet members (``names``)."""
    rename = (lambda m: names.get(m, m)) if names else (lambda m: m)
    members = [rename(m) for m in fp.models]
    label = fp.label
    for recorded, member in (names or {}).items():
        label = label.replace(recorded, member)
    desc = f"{fp.family}: {label}" + (f" ({note})" if note else "")
    paced = None
    if budget is not None and fp.family != "single":
        # A router's knob is capped at what cross-validation chose (spending the whole share
        # made it swing between cheap and dear models); a verifier's threshold targets the
        # share, which buys accuracy where the test traffic is cheaper than training's.
        mode = "cap" if fp.family in ("router", "knn") else "target"
        paced = {"share": budget, "mode": mode, "reference": rename(fp.reference)}
        if reference_output_tokens:
            paced["reference_output_tokens"] = round(reference_output_tokens, 1)
        if output_ratios:
            paced["output_ratios"] = {rename(m): r for m, r in output_ratios.items() if m in fp.models}
        if fp.floor is not None:
            paced["fallback"] = rename(fp.floor)
    out: dict[str, Any] = {"routes": {name: {"description": desc}}}
    if fp.family == "single":
        out["routes"][name]["model"] = members[0]
        return out
    if fp.predictor is not None:
        router: dict[str, Any] = {"predictor": {**fp.predictor.to_config(), "models": members},
                                  "costs": {rename(m): round(c, 6) for m, c in fp.costs.items()},
                                  "threshold": round(fp.knob if fp.family != "route-then-cascade" else 0.5, 6),
                                  "description": desc}
        if embedding_model and fp.predictor.embedding:
            router["embedding_model"] = embedding_model
        if fp.family in ("router", "knn"):
            if paced:
                router["budget"] = {**paced, "min_threshold": 0.0}
            out["routers"] = {name: router}
            out["routes"][name]["router"] = name
            return out
        out["routers"] = {f"{name}-start": {**router, "description": f"where {name} starts"}}
    assert fp.verifier is not None
    cascade: dict[str, Any] = {
        "stages": [{"models": [m]} for m in members],
        "verifier": {**fp.verifier.model_dump(), "accuracy": {rename(m): a for m, a in fp.verifier.accuracy.items()}},
        "extract": fp.extractor.model_dump(exclude_none=True), "description": desc}
    if fp.family == "route-then-cascade":
        cascade["start"] = {"router": f"{name}-start", "threshold": fp.start_threshold}
    if paced:
        cascade["budget"] = {**paced, "min_threshold": 0.05 if fp.family == "route-then-cascade" else 0.5}
    out["cascades"] = {name: cascade}
    out["routes"][name]["cascade"] = name
    return out
