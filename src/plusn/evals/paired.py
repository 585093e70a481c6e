"""Is one contestant better than another on these tasks, or was it luck? A paired bootstrap.

Both contestants answered the same tasks, so the question is about the per-task differences of
their scores. Resampling tasks with replacement (the same tasks for both) and taking the 2.5th
and 97.5th percentiles of the mean difference gives a 95% confidence interval that needs no
assumption about the scores' distribution (0/1 exact matches are far from normal). An interval
wholly above 0 says the first is better on tasks like these.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def paired_bootstrap(a: list[float], b: list[float], *, resamples: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """Mean of ``a - b`` per task with its 95% bootstrap interval (seeded: the same run, the same figures)."""
    if len(a) != len(b):
        raise ValueError("a paired comparison needs the same tasks on both sides")
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = len(diff)
    if n == 0:
        return {"diff": 0.0, "low": 0.0, "high": 0.0, "tasks": 0, "resamples": 0}
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    # in blocks, so 10,000 resamples of thousands of tasks never hold one huge index array
    for start in range(0, resamples, 1000):
        stop = min(resamples, start + 1000)
        means[start:stop] = diff[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"diff": float(diff.mean()), "low": float(low), "high": float(high), "tasks": n, "resamples": resamples}


def all_pairs(names: list[str], scores: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Every later contestant against every earlier one (the first is usually the baseline)."""
    out = []
    for j, later in enumerate(names):
        for earlier in names[:j]:
            out.append({"a": later, "b": earlier, **paired_bootstrap(scores[later], scores[earlier])})
    return out
