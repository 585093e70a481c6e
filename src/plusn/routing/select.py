"""Policy selection by cross-validation: fit the policy to the customer's task and fleet.

On the training rows, k-fold cross-validation scores every candidate family of
routing/policies.py at every setting of its knob: each fold's rows are decided by predictors
and verifiers fitted on the other folds only. The chosen setting is the most accurate whose
out-of-fold cost stays within the budget; ties go to the cheaper. Every single model is a
candidate, so the choice is never worse, on cross-validation, than the best single model that
fits the budget (the floor), and when a single model wins, that is what is served.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import policies as pol
from .predict import KnnPredictor, auc, fit_platt, fit_scores, sigmoid
from .table import Table, collision_rate

# Cascades over subsets of at most this many rungs (plus the full ladder), and route-then-
# cascade over the best few of them: enough to skip rungs and choose where to start, while a
# 1,000-row file with a dozen models still fits in well under the three minutes allowed.
MAX_RUNGS = 3
RTC_SUBSETS = 6
KNN_K = (5, 10, 20, 40)
FOLDS = 5
FAMILIES = ("single", "router", "knn", "cascade", "ladder", "route-then-cascade")


@dataclass
class Point:
    """One candidate setting, scored out of fold."""

    family: str
    label: str
    params: dict[str, Any]
    knob: float | None
    accuracy: float
    cost: float  # share of what always calling the reference model costs
    spread: float  # standard deviation of the accuracy over folds

    def summary(self) -> dict[str, Any]:
        return {"family": self.family, "policy": self.label, "knob": self.knob,
                "accuracy": round(self.accuracy, 4), "cost_fraction": round(self.cost, 4),
                "cv_spread": round(self.spread, 4)}


@dataclass
class Folds:
    """What every fold's held-out rows see: predictions and verifier parameters fitted
    without them."""

    ids: np.ndarray  # fold of each row
    p: np.ndarray  # R x M, calibrated logistic P(success), out of fold
    knn: dict[int, np.ndarray]  # k -> R x M, out of fold
    acc: np.ndarray  # F x M, each model's smoothed accuracy on the other folds
    collide: np.ndarray  # F
    auc: dict[str, float | None]
    platt: np.ndarray  # M x 2, fitted on the out-of-fold scores; the final predictor uses it

    def by_fold(self) -> Iterator[tuple[int, np.ndarray]]:
        for f in range(len(self.acc)):
            yield f, np.flatnonzero(self.ids == f)


def fold_ids(n: int, folds: int, seed: int) -> np.ndarray:
    ids = np.arange(n) % folds
    np.random.default_rng(seed).shuffle(ids)
    return ids


def cross_fit(t: Table, X: np.ndarray, folds: int = FOLDS, seed: int = 0) -> Folds:
    """Out-of-fold predictions and verifier parameters for every training row."""
    R, M = t.correct.shape
    ids = fold_ids(R, folds, seed)
    z = np.zeros((R, M))
    knn = {k: np.zeros((R, M)) for k in KNN_K if k < R // 2}
    acc = np.zeros((folds, M))
    collide = np.zeros(folds)
    from scipy import sparse

    Xs = sparse.csr_matrix(X)
    for f in range(folds):
        held, rest = ids == f, ids != f
        y = t.correct[rest]
        for m in range(M):
            w, b = fit_scores(Xs[rest], y[:, m])
            z[held, m] = X[held] @ w + b
        for k in knn:
            knn[k][held] = KnnPredictor.of(t.models, X[rest], y, k, False).predict(X[held])
        acc[f] = (y.sum(axis=0) + 1) / (len(y) + 2)
        collide[f] = collision_rate(t.subset(rest))
    platt = np.array([fit_platt(z[:, m], t.correct[:, m]) for m in range(M)])
    p = sigmoid(platt[:, 0] * z + platt[:, 1])
    aucs = {name: auc(p[:, m], t.correct[:, m]) for m, name in enumerate(t.models)}
    return Folds(ids, p, knn, acc, collide, aucs, platt)


def _points(family: str, label: str, params: dict[str, Any], knobs: list[float], ok: np.ndarray, cost: np.ndarray,
            folds: Folds, ref: float) -> list[Point]:
    out = []
    for k, knob in enumerate(knobs):
        per_fold = [ok[k, rows].mean() for _, rows in folds.by_fold()]
        out.append(Point(family, label, params, knob, float(ok[k].mean()), float(cost[k].mean() / ref),
                         float(np.std(per_fold))))
    return out


def _cascade(t: Table, folds: Folds, seq: list[int], p: np.ndarray | None = None,
             start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posteriors, leading-answer correctness and cost so far (R x L) of a cascade over ``seq``,
    each fold with its own verifier; with ``p`` the answers are weighed by the predicted
    chances, and with ``start`` each row begins at its own rung (earlier rungs cost nothing
    and say nothing)."""
    R, L = len(t.correct), len(seq)
    prob, ok, cum = np.zeros((R, L)), np.zeros((R, L), dtype=bool), np.zeros((R, L))
    starts = np.zeros(R, dtype=int) if start is None else start
    for f, rows in folds.by_fold():
        for s0 in np.unique(starts[rows]):
            sel = rows[starts[rows] == s0]
            cols = seq[s0:]
            acc = folds.acc[f][cols] if p is None else p[np.ix_(sel, cols)]
            pr, o = pol.posteriors(t.answers[np.ix_(sel, cols)], t.correct[np.ix_(sel, cols)], acc,
                                   float(folds.collide[f]))
            # rungs before the start repeat the start's state at no cost: stopping "there" is stopping at the start
            prob[np.ix_(sel, range(s0, L))], ok[np.ix_(sel, range(s0, L))] = pr, o
            cum[np.ix_(sel, range(s0, L))] = np.cumsum(t.cost[np.ix_(sel, cols)], axis=1)
            for s in range(s0):
                prob[sel, s], ok[sel, s], cum[sel, s] = -1.0, o[:, 0], cum[sel, s0]
    return prob, ok, cum


def candidates(t: Table, folds: Folds, ref: float, budget: float, progress: Callable[[], None] | None = None
               ) -> list[Point]:
    """Every candidate family's settings, scored out of fold."""
    M = t.correct.shape[1]
    order = np.argsort(t.cost.mean(axis=0), kind="stable")
    names = t.models
    pts: list[Point] = []
    for m in range(M):
        pts += _points("single", f"always {names[m]}", {"models": [names[m]]}, [1.0],
                       t.correct[None, :, m], t.cost[None, :, m], folds, ref)
    for kind, p in [("router", folds.p), *((f"knn-{k}", q) for k, q in folds.knn.items())]:
        grid = sorted({*np.round(np.quantile(p, np.linspace(0.02, 0.98, 30)), 4).tolist(), 0.5})
        ok, cost = pol.router_curve(p, t.correct, t.cost, order, grid)
        family = "router" if kind == "router" else "knn"
        params = {"models": [names[i] for i in order], **({"k": int(kind[4:])} if family == "knn" else {})}
        name = "logistic" if kind == "router" else kind
        pts += _points(family, f"{name} router over {M} models", params, grid, ok, cost, folds, ref)
    subsets = [list(s) for n in range(2, MAX_RUNGS + 1) for s in itertools.combinations(order.tolist(), n)]
    full = order.tolist()
    if full not in subsets:
        subsets.append(full)
    best_of: list[tuple[float, list[int]]] = []
    for seq in subsets:
        prob, ok, cum = _cascade(t, folds, seq)
        grid = pol.threshold_grid(prob, 0.5)
        o, c = pol.curve(ok, cum, prob, grid)
        family = "ladder" if seq == full else "cascade"
        label = " -> ".join(names[i] for i in seq)
        found = _points(family, label, {"models": [names[i] for i in seq]}, grid, o, c, folds, ref)
        pts += found
        within = [q.accuracy for q in found if q.cost <= budget]
        best_of.append((max(within, default=0.0), seq))
        if progress:
            progress()
    best_of.sort(key=lambda x: -x[0])
    rtc = [s for _, s in best_of[:RTC_SUBSETS]] + ([full] if full not in [s for _, s in best_of[:RTC_SUBSETS]] else [])
    for seq in rtc:
        pts += _route_then_cascade(t, folds, seq, ref)
    return pts


def _route_then_cascade(t: Table, folds: Folds, seq: list[int], ref: float) -> list[Point]:
    out: list[Point] = []
    p = folds.p
    for st in sorted({0.3, 0.5, 0.7, 0.85, *np.round(np.quantile(p[:, seq[-1]], [0.25, 0.5, 0.75]), 3).tolist()}):
        start = pol.start_rung(p[:, seq], st)
        prob, ok, cum = _cascade(t, folds, seq, p=p, start=start)
        grid = pol.threshold_grid(np.where(prob < 0, 1.0, prob), 0.05, 25)
        o, c = pol.curve(ok, cum, prob, grid)
        label = "route, then " + " -> ".join(t.models[i] for i in seq)
        out += _points("route-then-cascade", label, {"models": [t.models[i] for i in seq], "start_threshold": st},
                       grid, o, c, folds, ref)
    return out


def choose(points: list[Point], budget: float) -> tuple[Point, Point | None, str]:
    """(chosen, floor, why): the most accurate setting within the budget (ties to the cheaper),
    and the best single model within it."""
    if not points:
        raise ValueError("no candidate policy to choose from (a cascade needs at least two models)")
    within = [p for p in points if p.cost <= budget]
    singles = [p for p in within if p.family == "single"]
    floor = max(singles, key=lambda p: (p.accuracy, -p.cost)) if singles else None
    if not within:
        cheapest = min(points, key=lambda p: p.cost)
        return cheapest, None, (f"nothing fits the budget {budget:g} on cross-validation; the cheapest setting "
                                f"({cheapest.label}, cost {cheapest.cost:.4f}) is served")
    # Along one candidate's knob, spending more buys accuracy in expectation, so each candidate
    # is represented by its setting that spends the most within the budget; picking the most
    # accurate setting along a knob would pick whichever got lucky on these rows.
    top: dict[tuple[str, str, str], Point] = {}
    for p in within:
        key = (p.family, p.label, repr(sorted(p.params.items())))
        if key not in top or (p.cost, p.accuracy) > (top[key].cost, top[key].accuracy):
            top[key] = p
    best = max(top.values(), key=lambda p: (round(p.accuracy, 9), -p.cost))
    why = (f"most accurate on {FOLDS}-fold cross-validation within the budget {budget:g}: "
           f"{best.accuracy:.4f} at cost {best.cost:.4f}")
    if floor is not None:
        why += (" (a single model is best: served as it is)" if best.family == "single" else
                f"; the best single model within the budget, {floor.label[7:]}, reached {floor.accuracy:.4f}")
    return best, floor, why


def best_per_family(points: list[Point], budget: float) -> dict[str, Point]:
    """Each family's most accurate setting within the budget (else its cheapest)."""
    out: dict[str, Point] = {}
    for fam in dict.fromkeys(p.family for p in points):
        mine = [p for p in points if p.family == fam]
        within = [p for p in mine if p.cost <= budget]
        out[fam] = max(within, key=lambda p: (p.accuracy, -p.cost)) if within else min(mine, key=lambda p: p.cost)
    return out
