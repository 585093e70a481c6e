"""Intent recognition: multilingual embeddings of example utterances, a calibrated
nearest-examples classifier, and an explicit "unknown".

Each route's score is the mean cosine similarity of the query to its k most similar examples;
a softmax turns scores into probabilities. Its temperature is chosen by leave-one-out on the
examples themselves (the one that maximises their likelihood), so probabilities mean
something without hand tuning.

"Unknown" is a class of its own, learned from background utterances (everyday requests of
many kinds, in Chinese and English, plus noise) that ship with plusn and can be extended in
config. Embedding similarities are compressed (unrelated sentences still score about 0.8), so
a fixed similarity floor cannot tell "far from every intent"; being closer to the background
than to any intent can.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UNKNOWN = "unknown"

# Everyday requests that belong to no particular intent, and noise. Deployments add their own
# with dispatch.unknown_examples.
BACKGROUND = [
    "What's the weather like tomorrow?", "Translate this sentence into French.",
    "Write a short poem about autumn.", "Summarise this article for me.",
    "Recommend a good book to read.", "How do I reset my password?",
    "What time is it in Tokyo?", "Draft an email to my manager.",
    "Explain how vaccines work.", "What should I cook for dinner?",
    "Who won the football match yesterday?", "Help me plan a trip to Italy.",
    "明天天气怎么样？", "把这句话翻译成英文。", "帮我写一首关于秋天的诗。", "总结一下这篇文章。",
    "推荐一本好书。", "怎么重置密码？", "帮我给经理写一封邮件。", "晚饭做什么好？",
    "解释一下疫苗的原理。", "帮我规划一次旅行。", "附近有什么好吃的餐厅？", "这个合同的要点是什么？",
    "asdf qwer zxcv", "lorem ipsum dolor sit amet", "？？？",
]


@dataclass(frozen=True)
class IntentResult:
    intent: str  # a route name, or "unknown"
    probability: float
    similarity: float
    scores: dict[str, float]


class IntentClassifier:
    def __init__(self, labels: list[str], vectors: np.ndarray, *, k: int = 3,
                 threshold: float = 0.5, min_similarity: float = -1.0) -> None:
        """``labels`` may include "unknown" for background examples."""
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
        label = self.labels[best]
        if label == UNKNOWN or probs[best] < self.threshold or similarity < self.min_similarity:
            return IntentResult(UNKNOWN, float(probs[best]), similarity, table)
        return IntentResult(label, float(probs[best]), similarity, table)
