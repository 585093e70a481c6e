"""``plusn eval safety``: how well the detector separates attacks from benign prompts.

Rows the detector saw in training or calibration are left out (the shipped model carries the
fingerprints of its training texts), so the dev set is scored on its held-out part only.
Per language: ROC AUC and the true-positive rate at the threshold that flags at most 1% of that
language's benign prompts; per attack kind: its TPR at that same threshold. Latency is the p50
of one check (featurise + score) on this CPU.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from .detector import Detector, language
from .train import text_hash, threshold_at


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


def evaluate(path: Path, detector: Detector | None = None) -> dict[str, Any]:
    det = detector or Detector.load()
    seen = set(det.info.get("seen", []))
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    held = [r for r in rows if text_hash(r["text"]) not in seen]
    scores, lat = [], []
    for r in held:
        t0 = time.perf_counter()
        scores.append(det.score(r["text"]))
        lat.append((time.perf_counter() - t0) * 1000)
    s = np.array(scores)
    out: dict[str, Any] = {"data": str(path), "rows": len(rows), "held_out": len(held), "by_lang": {}, "by_kind": {}}
    for lang in ("zh", "en"):
        idx = [i for i, r in enumerate(held) if (r.get("lang") or language(r["text"])) == lang]
        pos = s[[i for i in idx if held[i]["label"] == 1]]
        neg = s[[i for i in idx if held[i]["label"] == 0]]
        if not idx:
            continue
        th = threshold_at(neg)
        entry: dict[str, Any] = {"attacks": len(pos), "benign": len(neg), "auc": round(auc(pos, neg), 4) if
                                 len(pos) and len(neg) else None,
                                 "tpr_at_1pct_fpr": round(float((pos >= th).mean()), 4) if len(pos) and len(neg) else None,
                                 "shipped_threshold": det.thresholds.get(lang)}
        th_ship = det.thresholds.get(lang, 0.5)
        entry["at_shipped_threshold"] = {"tpr": round(float((pos >= th_ship).mean()), 4) if len(pos) else None,
                                         "fpr": round(float((neg >= th_ship).mean()), 4) if len(neg) else None}
        out["by_lang"][lang] = entry
        for kind in sorted({held[i].get("kind", "") for i in idx if held[i]["label"] == 1}):
            kp = s[[i for i in idx if held[i]["label"] == 1 and held[i].get("kind", "") == kind]]
            out["by_kind"][f"{lang}/{kind}"] = {"n": len(kp), "tpr_at_1pct_fpr": round(float((kp >= th).mean()), 4)
                                                if len(neg) else None, "auc": round(auc(kp, neg), 4) if len(neg) else None}
    out["latency_ms_p50"] = round(statistics.median(lat), 3) if lat else None
    return out


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
    for lang, e in res["by_lang"].items():
        a = e["at_shipped_threshold"]
        lines.append(f"{lang}: at the shipped threshold {e['shipped_threshold']}: TPR {f(a['tpr'])}, FPR {f(a['fpr'])}")
    lines.append(f"latency per check: p50 {res['latency_ms_p50']} ms")
    return "\n".join(lines)
