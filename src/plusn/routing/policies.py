"""Candidate routing policies, simulated on recorded outcomes.

Every family plusn can serve is simulated here on arrays (rows x models): which rows end with
a right answer, and what each row paid, for every setting of the family's knob. Policy
selection (routing/select.py) scores these on cross-validation folds; the backends that serve
the chosen policy make the same decisions (the verifier's posterior, the router's pick), so
what is selected is what ships. The families:

- ``single``: always one model;
- ``router``: the cheapest model whose predicted chance of success clears a threshold
  (the predictor is a logistic model or a k-nearest-neighbour estimate);
- ``cascade``: a chosen subset of the ladder, cheapest first, with the Bayes agreement
  verifier fitted on the training rows; the full ladder is the subset of every model;
- ``route-then-cascade``: the router picks the starting rung per prompt, and the verifier,
  which now weighs each answer by its model's *predicted* chance on this prompt, decides
  whether to climb (cascade routing: Dekoninck et al., ICML 2025, find the two together beat
  either alone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Probabilities are clipped here, as the live verifier clips them.
P_LOW, P_HIGH = 0.01, 0.995


@dataclass
class Outcome:
    """One policy setting on a set of rows: whether each row ended right, and its cost."""

    ok: np.ndarray  # bool, R
    cost: np.ndarray  # float, R


def clip(p: np.ndarray) -> np.ndarray:
    return np.clip(p, P_LOW, P_HIGH)


def posteriors(answers: np.ndarray, correct: np.ndarray, acc: np.ndarray, collide: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """The Bayes verifier's P(leading answer right) after each rung, and whether that leading
    answer is right, for every row at once.

    ``answers`` holds answer ids per row and rung (equal ids agree, -1: no answer); ``acc`` is
    each rung's chance of being right, per row (R x L) or for all rows (L). Same model as
    :class:`~plusn.routing.verifiers.BayesVerifier`: a group of agreeing answers scores
    log(c) + sum of log(acc / ((1 - acc) c)) over its members, against "none is right" at 0.
    """
    R, L = answers.shape
    a = np.broadcast_to(clip(np.asarray(acc, dtype=float)), (R, L))
    w = np.log(a / ((1 - a) * collide))
    prob = np.zeros((R, L))
    ok = np.zeros((R, L), dtype=bool)
    rows = np.arange(R)
    for s in range(L):
        aa = answers[:, : s + 1]
        valid = aa >= 0
        same = (aa[:, :, None] == aa[:, None, :]) & valid[:, :, None] & valid[:, None, :]
        score = np.log(collide) + (same * w[:, None, : s + 1]).sum(axis=2)
        score = np.where(valid, score, -np.inf)
        top = np.maximum(0.0, score.max(axis=1))
        size = np.maximum(same.sum(axis=2), 1)  # each group counted once across its members
        z = np.exp(-top) + np.where(valid, np.exp(score - top[:, None]) / size, 0.0).sum(axis=1)
        lead = score.argmax(axis=1)
        any_valid = valid.any(axis=1)
        prob[:, s] = np.where(any_valid, np.exp(score[rows, lead] - top) / z, 0.0)
        # the cascade answers with the latest reply in the leading group (cascade._choose), and
        # with the latest reply of all when no answer could be extracted
        members = same[rows, lead]
        latest = s - np.argmax(members[:, ::-1], axis=1)
        ok[:, s] = np.where(any_valid, correct[rows, latest], correct[:, s])
    return prob, ok


def threshold_grid(prob: np.ndarray, lowest: float, count: int = 40) -> list[float]:
    """Thresholds between the posteriors seen before the last rung (by quantile), so the cost
    curve has no gaps a fixed grid would leave; 1.0 (always climb to the top) is included."""
    seen = prob[:, :-1].ravel() if prob.shape[1] > 1 else prob.ravel()
    seen = seen[(seen >= lowest) & (seen < 1.0)]
    if len(seen) == 0:
        return [1.0]
    qs = np.unique(np.quantile(seen, np.linspace(0, 1, count)))
    u = np.log1p(-qs)  # halfway between neighbours on the log(1 - p) scale
    mids = -np.expm1((u[:-1] + u[1:]) / 2) if len(u) > 1 else qs
    grid = sorted({round(float(x), 6) for x in mids if x >= lowest} | {1.0})
    return grid


def stop_at(prob: np.ndarray, threshold: float) -> np.ndarray:
    """The rung each row stops at: the first whose posterior reaches the threshold, else the last."""
    reach = prob >= threshold
    reach[:, -1] = True
    return np.asarray(reach.argmax(axis=1))


def curve(ok: np.ndarray, cum: np.ndarray, prob: np.ndarray, thresholds: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """(ok, cost), K x R, of a cascade at each threshold, from its posteriors ``prob``, whether
    each rung's leading answer is right ``ok``, and the cost so far ``cum`` (all R x L)."""
    rows = np.arange(len(prob))
    stops = [stop_at(prob, th) for th in thresholds]
    return np.stack([ok[rows, s] for s in stops]), np.stack([cum[rows, s] for s in stops])


def cascade_curve(answers: np.ndarray, correct: np.ndarray, cost: np.ndarray, acc: np.ndarray, collide: float,
                  thresholds: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """(ok, cost), K x R, of a cascade over these rungs (columns) at each threshold."""
    prob, ok = posteriors(answers, correct, acc, collide)
    return curve(ok, np.cumsum(cost, axis=1), prob, thresholds)


def pick_cheapest(p: np.ndarray, order: np.ndarray, threshold: float) -> np.ndarray:
    """Per row: the first model in ``order`` (cheapest first) with P(success) >= threshold,
    else the most likely one."""
    ranked = p[:, order]
    clears = ranked >= threshold
    first = order[clears.argmax(axis=1)]
    return np.where(clears.any(axis=1), first, p.argmax(axis=1))


def router_curve(p: np.ndarray, correct: np.ndarray, cost: np.ndarray, order: np.ndarray,
                 thresholds: list[float]) -> tuple[np.ndarray, np.ndarray]:
    rows = np.arange(len(p))
    picks = [pick_cheapest(p, order, th) for th in thresholds]
    return np.stack([correct[rows, k] for k in picks]), np.stack([cost[rows, k] for k in picks])


def start_rung(p: np.ndarray, start_threshold: float) -> np.ndarray:
    """Route-then-cascade's first rung per row: the cheapest rung predicted to succeed with at
    least ``start_threshold``, else the first (climbing is the verifier's job, and the verifier's
    threshold is what a budget paces: a start the pacer cannot move would be a cost it cannot
    hold)."""
    clears = p >= start_threshold
    return np.asarray(clears.argmax(axis=1))  # 0 where nothing clears


def route_cascade_curve(answers: np.ndarray, correct: np.ndarray, cost: np.ndarray, p: np.ndarray,
                        collide: float, start_threshold: float, thresholds: list[float]
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(ok, cost), K x R: start where the router says, then climb while the verifier, using
    the predicted chances ``p`` (R x L) as each answer's accuracy, is not convinced."""
    R = answers.shape[0]
    start = start_rung(p, start_threshold)
    ok = np.zeros((len(thresholds), R), dtype=bool)
    spent = np.zeros((len(thresholds), R))
    for s0 in np.unique(start):
        sel = np.flatnonzero(start == s0)
        o, c = cascade_curve(answers[sel, s0:], correct[sel, s0:], cost[sel, s0:], p[sel, s0:], collide,
                             thresholds)
        ok[:, sel] = o
        spent[:, sel] = c
    return ok, spent
