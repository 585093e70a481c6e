"""Learn a cascade from outcome data: the ladder, its verifier and its threshold.

Everything is estimated from the training rows; nothing is tuned to one task:

- how final answers are compared, when the outcome file does not say: the extractor under which
  two answers agree most often when both are right and least often otherwise
  (:func:`choose_extractor`), so numbers, letters and free-form answers all work;
- the ladder is every model, cheapest first (by mean cost per call on the training rows);
- the verifier is a :class:`BayesVerifier` whose parameters are measured: each model's accuracy
  and how often two wrong answers coincide;
- the threshold (the posterior probability at which an answer is accepted) is the single
  quality/cost knob. :func:`choose_threshold` picks the most accurate one whose training cost
  stays within a budget, relative to always calling the most expensive model.

The simulation below runs the verifier's own ``posterior`` on recorded answers, so the search
and the live cascade make the same decisions. The figures ``plusn eval routing`` reports come
from running the real :class:`~plusn.routing.cascade.CascadeBackend` on held-out rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .extract import Extractor
from .spec import CascadeSpec
from .verifiers import Answer, BayesVerifier

__all__ = ["BayesVerifier", "Table", "choose_extractor", "choose_threshold", "fit_verifier", "sweep", "to_spec"]

# Candidate ways to compare answers: the last number (arithmetic), and the whole answer,
# normalised, exactly (choice letters, words, formulas) or by similarity (short phrases).
EXTRACTORS = (Extractor(type="last_number"), Extractor(type="text", similarity=1.0), Extractor(type="text"))

# At most this many candidate thresholds from the posteriors seen in training.
FINE = 400
CostFn = Callable[[dict[str, Any], str], float]
THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.997, 0.998, 0.999, 0.9993, 0.9995, 0.9997,
              0.9998, 0.9999, 1.0)


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

    def ladder(self) -> list[int]:
        """Every model, cheapest first."""
        return [int(i) for i in np.argsort(self.cost.mean(axis=0), kind="stable")]


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


def posteriors(t: Table, seq: Sequence[int], verifier: BayesVerifier) -> tuple[np.ndarray, np.ndarray]:
    """For each row and ladder step: P(leading answer right), and whether it is right."""
    R, L = len(t.answers), len(seq)
    prob = np.zeros((R, L))
    ok = np.zeros((R, L), dtype=bool)
    exact = Extractor()  # answers here are already ids: equal ids agree
    for r in range(R):
        answers: list[Answer] = []
        for s, m in enumerate(seq):
            a = int(t.answers[r, m])
            answers.append(Answer(t.models[m], "", None if a < 0 else str(a)))
            final, p = verifier.posterior(answers, exact)
            prob[r, s] = p
            ok[r, s] = final is not None and any(
                t.correct[r, seq[k]] for k in range(s + 1) if str(t.answers[r, seq[k]]) == final)
    return prob, ok


def sweep(t: Table, seq: Sequence[int], verifier: BayesVerifier,
          thresholds: Sequence[float] | None = None) -> list[tuple[float, float, float]]:
    """(threshold, accuracy, mean cost) of the ladder at each threshold; the last step always
    answers. Without ``thresholds``, the candidates lie between the distinct posteriors seen
    (thinned to at most ``FINE`` by quantile), so the cost curve has no gaps a fixed grid
    would leave; each sits halfway, on the log(1 - p) scale, between two posteriors, so no
    answer's posterior is right on the cut-off."""
    prob, ok = posteriors(t, seq, verifier)
    if thresholds is None:
        seen = np.unique(prob[:, :-1])
        seen = seen[(seen >= 0.5) & (seen < 1.0)]
        if len(seen) > FINE:
            seen = np.unique(np.quantile(seen, np.linspace(0, 1, FINE)))
        u = np.log1p(-seen)
        thresholds = sorted({*THRESHOLDS, *(float(x) for x in -np.expm1((u[:-1] + u[1:]) / 2))})
    cum = np.cumsum(t.cost[:, list(seq)], axis=1)
    rows = np.arange(len(prob))
    out = []
    for th in thresholds:
        reach = prob >= th
        reach[:, -1] = True
        stop = reach.argmax(axis=1)
        out.append((float(th), float(ok[rows, stop].mean()), float(cum[rows, stop].mean())))
    return out


def choose_threshold(points: list[tuple[float, float, float]], budget_cost: float) -> float:
    """The strictest threshold whose training cost stays within the budget.

    A stricter threshold escalates more, so it costs more and is (in expectation) more
    accurate; spending the budget is what the knob asks for. Comparing noisy training
    accuracies instead would pick whichever threshold got lucky.
    """
    within = [p for p in points if p[2] <= budget_cost and p[0] < 1.0]
    if not within:
        return min(points, key=lambda p: p[2])[0]
    return max(within, key=lambda p: p[0])[0]


def to_spec(seq: Sequence[str], verifier: BayesVerifier, threshold: float, extractor: Extractor,
            note: str = "", budget: dict[str, Any] | None = None) -> CascadeSpec:
    return CascadeSpec(
        stages=[{"models": [m]} for m in seq],
        verifier=verifier.model_copy(update={"threshold": threshold}),
        extract=extractor,
        budget=budget,
        description=note,
    )
