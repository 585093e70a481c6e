"""Success predictors: each model's chance of answering a prompt right, from the prompt alone.

Two kinds, both fitted offline by ``plusn routes fit`` and served from the weights in the
config (serving never trains):

- :class:`LogisticPredictor`: one L2-regularised logistic regression per model over hashed
  character n-grams (Chinese and English alike, no tokenizer), a few shape features, and,
  when an embedding model is configured, the multilingual sentence embedding. Calibrated by
  Platt scaling on out-of-fold scores, so its probabilities can be used as probabilities
  (the route-then-cascade verifier multiplies them).
- :class:`KnnPredictor`: each model's accuracy on the k most similar training prompts
  (the "routing plateau" papers find a well-tuned kNN as good as far larger routers).

Fitting uses scikit-learn (the ``fit`` extra); predicting needs numpy only.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import MissingDependency
from .features import featurize


def design(texts: Sequence[str], vectors: np.ndarray | None) -> np.ndarray:
    """The feature matrix: hashed n-grams and shape features, then the embedding if given."""
    X = featurize(texts)
    if vectors is None:
        return X
    return np.hstack([X, np.asarray(vectors, dtype=float)])


def _b64(a: np.ndarray, dtype: str = "<f4") -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")


def _unb64(s: str, shape: tuple[int, ...], dtype: str = "<f4") -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype=dtype).astype(float).reshape(shape)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))


@dataclass
class LogisticPredictor:
    """Per-model logistic regressions with Platt calibration: p = sigmoid(a (x.w + b0) + c)."""

    models: list[str]
    weights: np.ndarray  # M x F
    bias: np.ndarray  # M
    platt: np.ndarray  # M x 2 (a, c)
    embedding: bool  # whether the features end with the prompt's embedding

    kind = "logistic"

    def scores(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X @ self.weights.T + self.bias)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """P(success), N x M, from a design matrix."""
        z = self.scores(X)
        return sigmoid(self.platt[:, 0] * z + self.platt[:, 1])

    def to_config(self) -> dict[str, Any]:
        F = self.weights.shape[1]
        return {"kind": "logistic", "models": self.models, "features": F, "embedding": self.embedding,
                "bias": [round(float(b), 6) for b in self.bias],
                "platt": [[round(float(a), 6), round(float(c), 6)] for a, c in self.platt],
                "weights": _b64(self.weights)}

    @classmethod
    def from_config(cls, d: dict[str, Any]) -> LogisticPredictor:
        M, F = len(d["models"]), int(d["features"])
        return cls(list(d["models"]), _unb64(d["weights"], (M, F)), np.array(d["bias"], dtype=float),
                   np.array(d["platt"], dtype=float).reshape(M, 2), bool(d["embedding"]))


@dataclass
class KnnPredictor:
    """Each model's (smoothed) accuracy on the ``k`` nearest training prompts by cosine."""

    models: list[str]
    vectors: np.ndarray  # N x F, unit rows, float32 as the config stores them
    correct: np.ndarray  # N x M, 0/1
    k: int
    embedding: bool

    kind = "knn"

    @classmethod
    def of(cls, models: list[str], X: np.ndarray, correct: np.ndarray, k: int, embedding: bool) -> KnnPredictor:
        return cls(models, _unit(X).astype(np.float32), correct.astype(float), k, embedding)

    def predict(self, X: np.ndarray) -> np.ndarray:
        # float32, as the config stores the vectors, so fitting and serving find the same neighbours
        sims = _unit(X).astype(np.float32) @ self.vectors.T
        k = min(self.k, len(self.vectors))
        nearest = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        prior = self.correct.mean(axis=0)
        # one pseudo-neighbour at the model's overall accuracy keeps k small from saying 0 or 1
        return np.asarray((self.correct[nearest].sum(axis=1) + prior) / (k + 1))

    def to_config(self) -> dict[str, Any]:
        N, F = self.vectors.shape
        return {"kind": "knn", "models": self.models, "features": F, "embedding": self.embedding, "k": self.k,
                "rows": N, "vectors": _b64(self.vectors),
                "correct": base64.b64encode(np.packbits(self.correct.astype(bool), axis=None).tobytes()).decode()}

    @classmethod
    def from_config(cls, d: dict[str, Any]) -> KnnPredictor:
        N, F, M = int(d["rows"]), int(d["features"]), len(d["models"])
        bits = np.unpackbits(np.frombuffer(base64.b64decode(d["correct"]), dtype=np.uint8))[: N * M]
        return cls(list(d["models"]), _unit(_unb64(d["vectors"], (N, F))).astype(np.float32), bits.reshape(N, M).astype(float),
                   int(d["k"]), bool(d["embedding"]))


Predictor = LogisticPredictor | KnnPredictor


def predictor_from_config(d: dict[str, Any]) -> Predictor:
    return KnnPredictor.from_config(d) if d.get("kind") == "knn" else LogisticPredictor.from_config(d)


def _unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    n = np.linalg.norm(X, axis=1, keepdims=True)
    return np.asarray(X / np.where(n > 0, n, 1.0))


# --- fitting (scikit-learn) -------------------------------------------------------------------

def _sklearn() -> Any:
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:
        raise MissingDependency("fitting routes needs scikit-learn: pip install 'plusn[fit]'") from exc
    return LogisticRegression


def fit_scores(X: np.ndarray, y: np.ndarray, C: float = 1.0) -> tuple[np.ndarray, float]:
    """One model's logistic regression (weights, intercept); a model that is always right or
    always wrong on these rows gets its smoothed base rate."""
    rate = (float(y.sum()) + 0.5) / (len(y) + 1.0)
    if y.min() == y.max():
        return np.zeros(X.shape[1]), math.log(rate / (1 - rate))
    from scipy import sparse

    lr = _sklearn()(C=C, max_iter=300)
    # the n-gram columns are mostly zeros: a sparse matrix makes each fit about five times faster
    lr.fit(X if sparse.issparse(X) else sparse.csr_matrix(X), y.astype(int))
    return np.asarray(lr.coef_[0], dtype=float), float(lr.intercept_[0])


def fit_platt(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling: the 1-D logistic fit of outcomes on out-of-fold scores."""
    if y.min() == y.max():
        rate = (float(y.sum()) + 0.5) / (len(y) + 1.0)
        return 0.0, math.log(rate / (1 - rate))
    lr = _sklearn()(C=100.0, max_iter=300)
    lr.fit(z.reshape(-1, 1), y.astype(int))
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def auc(p: np.ndarray, y: np.ndarray) -> float | None:
    """Area under the ROC curve (None when a class is missing)."""
    if y.min() == y.max():
        return None
    from scipy.stats import rankdata

    ranks = rankdata(p)
    pos = y.astype(bool)
    n1, n0 = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
