"""Recorded outcomes as arrays, and what is measured on them before any policy is chosen.

- :class:`Table`: answer ids (equal ids agree), correctness and cost per row and model;
- how final answers are compared, when the outcome file does not say: the extractor under which
  two answers agree most often when both are right and least often otherwise
  (:func:`choose_extractor`), so numbers, letters and free-form answers all work;
- the Bayes verifier's parameters: each model's accuracy and how often two wrong answers
  coincide (:func:`fit_verifier`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .extract import Extractor
from .verifiers import BayesVerifier

__all__ = ["Table", "choose_extractor", "collision_rate", "fit_verifier"]

# Candidate ways to compare answers: the last number (arithmetic), and the whole answer,
# normalised, exactly (choice letters, words, formulas, code values).
# (Similar-text matching is left out: it is not transitive, so which answers agree would depend
# on which models a cascade asked and in what order.)
EXTRACTORS = (Extractor(type="last_number"), Extractor(type="text", similarity=1.0))

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

    def subset(self, rows: np.ndarray) -> Table:
        return Table(self.models, self.answers[rows], self.correct[rows], self.cost[rows])


def agreement_separation(rows: Sequence[dict[str, Any]], models: list[str], extractor: Extractor) -> float:
    """How well "the extracted answers agree" tells pairs of right answers from the rest:
    P(agree | both right) - P(agree | not both right), over every pair of models on every row.
    An answer that cannot be extracted agrees with nothing."""
    hits = [0, 0]  # agreeing pairs: both right, not both right
    totals = [0, 0]
    for row in rows:
        outs = [row["outcomes"][m] for m in models]
        finals = [extractor.extract(o.get("answer")) for o in outs]
        for i in range(len(outs)):
            for j in range(i + 1, len(outs)):
                k = 0 if outs[i].get("correct") and outs[j].get("correct") else 1
                totals[k] += 1
                hits[k] += extractor.same(finals[i], finals[j])
    if not totals[0] or not totals[1]:
        return 0.0
    return hits[0] / totals[0] - hits[1] / totals[1]


def choose_extractor(rows: Sequence[dict[str, Any]], models: list[str]) -> tuple[Extractor, dict[str, float]]:
    """The candidate extractor that separates best on these (training) rows, and every score."""
    scores = [(agreement_separation(rows, models, e), i) for i, e in enumerate(EXTRACTORS)]
    best = max(scores, key=lambda s: (s[0], -s[1]))[1]  # ties go to the earlier, simpler candidate
    names = [f"{e.type}" + (f"@{e.similarity:g}" if e.type == "text" else "") for e in EXTRACTORS]
    return EXTRACTORS[best], {n: round(v, 4) for (v, _), n in zip(scores, names, strict=True)}


def collision_rate(t: Table) -> float:
    """How often two wrong answers to the same question coincide (smoothed)."""
    same = total = 0
    M = len(t.models)
    for i in range(M):
        for j in range(i + 1, M):
            both = (~t.correct[:, i]) & (~t.correct[:, j]) & (t.answers[:, i] >= 0) & (t.answers[:, j] >= 0)
            total += int(both.sum())
            same += int((both & (t.answers[:, i] == t.answers[:, j])).sum())
    return (same + 1) / (total + 2)


def fit_verifier(t: Table) -> BayesVerifier:
    """The verifier's parameters, measured on the training rows."""
    n = len(t.correct)
    accuracy = {m: round((float(t.correct[:, i].sum()) + 1) / (n + 2), 5) for i, m in enumerate(t.models)}
    return BayesVerifier(accuracy=accuracy, collide=round(collision_rate(t), 5))
