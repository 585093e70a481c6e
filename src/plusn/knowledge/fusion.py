"""Combine keyword (BM25) and vector (dense) results into one ranking.

``rrf`` is reciprocal-rank fusion with k=60 (Cormack et al., 2009): robust, but it gives both
lists equal say, so a weak list drags a strong one down (on DBpedia-5k RRF scores well below
dense alone). ``adaptive`` weighs each list per query by how sure it is; see :func:`adaptive`.
"""

from __future__ import annotations

import numpy as np

Ranked = list[tuple[int, float]]


def fuse(mode: str, lexical: Ranked, dense: Ranked) -> Ranked:
    if mode == "bm25":
        return list(lexical)
    if mode == "dense":
        return list(dense)
    if mode == "rrf":
        return rrf([lexical, dense])
    return adaptive(lexical, dense)


def rrf(lists: list[Ranked], k: int = 60) -> Ranked:
    scores: dict[int, float] = {}
    for ranked in lists:
        for rank, (i, _) in enumerate(ranked):
            scores[i] = scores.get(i, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def adaptive(lexical: Ranked, dense: Ranked) -> Ranked:
    raise NotImplementedError


def _z(values: np.ndarray) -> np.ndarray:
    sd = float(values.std())
    return (values - values.mean()) / (sd if sd > 1e-9 else 1.0)
