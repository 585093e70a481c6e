"""Intent recognition: multilingual embeddings of example utterances, a calibrated
nearest-examples classifier, and an explicit "unknown".

Each route's score is the mean cosine similarity of the query to its k most similar examples;
a softmax turns scores into probabilities. Its temperature is chosen by leave-one-out on the
examples themselves (the one that maximises their likelihood), so probabilities mean
something without hand tuning. A query far from every example is "unknown", however the
probabilities fall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UNKNOWN = "unknown"


@dataclass(frozen=True)
class IntentResult:
    intent: str  # a route name, or "unknown"
    probability: float
    similarity: float
    scores: dict[str, float]


class IntentClassifier:
    def __init__(self, labels: list[str], vectors: np.ndarray, *, k: int = 3,
                 threshold: float = 0.5, min_similarity: float = 0.8) -> None:
        self.labels = sorted(set(labels))
        self._label_idx = np.array([self.labels.index(lbl) for lbl in labels])
        self.vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        self.k = k
        self.threshold = threshold
        self.min_similarity = min_similarity
        self.temperature = self._fit_temperature()

    def _class_scores(self, sims: np.ndarray, exclude: int | None = None) -> np.ndarray:
        out = np.full(len(self.labels), -1.0)
        for c in range(len(self.labels)):
            idx = np.flatnonzero(self._label_idx == c)
            if exclude is not None:
                idx = idx[idx != exclude]
            if len(idx):
                top = np.sort(sims[idx])[::-1][: self.k]
                out[c] = float(top.mean())
        return out

    def _fit_temperature(self) -> float:
        if len(self.labels) < 2:
            return 0.05
        sims = self.vectors @ self.vectors.T
        rows = [(self._class_scores(sims[i], exclude=i), self._label_idx[i]) for i in range(len(self.vectors))]
        best, best_ll = 0.05, -np.inf
        for t in (0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2):
            ll = 0.0
            for scores, y in rows:
                z = (scores - scores.max()) / t
                ll += z[y] - np.log(np.exp(z).sum())
            if ll > best_ll:
                best, best_ll = t, ll
        return best

    def classify(self, query_vec: np.ndarray) -> IntentResult:
        q = query_vec / np.linalg.norm(query_vec)
        sims = self.vectors @ q
        scores = self._class_scores(sims)
        z = (scores - scores.max()) / self.temperature
        probs = np.exp(z) / np.exp(z).sum()
        best = int(np.argmax(probs))
        similarity = float(sims.max())
        table = {lbl: round(float(p), 4) for lbl, p in zip(self.labels, probs, strict=True)}
        if probs[best] < self.threshold or similarity < self.min_similarity:
            return IntentResult(UNKNOWN, float(probs[best]), similarity, table)
        return IntentResult(self.labels[best], float(probs[best]), similarity, table)
