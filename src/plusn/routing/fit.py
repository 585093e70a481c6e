"""Learn a cascade from outcome data: which models, in what order, and when to stop.

The search is over sequences of models called one at a time, cheapest first, with a
weighted-vote verifier after each call (see :class:`VoteVerifier`). Everything is estimated
from the training rows, nothing is tuned to one task:

- each model's vote weight is its log likelihood ratio of being right, given its training
  accuracy and how often two wrong answers coincide on this task (few on arithmetic, many on
  yes/no questions);
- every ordered subset of models up to ``max_len`` is simulated for every acceptance
  threshold seen in the data, and the cheapest that keeps ``quality`` times the best single
  model's training accuracy wins.

The simulator here is only for the search; the figures reported by ``plusn eval routing`` come
from running the real :class:`~plusn.routing.cascade.CascadeBackend` on held-out rows.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .extract import Extractor
from .spec import CascadeSpec
from .verifiers import VoteVerifier

CostFn = Callable[[dict[str, Any], str], float]


@dataclass
class Table:
    """Outcome rows as arrays: answer ids (-1: none), correctness and cost per row and model."""

    models: list[str]
    answers: np.ndarray  # int, R x M; equal ids mean agreeing final answers
    correct: np.ndarray  # bool, R x M
    cost: np.ndarray  # float, R x M

    @classmethod
    def build(cls, rows: Sequence[dict[str, Any]], models: list[str], extractor: Extractor, cost: CostFn) -> Table:
        R, M = len(rows), len(models)
        answers = np.full((R, M), -1, dtype=np.int64)
        correct = np.zeros((R, M), dtype=bool)
        costs = np.zeros((R, M))
        for r, row in enumerate(rows):
            seen: list[str] = []
            for m, name in enumerate(models):
                out = row["outcomes"][name]
                final = extractor.extract(out.get("answer"))
                if final is not None:
                    for k, s in enumerate(seen):
                        if extractor.same(s, final):
                            answers[r, m] = k
                            break
                    else:
                        answers[r, m] = len(seen)
                        seen.append(final)
                correct[r, m] = bool(out.get("correct"))
                costs[r, m] = cost(row, name)
        return cls(models, answers, correct, costs)


def vote_weights(t: Table) -> dict[str, float]:
    """Each model's vote: log( P(answer | right) / P(this same answer | wrong) )."""
    acc = t.correct.mean(axis=0)
    # How often two wrong answers to the same question coincide: 1 / (effective number of
    # wrong answers). Pairs where both models answered and both were wrong.
    same = total = 0
    M = len(t.models)
    for i in range(M):
        for j in range(i + 1, M):
            both = (~t.correct[:, i]) & (~t.correct[:, j]) & (t.answers[:, i] >= 0) & (t.answers[:, j] >= 0)
            total += int(both.sum())
            same += int((both & (t.answers[:, i] == t.answers[:, j])).sum())
    collide = (same + 1) / (total + 2)  # smoothed
    weights = {}
    for m, a in zip(t.models, acc, strict=True):
        a = min(max(float(a), 0.01), 0.995)
        weights[m] = round(math.log(a / ((1 - a) * collide)), 4)
    return weights


@dataclass
class Candidate:
    sequence: tuple[str, ...]
    threshold: float
    accuracy: float
    cost: float  # mean cost per row


def simulate(t: Table, seq_idx: Sequence[int], weights: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and mean cost of one sequence for each threshold (vectorised over rows)."""
    R, L = t.answers.shape[0], len(seq_idx)
    margins = np.empty((R, L))
    lead_ok = np.empty((R, L), dtype=bool)
    cum_cost = np.cumsum(t.cost[:, seq_idx], axis=1)
    ans = t.answers[:, seq_idx]
    ok = t.correct[:, seq_idx]
    w = weights[list(seq_idx)]
    for step in range(L):
        a = ans[:, : step + 1]
        # score of each distinct answer = sum of weights of the models that gave it
        n_ids = int(a.max()) + 2
        scores = np.zeros((R, n_ids))
        for k in range(step + 1):
            valid = a[:, k] >= 0
            scores[valid, a[valid, k]] += w[k]
        lead = scores.argmax(axis=1)
        top = scores[np.arange(R), lead]
        margins[:, step] = np.where(top > 0, 2 * top - scores.sum(axis=1), -np.inf)
        # the lead answer is right if any model that gave it was right
        gave = (a == lead[:, None]) & (a >= 0)
        lead_ok[:, step] = (gave & ok[:, : step + 1]).any(axis=1)
    # first step whose margin reaches the threshold; the last step always answers
    reach = margins[None, :, :] >= thresholds[:, None, None]  # T x R x L
    reach[:, :, -1] = True
    stop = reach.argmax(axis=2)  # T x R
    rows = np.arange(R)[None, :]
    acc = lead_ok[rows, stop].mean(axis=1)
    cost = cum_cost[rows, stop].mean(axis=1)
    return acc, cost


def search(t: Table, weights: dict[str, float], max_len: int = 4) -> list[Candidate]:
    """Every sequence (cheapest first) of up to ``max_len`` models, at every useful threshold."""
    order = list(np.argsort(t.cost.mean(axis=0)))
    w = np.array([weights[m] for m in t.models])
    # thresholds: a fine grid up to the largest margin max_len votes can make
    top = float(np.sort(np.clip(w, 0, None))[::-1][:max_len].sum()) or 1.0
    thresholds = np.array([*np.linspace(0, top, 121)[1:], math.inf])
    # the most accurate model may close any sequence, as the large model of a 1+N fleet does
    strongest = int(np.argmax(t.correct.mean(axis=0)))
    seqs: set[tuple[int, ...]] = set()
    for k in range(1, min(max_len, len(order)) + 1):
        for combo in itertools.combinations(order, k):
            seqs.add(combo)
            if strongest not in combo:
                seqs.add((*combo, strongest))
    out: list[Candidate] = []
    for seq in sorted(seqs):
        ths = thresholds if len(seq) > 1 else np.array([math.inf])
        acc, cost = simulate(t, seq, w, ths)
        for a, c, th in zip(acc, cost, ths, strict=True):
            out.append(Candidate(tuple(t.models[i] for i in seq), float(th), float(a), float(c)))
    return out


def pareto(cands: list[Candidate]) -> list[Candidate]:
    """Candidates no other beats on both cost and accuracy, cheapest first."""
    best: list[Candidate] = []
    for c in sorted(cands, key=lambda c: (c.cost, -c.accuracy)):
        if not best or c.accuracy > best[-1].accuracy:
            best.append(c)
    return best


def choose(front: list[Candidate], target_accuracy: float, n: int) -> Candidate:
    """The cheapest point on the frontier whose accuracy, less one standard error on ``n``
    training rows, reaches the target; else the most accurate. The margin offsets the
    optimism of picking the best of many candidates on the same rows."""
    for c in front:
        if c.accuracy - math.sqrt(c.accuracy * (1 - c.accuracy) / max(n, 1)) >= target_accuracy:
            return c
    return front[-1]


def to_spec(c: Candidate, weights: dict[str, float], extractor: Extractor, note: str = "") -> CascadeSpec:
    return CascadeSpec(
        stages=[{"models": [m]} for m in c.sequence],
        verifier=VoteVerifier(weights={m: weights[m] for m in c.sequence},
                              threshold=c.threshold if math.isfinite(c.threshold) else 1e9),
        extract=extractor,
        description=note,
    )
