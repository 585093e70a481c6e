"""Predict each model's chance of success from the prompt, and pick the cheapest that clears
a threshold.

Features are hashed character n-grams (which work for Chinese and English alike, with no
tokenizer) plus a few shape features (length, how many numbers); one L2-regularised logistic
regression per model, trained on outcome rows, in numpy. It is small enough to train in a
second and to run in well under a millisecond per request.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DIM = 4096
_NUM = re.compile(r"\d+(?:\.\d+)?")


def _bucket(gram: str) -> int:
    return int.from_bytes(hashlib.blake2b(gram.encode("utf-8"), digest_size=4).digest(), "little") % DIM


def featurize(texts: Sequence[str]) -> np.ndarray:
    """Hashed 1-3 character n-grams (sublinear tf, L2-normalised) plus shape features."""
    X = np.zeros((len(texts), DIM + 4))
    for i, t in enumerate(texts):
        s = re.sub(r"\s+", " ", t.lower())
        counts: dict[int, int] = {}
        for n in (1, 2, 3):
            for j in range(len(s) - n + 1):
                b = _bucket(s[j : j + n])
                counts[b] = counts.get(b, 0) + 1
        if counts:
            idx = np.fromiter(counts.keys(), dtype=np.int64)
            val = 1 + np.log(np.fromiter(counts.values(), dtype=float))
            X[i, idx] = val / np.linalg.norm(val)
        nums = _NUM.findall(t)
        X[i, DIM:] = [math.log1p(len(t)) / 8, math.log1p(len(nums)) / 3, t.count("\n") / 10, 1.0]
    return X


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 200) -> np.ndarray:
    """L2-regularised logistic regression by gradient descent with a fixed, safe step."""
    w = np.zeros(X.shape[1])
    prior = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
    w[-1] = math.log(prior / (1 - prior))  # the constant feature starts at the base rate
    # step from the Lipschitz constant of the loss: ||X||^2 / (4n) + l2/n
    lr = 1.0 / (np.linalg.norm(X, 2) ** 2 / (4 * len(X)) + l2 / len(X))
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(X @ w)))
        grad = X.T @ (p - y) / len(X) + l2 * w / len(X)
        grad[-1] -= l2 * w[-1] / len(X)  # do not shrink the intercept
        w -= lr * grad
    return w


@dataclass
class SuccessModel:
    """Per-model success predictors over shared prompt features."""

    models: list[str]
    weights: np.ndarray  # M x F

    @classmethod
    def train(cls, prompts: Sequence[str], correct: np.ndarray, models: list[str], l2: float = 1.0) -> SuccessModel:
        X = featurize(prompts)
        return cls(models, np.stack([fit_logistic(X, correct[:, m].astype(float), l2) for m in range(len(models))]))

    def predict(self, prompts: Sequence[str]) -> np.ndarray:
        """P(success) for each prompt and model: N x M."""
        z = featurize(prompts) @ self.weights.T
        return 1 / (1 + np.exp(-z))


def pick_cheapest(p: np.ndarray, costs: np.ndarray, threshold: float) -> np.ndarray:
    """Per prompt: the cheapest model with P(success) >= threshold, else the most likely."""
    order = np.argsort(costs)
    out = np.empty(len(p), dtype=np.int64)
    for i, row in enumerate(p):
        ok = [m for m in order if row[m] >= threshold]
        out[i] = ok[0] if ok else int(np.argmax(row))
    return out


def knn_predict(train_X: np.ndarray, train_correct: np.ndarray, X: np.ndarray, k: int = 10) -> np.ndarray:
    """The kNN router's success estimate: each model's accuracy on the k nearest prompts."""
    sims = X[:, :DIM] @ train_X[:, :DIM].T
    nearest = np.argsort(-sims, axis=1)[:, :k]
    return train_correct[nearest].mean(axis=1)
