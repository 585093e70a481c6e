"""The routing eval's report: a table a user can act on, and the quality-cost plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _describe(ex: dict[str, Any]) -> str:
    kind = {"last_number": "last number", "json_field": f"JSON field {ex.get('field')!r}",
            "regex": f"regex {ex.get('pattern')!r}"}.get(ex["type"], "whole text" + (
                " (exact)" if ex.get("similarity") == 1.0 else f" (similarity >= {ex.get('similarity')})"))
    why = ex.get("chosen_by", "")
    scores = ", ".join(f"{k} {v:+.3f}" for k, v in ex.get("scores", {}).items())
    return f"{kind}, chosen by {why}" + (f" ({scores})" if scores else "")


def candidates_table(res: dict[str, Any]) -> list[str]:
    """Every family's best setting on cross-validation (training half)."""
    lines = [f"{'candidate family (best within budget)':26s} {'cv acc':>7s} {'cv cost':>8s} {'spread':>7s}  policy",
             f"{'-' * 26} {'-' * 7} {'-' * 8} {'-' * 7}  {'-' * 30}"]
    chosen = res["chosen_policy"]
    for fam, c in res["candidates"].items():
        mark = " <- chosen" if fam == chosen["family"] else ""
        lines.append(f"{fam:26s} {c['accuracy']:7.4f} {c['cost_fraction']:8.4f} {c['cv_spread']:7.4f}  "
                     f"{_short(c['policy'])}{mark}")
    return lines


def _short(label: str, width: int = 70) -> str:
    return label if len(label) <= width else label[: width - 3] + "..."


def report(res: dict[str, Any]) -> str:
    """The human-readable report."""
    t, ch = res["test"], res["chosen_policy"]
    lines = [f"routing eval: {res['data']}  (task {res['task']}; train {res['split']['train']}, "
             f"test {res['split']['test']}, seed {res['split']['seed']}; budget {res['budget']:g})", ""]
    lines += candidates_table(res)
    aucs = ", ".join(f"{m} {a:.2f}" for m, a in res["predictor_auc"].items() if a is not None)
    lines += ["", f"chosen: {ch['family']}: {_short(ch['policy'], 100)}",
              f"  why: {ch['why']}",
              f"  answers compared by {_describe(res['extractor'])}",
              f"  success predictor ({'n-grams + embedding' if res['embedding'] else 'n-grams'}), "
              f"out-of-fold AUC: {aucs}",
              f"  fitted in {res['fit_seconds']:.1f} s", "",
              f"{'test half':44s} {'accuracy':>9s} {'cost':>8s}", f"{'-' * 44} {'-' * 9} {'-' * 8}"]
    paced = t.get("pacing")
    lines.append(f"{'chosen policy' + (', paced' if paced else ''):44s} {t['accuracy']:9.4f} {t['cost_fraction']:8.4f}")
    if paced:
        f = res["fixed_knob"]
        lines.append(f"{'chosen policy, knob fixed':44s} {f['accuracy']:9.4f} {f['cost_fraction']:8.4f}")
    for name, b in res["baselines"].items():
        lines.append(f"{name.replace('_', ' '):44s} {b['accuracy']:9.4f} {b['cost_fraction']:8.4f}")
    for m, s in sorted(res["single"].items(), key=lambda kv: kv[1]["cost_fraction"]):
        lines.append(f"{'always ' + m:44s} {s['accuracy']:9.4f} {s['cost_fraction']:8.4f}")
    lines += ["",
              f"mean calls {t['mean_calls']:.2f}; {t['largest_model_rate']:.1%} of requests reached {res['largest']['model']}"]
    if paced:
        spent = (f"the budget ran out on {paced['fallbacks']} requests ({paced['fallback_rate']:.1%}), "
                 f"served {paced['fallback_how']}") if paced["fallbacks"] else "the budget never ran out"
        lines.append(f"paced to {paced['share']:g}: threshold {paced['threshold_start']:.4g} -> "
                     f"{paced['threshold_end']:.4g}; {spent}")
    lines += [f"accuracy vs best single ({res['best_single']['model']}): {t['accuracy_vs_best_single']:.4f}",
              f"cost vs always {res['largest']['model']}: {t['cost_fraction']:.4f}"]
    return "\n".join(lines)


def plot(res: dict[str, Any], path: str | Path) -> bool:
    """Quality against cost; returns False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for m, s in res["single"].items():
        ax.scatter(s["cost_fraction"], s["accuracy"], marker="s", color="grey")
        ax.annotate(m, (s["cost_fraction"], s["accuracy"]), fontsize=6, xytext=(3, -8), textcoords="offset points")
    for name, b in res["baselines"].items():
        ax.scatter(b["cost_fraction"], b["accuracy"], marker="^", label=name.replace("_", " "))
    for fam, c in res["candidates"].items():
        ax.scatter(c["cost_fraction"], c["accuracy"], marker="x", label=f"{fam} (cross-validation)")
    t = res["test"]
    ax.scatter(t["cost_fraction"], t["accuracy"], s=120, facecolors="none", edgecolors="red",
               label=f"chosen: {t['family']}" + (" (paced)" if t.get("pacing") else ""))
    ax.axvline(res["budget"], color="red", alpha=0.3, linestyle="--")
    ax.set_xscale("log")
    ax.set_xlabel("cost fraction of always calling the largest model (log)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"routing: {res['task']}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
