"""The attack detector: jailbreaks, prompt injection and unsafe requests, in Chinese and English.

Each language has its own models (a prompt is read by the models of its language, see
:func:`language`), because one model shared by both lets the plentiful English jailbreak data
decide what the Chinese side looks for.

- **First stage:** a linear model over hashed features, so a check costs well under a
  millisecond on CPU: character 1–4-grams of the normalised text (NFKC, lower case), which
  need no word segmentation, and Latin word unigrams and bigrams.
- **Second stage, for meaning rather than surface:** the multilingual-e5 embedding of the text
  read two ways: a logistic model on it, and how much closer it lies to the nearest known
  attacks than to the nearest known benign prompts (the training prompts, kept as a small
  int8 bank). It costs an embedding (10–30 ms on 2 cores), so it runs only on first-stage
  scores from a per-language ``low`` up (below it, where 99% of the attacks held out for
  calibration score higher, a prompt is clearly benign).

The three signals are put on one scale (each divided by its spread on the calibration prompts),
summed, and turned into a probability by a logistic fit on the calibration prompts. Thresholds
are calibrated per language: each lets through 99% of every kind of benign prompt held out for
calibration (≤ 1% false positives), measured when the model was trained (``plusn safety
train``). The trained weights ship inside the package.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

DIM = 1 << 18
LANGS = ("zh", "en")
NEIGHBOURS = 5  # nearest attacks and nearest benign prompts compared in the second stage
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


@dataclass
class Second:
    """One language's second stage: a logistic model on the embedding, the spreads that put
    the three signals on one scale, and the logistic fit that turns their sum into P(attack)."""

    weights: np.ndarray  # over the embedding
    bias: float
    scales: tuple[float, float, float]  # first-stage log-odds, second-stage log-odds, neighbour margin
    platt: tuple[float, float]  # P(attack) = sigmoid(a * sum + b)


@dataclass
class Bank:
    """The training prompts' embeddings (unit length), for the nearest-neighbour signal."""

    vectors: np.ndarray  # N x D float32
    labels: np.ndarray  # N, 1 attack / 0 benign

    def margin(self, v: np.ndarray, k: int = NEIGHBOURS) -> float:
        """Mean similarity to the k nearest attacks minus that to the k nearest benign prompts."""
        sims = self.vectors @ v
        out = []
        for lab in (1, 0):
            s = sims[self.labels == lab]
            kk = min(k, len(s))
            out.append(float(np.partition(s, len(s) - kk)[len(s) - kk :].mean()) if kk else 0.0)
        return out[0] - out[1]


@dataclass
class Detector:
    first: dict[str, tuple[np.ndarray, float]]  # language → (weights over hashed features, bias)
    thresholds: dict[str, float]  # on the final score (two stages where there is a second)
    info: dict[str, Any]
    first_thresholds: dict[str, float] = field(default_factory=dict)  # when only the first stage runs
    second: dict[str, Second] = field(default_factory=dict)
    bank: Bank | None = None
    bands: dict[str, tuple[float, float]] = field(default_factory=dict)

    def _first(self, lang: str) -> tuple[np.ndarray, float]:
        return self.first.get(lang) or next(iter(self.first.values()))

    def score(self, text: str) -> float:
        """The first stage's P(attack)."""
        w, b = self._first(language(text))
        idx, val = features(text)
        return _sigmoid(float(w[idx] @ val) + b)

    def has_second(self, lang: str) -> bool:
        return lang in self.second and self.bank is not None

    def needs_second(self, text: str, first: float) -> bool:
        lang = language(text)
        band = self.bands.get(lang)
        return self.has_second(lang) and band is not None and band[0] <= first < band[1]

    def signals(self, lang: str, first: float, vector: np.ndarray) -> tuple[float, float, float]:
        """The three raw signals: first-stage log-odds, second-stage log-odds, neighbour margin."""
        assert self.bank is not None
        s = self.second[lang]
        v = np.asarray(vector, dtype=np.float32)
        v = v / max(float(np.linalg.norm(v)), 1e-12)
        return _logit(first), float(s.weights @ v) + s.bias, self.bank.margin(v)

    def combine(self, lang: str, first: float, vector: np.ndarray) -> float:
        """P(attack) from both stages."""
        s = self.second[lang]
        total = sum(x / sc for x, sc in zip(self.signals(lang, first, vector), s.scales, strict=True))
        return _sigmoid(s.platt[0] * total + s.platt[1])

    def check(self, text: str, threshold: float | Mapping[str, float] | None = None,
              vector: np.ndarray | None = None, first: float | None = None) -> Verdict:
        """First stage only, or both when ``vector`` (the text's e5 query embedding) is given;
        ``first`` is the first stage's score when the caller has it already. ``threshold``
        replaces the shipped one: one for every language, or one per language."""
        lang = language(text)
        if isinstance(threshold, Mapping):
            threshold = threshold.get(lang)
        p = self.score(text) if first is None else first
        if vector is not None and self.has_second(lang):
            th = threshold if threshold is not None else self.thresholds.get(lang, 0.5)
            q = self.combine(lang, p, vector)
            return Verdict(q, q >= th, lang, th, 2)
        band = self.bands.get(lang)
        if band is not None and p < band[0]:  # below the band: clearly benign
            return Verdict(p, False, lang, band[0])
        if band is not None and p >= band[1]:  # above it: the first stage alone flags
            return Verdict(p, True, lang, band[1])
        th = threshold if threshold is not None else self.first_thresholds.get(lang, 0.5)
        return Verdict(p, p >= th, lang, th)

    def save(self, path: Path) -> None:
        langs = list(self.first)
        meta = {"languages": langs, "thresholds": self.thresholds, "first_thresholds": self.first_thresholds,
                "info": self.info, "bands": self.bands,
                "second": {lang: {"bias": s.bias, "scales": list(s.scales), "platt": list(s.platt)}
                           for lang, s in self.second.items()}}
        arrays: dict[str, Any] = {
            "first_weights": np.stack([self.first[lang][0] for lang in langs]).astype(np.float16),
            "first_bias": np.array([self.first[lang][1] for lang in langs]),
        }
        if self.second:
            arrays["second_weights"] = np.stack([self.second[lang].weights for lang in self.second]).astype(np.float32)
        if self.bank is not None:
            # int8 keeps the bank small; similarities move by well under 1%.
            arrays["bank"] = np.round(self.bank.vectors * 127).astype(np.int8)
            arrays["bank_labels"] = self.bank.labels.astype(np.int8)
        np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)

    @classmethod
    def load(cls, path: Path | None = None) -> Detector:
        """The detector at ``path``, else the one that ships with plusn."""
        src: Any = path if path is not None else files("plusn.safety").joinpath("detector.npz")
        with src.open("rb") if path is None else open(path, "rb") as f:
            data = np.load(f, allow_pickle=False)
            meta = json.loads(str(data["meta"]))
            langs = meta["languages"]
            fw = data["first_weights"].astype(np.float32)
            first = {lang: (fw[i], float(data["first_bias"][i])) for i, lang in enumerate(langs)}
            second = {}
            for i, (lang, s) in enumerate(meta.get("second", {}).items()):
                second[lang] = Second(data["second_weights"][i].astype(np.float32), float(s["bias"]),
                                      tuple(s["scales"]), tuple(s["platt"]))
            bank = None
            if "bank" in data.files:
                vectors = data["bank"].astype(np.float32) / 127
                vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
                bank = Bank(vectors, data["bank_labels"].astype(np.int64))
            bands = {k: (float(v[0]), float(v[1])) for k, v in meta.get("bands", {}).items()}
            return cls(first, meta["thresholds"], meta["info"], meta.get("first_thresholds") or {}, second, bank, bands)
