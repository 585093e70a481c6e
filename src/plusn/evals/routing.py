"""``plusn eval routing``: learn routes on a training split of recorded outcomes, then run the
real cascade and router backends over replay backends on the test split.

The replay rule holds: the routers see prompts, and after each call the recorded answer and
token count; correctness is read only to train and to score.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ModelSettings, Price
from ..fleet.base import Backend, Generation, GenRequest
from ..fleet.replay import Outcomes, ReplayBackend, prompt_tokens_estimate
from ..routing import fit as fitting
from ..routing.cascade import CascadeBackend
from ..routing.extract import Extractor
from ..routing.learned import SuccessModel, featurize, knn_predict, pick_cheapest
from ..routing.router import LearnedRouterBackend


def split(rows: list[dict[str, Any]], seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A fixed 50/50 split by a hash of (seed, id)."""
    train: list[dict[str, Any]] = []
    test: list[dict[str, Any]] = []
    for r in rows:
        h = hashlib.sha256(f"{seed}:{r.get('id', r['prompt'])}".encode()).digest()[0]
        (train if h % 2 == 0 else test).append(r)
    return train, test


@dataclass
class Replay:
    """A fleet of replay backends priced by the outcome file's cost model."""

    outcomes: Outcomes
    backends: dict[str, ReplayBackend]

    @classmethod
    def of(cls, outcomes: Outcomes) -> Replay:
        backends = {}
        for m in outcomes.models:
            # cost of a call = params_b x (prompt tokens + output tokens), so per 1k = 1000 x params_b
            per_1k = 1000 * outcomes.params(m)
            settings = ModelSettings(type="replay", price=Price(input_per_1k=per_1k, output_per_1k=per_1k))
            backends[m] = ReplayBackend(m, settings, None, context=None, outcomes=outcomes)
        return cls(outcomes, backends)

    async def call(self, name: str, req: GenRequest) -> tuple[Generation, Backend]:
        b = self.backends[name]
        return await b.generate(req), b

    def cost(self, row: dict[str, Any], model: str) -> float:
        return self.outcomes.params(model) * (prompt_tokens_estimate(row["prompt"]) + int(row["outcomes"][model]["output_tokens"] or 0))


def _composite_settings() -> ModelSettings:
    return ModelSettings(type="composite")


def _request(prompt: str) -> GenRequest:
    return GenRequest(kind="chat", messages=[{"role": "user", "content": prompt}])


async def _run(backend: Backend, rows: list[dict[str, Any]], tick: Callable[[], None],
               largest: str = "", watch: Callable[[], None] | None = None) -> tuple[float, float, list[int], float]:
    """(accuracy, total cost, calls per row, share of rows that reached ``largest``) of a
    backend on rows, in order, scored by the record; ``watch`` runs after each row."""
    correct, cost, calls, reached = 0, 0.0, [], 0
    for row in rows:
        gen = await backend.generate(_request(row["prompt"]))
        correct += bool(row["outcomes"][gen.model]["correct"])
        cost += sum(c.cost for c in gen.calls)
        calls.append(len(gen.calls))
        reached += any(c.model == largest for c in gen.calls)
        if watch is not None:
            watch()
        tick()
    return correct / len(rows), cost, calls, reached / len(rows)


def _auc(points: Iterable[tuple[float, float]]) -> float:
    """Area under accuracy-vs-cost-fraction on [0, 1], as a step frontier (1.0 is perfect)."""
    pts = sorted(points)
    area, best, prev = 0.0, 0.0, 0.0
    for c, a in pts:
        c = min(c, 1.0)
        area += best * (c - prev)
        best, prev = max(best, a), c
    return area + best * (1.0 - prev)


def evaluate(path: str | Path, *, seed: int = 0, budget: float = 0.18, progress: bool = True,
             pacing: bool = True) -> dict[str, Any]:
    """Train on one half, measure on the other; everything the report and --json need.

    ``budget`` is the knob: the share of always calling the most expensive model that the
    cascade may spend. The threshold that spends it on the training half is the starting point;
    with ``pacing`` the cascade then follows its own spending on the test rows, in order, as it
    would live (routing/pacing.py). Without, the training threshold stays fixed.
    """
    outcomes = Outcomes.load(path)
    models = list(outcomes.models)
    train, test = split(outcomes.rows, seed)
    if len(train) < 10 or len(test) < 10:
        raise ValueError(f"{path}: too few rows to split ({len(outcomes.rows)})")
    replay = Replay.of(outcomes)
    # The outcome file may say how to compare answers ("extract": a type or an extractor's
    # fields); otherwise the comparison is chosen on the training half.
    declared = outcomes.header.get("extract")
    if declared is not None:
        extractor = Extractor.model_validate({"type": declared} if isinstance(declared, str) else declared)
        extractor_scores: dict[str, float] = {}
    else:
        extractor, extractor_scores = fitting.choose_extractor(train, models)

    # --- train ---------------------------------------------------------------------------
    t_train = fitting.Table.build(train, models, extractor, replay.cost)
    mean_cost = dict(zip(models, t_train.cost.mean(axis=0).tolist(), strict=True))
    largest = max(models, key=lambda m: (outcomes.params(m), mean_cost[m]))
    li = models.index(largest)
    verifier = fitting.fit_verifier(t_train)
    ladder = t_train.ladder()
    train_points = fitting.sweep(t_train, ladder, verifier)
    chosen_th = fitting.choose_threshold(train_points, budget * mean_cost[largest])
    sequence = [models[i] for i in ladder]
    success = SuccessModel.train([r["prompt"] for r in train], t_train.correct, models)
    router_th = _router_threshold(success.predict([r["prompt"] for r in train]), t_train, budget * mean_cost[largest])

    # --- test ----------------------------------------------------------------------------
    t_test = fitting.Table.build(test, models, extractor, replay.cost)
    ref_cost = float(t_test.cost[:, li].sum())
    single = {m: {"accuracy": float(t_test.correct[:, i].mean()), "cost_fraction": float(t_test.cost[:, i].sum() / ref_cost)}
              for i, m in enumerate(models)}
    best_single = max(single, key=lambda m: single[m]["accuracy"])
    thresholds = sorted({*fitting.THRESHOLDS, chosen_th})
    bar = _Bar(len(test) * (len(thresholds) + 1 + pacing), progress)
    # The largest model's mean answer length on the training half: the pacer's estimate of what
    # calling it would have cost on a request it did not.
    ref_tokens = round(float(np.mean([int(r["outcomes"][largest]["output_tokens"] or 0) for r in train])), 1) or None
    paced = fitting.to_spec(sequence, verifier, chosen_th, extractor, note=f"fitted ladder, paced to {budget:g}",
                            budget={"share": budget, "reference": largest, "reference_output_tokens": ref_tokens}) \
        if pacing else None

    async def run_all() -> dict[str, Any]:
        out: dict[str, Any] = {"sweep": []}
        for th in thresholds:
            spec = fitting.to_spec(sequence, verifier, th, extractor, note=f"fitted ladder at threshold {th:g}")
            cascade = CascadeBackend(f"fitted@{th:g}", spec, replay.call, _composite_settings())
            acc, cost, calls, reached = await _run(cascade, test, bar.update, largest)
            point = {"threshold": th, "accuracy": acc, "cost_fraction": cost / ref_cost,
                     "largest_model_rate": reached, "mean_calls": float(np.mean(calls))}
            out["sweep"].append(point)
            if th == chosen_th:
                out["fixed"] = out["chosen"] = point
        if paced is not None:
            cascade = CascadeBackend("fitted, paced", paced, replay.call, _composite_settings(),
                                     reference_price=replay.backends[largest].settings.price)
            pacer = cascade.pacer
            assert pacer is not None
            seen: list[float] = []
            acc, cost, calls, reached = await _run(cascade, test, bar.update, largest,
                                                   watch=lambda: seen.append(pacer.threshold()))
            out["chosen"] = {"threshold": chosen_th, "accuracy": acc, "cost_fraction": cost / ref_cost,
                             "largest_model_rate": reached, "mean_calls": float(np.mean(calls)),
                             "pacing": {"share": budget, "rate": pacer.spec.rate,
                                        "threshold_start": pacer.threshold_start, "threshold_end": seen[-1],
                                        # the share spent as the pacer saw it (its estimate of the reference)
                                        "estimated_share": pacer.describe()["spent_share"],
                                        "threshold_p10_p90": [float(np.quantile(seen, 0.1)),
                                                              float(np.quantile(seen, 0.9))]}}
        costs = {m: mean_cost[m] for m in models}
        router = LearnedRouterBackend("learned-router", success, costs, router_th, replay.call, _composite_settings())
        acc, cost, _, _ = await _run(router, test, bar.update)
        out["learned_router"] = {"accuracy": acc, "cost_fraction": cost / ref_cost, "threshold": router_th}
        return out

    live = asyncio.run(run_all())
    bar.close()

    # --- baselines (computed directly from the table) ------------------------------------
    order = np.argsort([mean_cost[m] for m in models])
    cheapest, best_i = int(order[0]), models.index(best_single)
    rng = random.Random(seed)
    chosen = live["chosen"]
    # a random mix of the cheapest and the best model, spending what the chosen route spends
    c_cheap, c_best = single[models[cheapest]]["cost_fraction"], single[best_single]["cost_fraction"]
    share = min(1.0, max(0.0, (chosen["cost_fraction"] - c_cheap) / max(c_best - c_cheap, 1e-12)))
    picks = [best_i if rng.random() < share else cheapest for _ in test]
    random_mix = {"accuracy": float(np.mean([t_test.correct[r, m] for r, m in enumerate(picks)])),
                  "cost_fraction": float(sum(t_test.cost[r, m] for r, m in enumerate(picks)) / ref_cost),
                  "share_of_best": share}
    Xtr, Xte = featurize([r["prompt"] for r in train]), featurize([r["prompt"] for r in test])
    knn_p = knn_predict(Xtr, t_train.correct.astype(float), Xte)
    knn_pick = pick_cheapest(knn_p, np.array([mean_cost[m] for m in models]), router_th)
    knn = {"accuracy": float(t_test.correct[np.arange(len(test)), knn_pick].mean()),
           "cost_fraction": float(t_test.cost[np.arange(len(test)), knn_pick].sum() / ref_cost)}
    oracle_pick = []
    for r in range(len(test)):
        ok = [m for m in order if t_test.correct[r, m]]
        oracle_pick.append(ok[0] if ok else int(cheapest))
    oracle = {"accuracy": float(t_test.correct[np.arange(len(test)), oracle_pick].mean()),
              "cost_fraction": float(t_test.cost[np.arange(len(test)), oracle_pick].sum() / ref_cost)}

    frontier_pts = sorted({(round(p["cost_fraction"], 6), round(p["accuracy"], 6)) for p in live["sweep"]})
    reach = [c for c, a in frontier_pts if a >= round(single[largest]["accuracy"], 6)]  # both rounded alike
    return {
        "data": str(path),
        "task": outcomes.header.get("task"),
        "split": {"seed": seed, "train": len(train), "test": len(test)},
        "budget": budget,
        "test": {"accuracy": chosen["accuracy"], "cost_fraction": chosen["cost_fraction"],
                 "largest_model_rate": chosen["largest_model_rate"], "mean_calls": chosen["mean_calls"],
                 "threshold": chosen_th, "sequence": sequence,
                 "accuracy_vs_best_single": chosen["accuracy"] / single[best_single]["accuracy"],
                 "pacing": chosen.get("pacing"), "reference_output_tokens": ref_tokens},
        "fixed_threshold": {k: live["fixed"][k] for k in ("threshold", "accuracy", "cost_fraction")},
        "largest": {"model": largest, **single[largest]},
        "best_single": {"model": best_single, **single[best_single]},
        "single": single,
        "frontier": [[c, a] for c, a in frontier_pts],
        "auc": _auc(frontier_pts),
        "cheapest_cost_matching_largest": min(reach) if reach else None,
        "baselines": {"random_mix": random_mix, "knn_router": knn, "learned_router": live["learned_router"],
                      "oracle": oracle},
        "verifier": verifier.model_dump(),
        "extractor": {**extractor.model_dump(exclude_none=True), "chosen_by": "the outcome file" if declared is not None
                      else "agreement separation on the training half", "scores": extractor_scores},
        "sweep": live["sweep"],
    }


def _router_threshold(p: np.ndarray, t: fitting.Table, budget_cost: float) -> float:
    """The learned router's threshold: the most accurate on training rows within the budget."""
    costs = t.cost.mean(axis=0)
    best = (0.5, -1.0)
    rows = np.arange(len(p))
    for th in np.linspace(0.3, 0.99, 24):
        pick = pick_cheapest(p, costs, float(th))
        if t.cost[rows, pick].mean() <= budget_cost:
            acc = float(t.correct[rows, pick].mean())
            if acc > best[1]:
                best = (float(th), acc)
    return best[0]


def seed_summary(path: str | Path, seeds: int, budget: float, pacing: bool = True) -> str:
    """The chosen point on each of several splits: how much the figure depends on the split."""
    lines = [f"{'seed':>4s} {'acc/best':>9s} {'cost':>7s} {'>=99% at <=20%':>15s}"]
    ratios, costs, passed = [], [], 0
    for sd in range(seeds):
        res = evaluate(path, seed=sd, budget=budget, progress=False, pacing=pacing)
        r, c = res["test"]["accuracy_vs_best_single"], res["test"]["cost_fraction"]
        ok = r >= 0.99 and c <= 0.2
        ratios.append(r)
        costs.append(c)
        passed += ok
        lines.append(f"{sd:4d} {r:9.4f} {c:7.4f} {'yes' if ok else 'no':>15s}")
    lines.append(f"mean {np.mean(ratios):9.4f} {np.mean(costs):7.4f} {passed:>12d}/{seeds}")
    return "\n".join(lines)


def fitted_cascade(res: dict[str, Any]) -> dict[str, Any]:
    """The chosen cascade as config: stages, the measured verifier, the chosen threshold."""
    t = res["test"]
    ex = {k: v for k, v in res.get("extractor", {}).items() if k not in ("chosen_by", "scores")}
    budget = None
    if t.get("pacing"):
        budget = {"share": res["budget"], "reference": res["largest"]["model"],
                  "reference_output_tokens": t.get("reference_output_tokens")}
    spec = fitting.to_spec(t["sequence"], fitting.BayesVerifier.model_validate(res["verifier"]), t["threshold"],
                           Extractor.model_validate(ex), note=f"fitted by plusn eval routing on {Path(res['data']).name} "
                                             f"(budget {res['budget']:g})", budget=budget)
    return spec.model_dump(mode="json", exclude_defaults=False)


class _Bar:
    def __init__(self, total: int, enabled: bool) -> None:
        self._bar: Any = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc="replaying", unit="req", leave=False)

    def update(self) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _describe(ex: dict[str, Any]) -> str:
    kind = {"last_number": "their last number", "json_field": f"JSON field {ex.get('field')!r}",
            "regex": f"regex {ex.get('pattern')!r}"}.get(ex["type"], "whole text" + (
                " (exact)" if ex.get("similarity") == 1.0 else f" (similarity >= {ex.get('similarity')})"))
    why = ex.get("chosen_by", "")
    scores = ", ".join(f"{k} {v:+.3f}" for k, v in ex.get("scores", {}).items())
    return f"{kind}, chosen by {why}" + (f" ({scores})" if scores else "")


def report(res: dict[str, Any]) -> str:
    """The human-readable table."""
    lines = [
        f"routing eval: {res['data']}  (task {res['task']}; train {res['split']['train']}, "
        f"test {res['split']['test']}, seed {res['split']['seed']})",
        "",
        f"{'policy':44s} {'accuracy':>9s} {'cost':>8s}",
        f"{'-' * 44} {'-' * 9} {'-' * 8}",
    ]
    t = res["test"]
    paced = ", paced" if t.get("pacing") else ""
    lines.append(f"{'plusn cascade (budget ' + format(res['budget'], 'g') + paced + ')':44s} "
                 f"{t['accuracy']:9.4f} {t['cost_fraction']:8.4f}")
    if t.get("pacing"):
        f = res["fixed_threshold"]
        lines.append(f"{'plusn cascade (threshold fixed at ' + format(f['threshold'], '.4g') + ')':44s} "
                     f"{f['accuracy']:9.4f} {f['cost_fraction']:8.4f}")
    for name, b in res["baselines"].items():
        lines.append(f"{name.replace('_', ' '):44s} {b['accuracy']:9.4f} {b['cost_fraction']:8.4f}")
    for m, s in sorted(res["single"].items(), key=lambda kv: kv[1]["cost_fraction"]):
        lines.append(f"{'always ' + m:44s} {s['accuracy']:9.4f} {s['cost_fraction']:8.4f}")
    cm = res["cheapest_cost_matching_largest"]
    lines += [
        "",
        f"chosen route: ladder {' -> '.join(t['sequence'])}",
        f"  answers compared by {_describe(res['extractor'])}",
        f"  accept when P(answer right) >= {t['threshold']:.4g}" + (
            f", paced to spend {t['pacing']['share']:g} of {res['largest']['model']}: the threshold moved within "
            f"{t['pacing']['threshold_p10_p90'][0]:.4g}..{t['pacing']['threshold_p10_p90'][1]:.4g} (p10..p90), "
            f"ending at {t['pacing']['threshold_end']:.4g}" if t.get("pacing") else ""),
        f"  mean calls {t['mean_calls']:.2f}; {t['largest_model_rate']:.1%} of requests reached {res['largest']['model']}",
        f"accuracy vs best single ({res['best_single']['model']}): {t['accuracy_vs_best_single']:.4f}",
        f"cost vs always {res['largest']['model']}: {t['cost_fraction']:.4f}",
        f"area under the quality-cost curve: {res['auc']:.4f}",
        "cheapest cost matching the largest model: " + (f"{cm:.4f}" if cm is not None else "not reached"),
    ]
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
    fr = res["frontier"]
    ax.plot([c for c, _ in fr], [a for _, a in fr], "o-", label="plusn cascade (threshold sweep)")
    for m, s in res["single"].items():
        ax.scatter(s["cost_fraction"], s["accuracy"], marker="s", color="grey")
        ax.annotate(m, (s["cost_fraction"], s["accuracy"]), fontsize=6, xytext=(3, -8), textcoords="offset points")
    for name, b in res["baselines"].items():
        ax.scatter(b["cost_fraction"], b["accuracy"], marker="^", label=name.replace("_", " "))
    t = res["test"]
    ax.scatter(t["cost_fraction"], t["accuracy"], s=120, facecolors="none", edgecolors="red",
               label="chosen point" + (" (paced)" if t.get("pacing") else ""))
    ax.set_xscale("log")
    ax.set_xlabel("cost fraction of always calling the largest model (log)")
    ax.set_ylabel("accuracy (test split)")
    ax.set_title(f"routing: {res['task']}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
