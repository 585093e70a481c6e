"""Verifiers: after each cascade stage, accept the answer so far or escalate.

A verifier sees the stage's answers (model, extracted final answer, reply, token log-prob) and
returns a :class:`Verdict`. They are small and pure, so the cascade and the offline fitter use
the very same decision code.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from .extract import Extractor


@dataclass(slots=True)
class Answer:
    """One member's reply inside a cascade."""

    model: str
    text: str
    final: str | None  # the extracted final answer
    logprob: float | None = None  # mean token log-prob, when the backend reports it


@dataclass(slots=True)
class Verdict:
    accept: bool
    final: str | None  # the answer chosen
    confidence: float
    reason: str


def _groups(answers: list[Answer], extractor: Extractor) -> list[list[Answer]]:
    """Answers grouped by agreement on the extracted final answer (None answers stand alone)."""
    groups: list[list[Answer]] = []
    for a in answers:
        if a.final is None:
            continue
        for g in groups:
            if extractor.same(g[0].final, a.final):
                g.append(a)
                break
        else:
            groups.append([a])
    return groups


class AgreementVerifier(BaseModel):
    """Accept when at least ``min_votes`` answers agree and they are a strict majority."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["agreement"] = "agreement"
    min_votes: int = Field(2, ge=1)

    def judge(self, answers: list[Answer], extractor: Extractor) -> Verdict:
        groups = sorted(_groups(answers, extractor), key=len, reverse=True)
        if not groups:
            return Verdict(False, None, 0.0, "no answer could be extracted")
        lead = groups[0]
        n = len(lead)
        ok = n >= self.min_votes and n * 2 > len(answers)
        why = f"{n} of {len(answers)} answers agree on {lead[0].final!r}"
        return Verdict(ok, lead[0].final, n / len(answers), why if ok else why + f"; need {self.min_votes}")


class VoteVerifier(BaseModel):
    """Weighted vote: each model's vote counts its log-odds of being right (learned from
    outcome data); accept when the leading answer's margin over all others reaches
    ``threshold``. Agreement between strong models counts more than between weak ones."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["vote"] = "vote"
    weights: dict[str, float] = Field(default_factory=dict)
    threshold: float = 1.0
    default_weight: float = 1.0

    def scores(self, answers: list[Answer], extractor: Extractor) -> tuple[str | None, float]:
        totals: dict[int, float] = defaultdict(float)
        groups = _groups(answers, extractor)
        for i, g in enumerate(groups):
            totals[i] = sum(self.weights.get(a.model, self.default_weight) for a in g)
        if not totals:
            return None, -math.inf
        lead = max(totals, key=lambda i: totals[i])
        margin = totals[lead] - sum(v for i, v in totals.items() if i != lead)
        return groups[lead][0].final, margin

    def judge(self, answers: list[Answer], extractor: Extractor) -> Verdict:
        final, margin = self.scores(answers, extractor)
        if final is None:
            return Verdict(False, None, 0.0, "no answer could be extracted")
        ok = margin >= self.threshold
        return Verdict(ok, final, margin, f"vote margin {margin:.2f} {'>=' if ok else '<'} {self.threshold:.2f} for {final!r}")


class BayesVerifier(BaseModel):
    """Accept when the posterior probability that the leading answer is right reaches
    ``threshold``.

    The model: each model is right with its measured ``accuracy``; a wrong model lands on any
    particular wrong value with probability ``collide`` (how often two wrong answers coincide
    on this task), and the right value is a priori one of about 1/``collide`` values. So a
    single answer is right with exactly its model's accuracy, and agreement weighs what it
    should: two weak models agreeing on 18 is strong evidence where wrong answers scatter
    (arithmetic), weak evidence where they cannot (yes/no).
    """

    model_config = ConfigDict(extra="forbid")
    type: Literal["bayes"] = "bayes"
    accuracy: dict[str, float] = Field(default_factory=dict)
    collide: float = Field(0.1, gt=0, lt=1)
    threshold: float = Field(0.99, ge=0, le=1)
    default_accuracy: float = Field(0.5, gt=0, lt=1)

    def posterior(self, answers: list[Answer], extractor: Extractor) -> tuple[str | None, float]:
        groups = _groups(answers, extractor)
        if not groups:
            return None, 0.0

        def acc(m: str) -> float:
            return min(max(self.accuracy.get(m, self.default_accuracy), 0.01), 0.995)

        c = self.collide
        # Relative to "no answer seen is right", the hypothesis "group g is right" gains the
        # prior of one particular value (c) and, for each member, acc / ((1 - acc) c).
        logs = [math.log(c) + sum(math.log(acc(a.model) / ((1 - acc(a.model)) * c)) for a in g) for g in groups]
        top = max(0.0, *logs)
        z = math.exp(-top) + sum(math.exp(v - top) for v in logs)
        lead = max(range(len(groups)), key=lambda i: logs[i])
        return groups[lead][0].final, math.exp(logs[lead] - top) / z

    def judge(self, answers: list[Answer], extractor: Extractor) -> Verdict:
        final, p = self.posterior(answers, extractor)
        if final is None:
            return Verdict(False, None, 0.0, "no answer could be extracted")
        ok = p >= self.threshold
        return Verdict(ok, final, p, f"P({final!r} is right) = {p:.4f} {'>=' if ok else '<'} {self.threshold:g}")


class LogprobVerifier(BaseModel):
    """Accept the last answer when its mean token log-prob is at least ``min_logprob``."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["logprob"] = "logprob"
    min_logprob: float = -0.5

    def judge(self, answers: list[Answer], extractor: Extractor) -> Verdict:
        last = answers[-1]
        if last.logprob is None:
            return Verdict(False, last.final, 0.0, f"{last.model} reported no log-probs")
        ok = last.logprob >= self.min_logprob and last.final is not None
        return Verdict(ok, last.final, math.exp(last.logprob),
                       f"mean log-prob {last.logprob:.3f} {'>=' if ok else '<'} {self.min_logprob}")


class JudgeVerifier(BaseModel):
    """Ask a judge model whether the last answer is right; the cascade makes the call."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["judge"] = "judge"
    model: str
    prompt: str = (
        "Question:\n{question}\n\nProposed answer:\n{answer}\n\n"
        "Is the proposed answer correct? Reply with one word: yes or no."
    )

    def judge(self, answers: list[Answer], extractor: Extractor) -> Verdict:  # pragma: no cover
        raise RuntimeError("the judge verifier is run by the cascade, which calls the judge model")

    @staticmethod
    def read(reply: str, last: Answer) -> Verdict:
        ok = reply.strip().lower().startswith(("yes", "是", "正确", "对"))
        return Verdict(ok, last.final, 1.0 if ok else 0.0, f"judge said {reply.strip()[:20]!r}")


VerifierSpec = Annotated[
    AgreementVerifier | VoteVerifier | BayesVerifier | LogprobVerifier | JudgeVerifier, Field(discriminator="type")
]
