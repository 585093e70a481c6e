"""Combine keyword (BM25) and vector (dense) results into one ranking.

``rrf`` is reciprocal-rank fusion with k=60 (Cormack et al., 2009). It gives both lists equal
say, so a weak list drags a strong one down: on DBpedia-5k it scores well below dense alone.

``adaptive`` adapts to the query and to the corpus:

- **the query:** each list's scores are standardised over its own candidates (z-scores), so
  BM25's unbounded scores and cosine similarities become comparable, and optionally
  (``gamma`` = 1) each list is weighted by how far its best hit stands above its other
  candidates for this query;
- **the corpus:** the BM25 share ``alpha`` is chosen by measurement on judged queries
  (:func:`calibrate`; ``plusn kb calibrate``, or cross-fitted by ``plusn eval retrieval``). A
  combination replaces the better single method only when it beats it by two standard errors
  on those queries, so a corpus where one method is simply better keeps that method.

Which method is better is a property of the corpus and its questions (reading-comprehension
questions share words with their passage; entity searches do not), and we found no
label-free signal that predicts it reliably on both shared sets; hence the measurement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

Ranked = list[tuple[int, float]]

ALPHAS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
GAMMAS = (0.0, 1.0)


@dataclass(frozen=True)
class FusionParams:
    """``alpha``: BM25's share; ``gamma``: 1 weights each list by its top hit's z-score."""

    alpha: float = 0.5
    gamma: float = 1.0
    calibrated_on: int = 0  # judged queries behind the choice; 0 means the uncalibrated default
    note: str = "uncalibrated default"

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)

    @property
    def label(self) -> str:
        if self.alpha == 1.0:
            return "bm25"
        if self.alpha == 0.0:
            return "dense"
        return f"alpha={self.alpha:g}, gamma={self.gamma:g}"


DEFAULT = FusionParams()


def fuse(mode: str, lexical: Ranked, dense: Ranked, params: FusionParams = DEFAULT) -> Ranked:
    if mode == "bm25":
        return list(lexical)
    if mode == "dense":
        return list(dense)
    if mode == "rrf":
        return rrf([lexical, dense])
    return combine(lexical, dense, params)


def rrf(lists: Sequence[Ranked], k: int = 60) -> Ranked:
    scores: dict[int, float] = {}
    for ranked in lists:
        for rank, (i, _) in enumerate(ranked):
            scores[i] = scores.get(i, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def _standardise(ranked: Ranked) -> tuple[dict[int, float], float, float]:
    """(z-score per candidate, the lowest z, the top z)."""
    if not ranked:
        return {}, 0.0, 0.0
    s = np.array([v for _, v in ranked], dtype=float)
    sd = float(s.std())
    z = (s - s.mean()) / sd if sd > 1e-9 else np.zeros_like(s)
    return {i: float(v) for (i, _), v in zip(ranked, z, strict=True)}, float(z.min()), float(z.max())


def combine(lexical: Ranked, dense: Ranked, params: FusionParams) -> Ranked:
    """A convex combination of standardised scores; a candidate missing from one list gets
    that list's lowest score."""
    if params.alpha >= 1.0 or not dense:
        return list(lexical)
    if params.alpha <= 0.0 or not lexical:
        return list(dense)
    zl, low_l, top_l = _standardise(lexical)
    zd, low_d, top_d = _standardise(dense)
    wl = params.alpha * max(top_l, 0.0) ** params.gamma
    wd = (1 - params.alpha) * max(top_d, 0.0) ** params.gamma
    scores = {i: wl * zl.get(i, low_l) + wd * zd.get(i, low_d) for i in zl.keys() | zd.keys()}
    return sorted(scores.items(), key=lambda kv: -kv[1])


def grid() -> list[FusionParams]:
    return [FusionParams(a, g) for a in ALPHAS for g in GAMMAS if 0 < a < 1 or g == 0]


def calibrate(queries: Sequence[tuple[Ranked, Ranked]], gain: Callable[[int, Ranked], float],
              z: float = 2.0) -> FusionParams:
    """The fusion to use on a corpus, measured on judged queries.

    ``queries`` holds each judged query's (lexical, dense) candidates and ``gain(q, ranking)``
    scores a ranking of query ``q`` (e.g. nDCG@10). The best combination on the grid is
    chosen only if its paired gain over the better single method is at least ``z`` standard
    errors above zero; otherwise the better single method is kept.
    """
    n = len(queries)
    if n == 0:
        return DEFAULT
    options = grid()
    table = np.array([[gain(q, combine(lex, den, p)) for p in options] for q, (lex, den) in enumerate(queries)])
    means = table.mean(axis=0)
    singles = [i for i, p in enumerate(options) if p.alpha in (0.0, 1.0)]
    single = max(singles, key=lambda i: means[i])
    best = int(np.argmax(means))
    diff = table[:, best] - table[:, single]
    se = float(diff.std(ddof=1)) / np.sqrt(n) if n > 1 else float("inf")
    chosen = best if diff.mean() - z * se > 0 else single
    p = options[chosen]
    why = (f"beat {options[single].label} by {diff.mean():+.4f} (> {z:g} s.e.)" if chosen == best and chosen != single
           else f"no combination beat {options[single].label} by {z:g} s.e.")
    return FusionParams(p.alpha, p.gamma, n, why)
