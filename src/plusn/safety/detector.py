"""The attack detector: jailbreaks, prompt injection and unsafe requests, in Chinese and English.

A linear model over hashed features, so a check costs well under a millisecond on CPU:

- character 1–4-grams of the normalised text (NFKC, lower case), which need no word
  segmentation and so serve Chinese and English alike;
- Latin word unigrams and bigrams, which carry English meaning that characters split up.

A second stage reads meaning rather than surface: a logistic model on the multilingual-e5
embedding of the text. It costs an embedding (10–30 ms on 2 cores), so it runs only on
first-stage scores from a per-language ``low`` up (below it, where 99% of the attacks held out
for calibration score higher, a prompt is clearly benign). The two stages' log-odds are
averaged. Without an embedder the first stage decides alone, at its own threshold.

Thresholds are calibrated per language: each lets through 99% of the benign prompts held out
for calibration (≤ 1% false positives), measured when the model was trained
(``plusn safety train``). The trained weights ship inside the package.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

DIM = 1 << 18
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[a-z0-9']+")


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower()).strip()


def language(text: str) -> str:
    """"zh" when at least a tenth of the letters are Chinese characters, else "en"."""
    cjk = len(_CJK.findall(text))
    letters = sum(ch.isalpha() for ch in text) or 1
    return "zh" if cjk / letters >= 0.1 else "en"


def _h(gram: str) -> int:
    return int.from_bytes(hashlib.blake2b(gram.encode("utf-8"), digest_size=4).digest(), "little") % DIM


def features(text: str, max_chars: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """(indices, values) of the hashed, sublinear, L2-normalised feature vector."""
    s = normalise(text)[:max_chars]
    counts: dict[int, int] = {}
    for n in (1, 2, 3, 4):
        for i in range(len(s) - n + 1):
            k = _h("c" + s[i : i + n])
            counts[k] = counts.get(k, 0) + 1
    toks = _WORD.findall(s)
    for i, t in enumerate(toks):
        k = _h("w" + t)
        counts[k] = counts.get(k, 0) + 1
        if i:
            k = _h("b" + toks[i - 1] + " " + t)
            counts[k] = counts.get(k, 0) + 1
    if not counts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    val = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
    return idx, (val / np.linalg.norm(val)).astype(np.float32)


@dataclass
class Verdict:
    score: float  # P(attack), 0..1
    attack: bool
    language: str
    threshold: float
    stages: int = 1


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


class Detector:
    def __init__(self, weights: np.ndarray, bias: float, thresholds: dict[str, float], info: dict[str, Any],
                 second: tuple[np.ndarray, float] | None = None, bands: dict[str, tuple[float, float]] | None = None,
                 first_thresholds: dict[str, float] | None = None) -> None:
        self.weights = weights.astype(np.float32)
        self.bias = float(bias)
        self.thresholds = thresholds  # on the final score (two stages where there is a second)
        self.first_thresholds = first_thresholds or dict(thresholds)  # when only the first stage runs
        self.info = info
        self.second = second  # (weights over the embedding, bias)
        self.bands = bands or {}

    def score(self, text: str) -> float:
        """The first stage's P(attack)."""
        idx, val = features(text)
        return _sigmoid(float(self.weights[idx] @ val) + self.bias)

    def needs_second(self, text: str, first: float) -> bool:
        band = self.bands.get(language(text))
        return self.second is not None and band is not None and band[0] <= first < band[1]

    def combine(self, first: float, vector: np.ndarray) -> float:
        assert self.second is not None
        w, b = self.second
        v = np.asarray(vector, dtype=np.float32)
        second = _sigmoid(float(w @ (v / max(float(np.linalg.norm(v)), 1e-12))) + b)
        return _sigmoid((_logit(first) + _logit(second)) / 2)

    def check(self, text: str, threshold: float | None = None, vector: np.ndarray | None = None) -> Verdict:
        """First stage only, or both when ``vector`` (the text's e5 query embedding) is given."""
        lang = language(text)
        p = self.score(text)
        if vector is not None and self.second is not None:
            th = threshold if threshold is not None else self.thresholds.get(lang, 0.5)
            q = self.combine(p, vector)
            return Verdict(q, q >= th, lang, th, 2)
        band = self.bands.get(lang)
        if band is not None and p < band[0]:  # below the band: clearly benign
            return Verdict(p, False, lang, band[0])
        if band is not None and p >= band[1]:  # above it: the first stage alone flags
            return Verdict(p, True, lang, band[1])
        th = threshold if threshold is not None else self.first_thresholds.get(lang, 0.5)
        return Verdict(p, p >= th, lang, th)

    def save(self, path: Path) -> None:
        meta = {"thresholds": self.thresholds, "first_thresholds": self.first_thresholds, "info": self.info,
                "bands": self.bands}
        extra: dict[str, Any] = {}
        if self.second is not None:
            extra = {"second_weights": self.second[0].astype(np.float32), "second_bias": np.array([self.second[1]])}
        np.savez_compressed(path, weights=self.weights.astype(np.float16), bias=np.array([self.bias]),
                            meta=np.array(json.dumps(meta)), **extra)

    @classmethod
    def load(cls, path: Path | None = None) -> Detector:
        """The detector at ``path``, else the one that ships with plusn."""
        src: Any = path if path is not None else files("plusn.safety").joinpath("detector.npz")
        with src.open("rb") if path is None else open(path, "rb") as f:
            data = np.load(f, allow_pickle=False)
            meta = json.loads(str(data["meta"]))
            second = None
            if "second_weights" in data.files:
                second = (data["second_weights"].astype(np.float32), float(data["second_bias"][0]))
            bands = {k: (float(v[0]), float(v[1])) for k, v in meta.get("bands", {}).items()}
            return cls(data["weights"].astype(np.float32), float(data["bias"][0]), meta["thresholds"], meta["info"],
                       second, bands, meta.get("first_thresholds"))
