"""``plusn eval routing``: fit a policy on a training split of recorded outcomes, exactly as
``plusn routes fit`` does, write it as config, build its backends from that config over replay
backends, and run the test split through them.

The replay rule holds: the backends see prompts, and after each call the recorded answer and
token count; correctness is read only to fit and to score.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ModelSettings, Price
from ..errors import ConfigError
from ..fleet.backend import Backend, Delta, Generation, GenRequest
from ..fleet.replay import Outcomes, ReplayBackend
from ..routing import pipeline
from ..routing import table as fitting
from ..routing.cascade import CascadeBackend
from ..routing.embeddings import embed_prompts
from ..routing.estimator import Embed
from ..routing.fitted import to_config
from ..routing.router import LearnedRouterBackend
from ..routing.spec import CascadeSpec, RouterSpec
from .progress import Bar

# The default budget leaves room for pacing's tolerance (5%) under a 20% cost bar.
DEFAULT_BUDGET = 0.19
EMBEDDER = "e5"  # the name the eval gives its embedding model in the config it writes


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
            settings = ModelSettings(type="replay", price=outcomes.price(m))
            backends[m] = ReplayBackend(m, settings, None, context=None, outcomes=outcomes)
        return cls(outcomes, backends)

    async def call(self, name: str, req: GenRequest) -> tuple[Generation, Backend]:
        b = self.backends[name]
        return await b.generate(req), b

    def cost(self, row: dict[str, Any], model: str) -> float:
        return self.outcomes.cost(row, model)

    def price(self, model: str) -> Price:
        return self.backends[model].settings.price


def policy_backend(config: dict[str, Any], route: str, call: Callable[..., Any], price: Callable[[str], Price],
                   embed: Embed | None, paced: bool = True) -> Backend:
    """The backend serving ``route`` of a config written by :func:`~plusn.routing.fitted.to_config`,
    built as the gateway builds it (routing/build_routes.py), over ``call``."""
    settings = ModelSettings(type="composite")
    spec = config["routes"][route]
    routers = {}
    for name, raw in config.get("routers", {}).items():
        rs = RouterSpec.model_validate(raw)
        ref = (rs.budget.reference or max(rs.models(), key=lambda m: rs.costs[m])) if rs.budget else None
        routers[name] = LearnedRouterBackend(f"router:{name}", rs, call, settings, embed=embed,
                                             reference_price=price(ref) if ref else None, paced=paced)
    if "model" in spec:
        return _Single(spec["model"], call, settings)
    if "router" in spec:
        return routers[spec["router"]]
    cs = CascadeSpec.model_validate(config["cascades"][spec["cascade"]])
    if not paced:
        cs = cs.model_copy(update={"budget": None})
    ref = cs.reference()
    start = routers[cs.start.router].estimator if cs.start is not None else None
    return CascadeBackend(f"cascade:{spec['cascade']}", cs, call, settings,
                          reference_price=price(ref) if ref else None, start=start)


class _Single(Backend):
    """One model, as a route to a model is served."""

    def __init__(self, model: str, call: Callable[..., Any], settings: ModelSettings) -> None:
        super().__init__(model, settings, None, context=None)
        self._call = call

    async def generate(self, req: GenRequest) -> Generation:
        gen, backend = await self._call(self.name, req)
        return Generation(gen.text, gen.finish_reason, gen.usage, backend.name, [backend.call_of(gen.usage)],
                          {"policy": "single", "chosen": backend.name})

    async def stream(self, req: GenRequest) -> AsyncGenerator[Delta, None]:
        gen = await self.generate(req)
        yield Delta(gen.text)
        yield Delta("", gen.finish_reason, gen.usage)


async def _run(backend: Backend, rows: list[dict[str, Any]], tick: Callable[[], None], largest: str
               ) -> dict[str, float]:
    """Accuracy, cost, calls and the share of rows that reached ``largest``, rows in order."""
    correct, cost, calls, reached = 0, 0.0, 0, 0
    for row in rows:
        gen = await backend.generate(GenRequest(kind="chat", messages=[{"role": "user", "content": row["prompt"]}]))
        correct += bool(row["outcomes"][gen.model]["correct"])
        cost += sum(c.cost for c in gen.calls)
        calls += len(gen.calls)
        reached += any(c.model == largest for c in gen.calls)
        tick()
    n = len(rows)
    return {"accuracy": correct / n, "cost": cost, "mean_calls": calls / n, "largest_model_rate": reached / n}


class Progress:
    """Counts steps into a :class:`Bar` of a known total."""

    def __init__(self, total: int, enabled: bool, desc: str) -> None:
        self.total, self.done = total, 0
        self._bar = Bar(enabled, desc, "req")

    def update(self, n: int = 1) -> None:
        self.done += n
        self._bar.update(self.done, self.total)

    def close(self) -> None:
        self._bar.close()


def _vectors(rows: list[dict[str, Any]], embedding: bool, bar: Progress) -> dict[str, np.ndarray] | None:
    if not embedding:
        return None
    prompts = list(dict.fromkeys(r["prompt"] for r in rows))
    v = embed_prompts(prompts, tick=lambda n: bar.update(n))
    return None if v is None else dict(zip(prompts, v, strict=True))


def evaluate(path: str | Path, *, seed: int = 0, budget: float = DEFAULT_BUDGET, progress: bool = True,
             pacing: bool = True, embedding: bool = True) -> dict[str, Any]:
    """Fit on one half, measure on the other; everything the report and --json need.

    ``budget`` is the knob: the share of always calling the most expensive model that the policy
    may spend. With ``pacing`` the policy follows its own spending on the test rows, in order, as
    it would live (routing/pacing.py); the fixed-knob point is reported beside it.
    """
    outcomes = Outcomes.load(path)
    if unsized := outcomes.unsized():
        raise ConfigError(f"the header gives no params_b for {', '.join(map(repr, unsized))}: the cost model "
                          f"(size x tokens) cannot price it", file=str(path), key="models")
    models = list(outcomes.models)
    train, test = split(outcomes.rows, seed)
    if len(train) < 10 or len(test) < 10:
        raise ValueError(f"{path}: too few rows to split ({len(outcomes.rows)})")
    replay = Replay.of(outcomes)
    bar = Progress(len(outcomes.rows), progress, "embedding")
    vec = _vectors(outcomes.rows, embedding, bar)
    bar.close()
    train_vectors = None if vec is None else np.array([vec[r["prompt"]] for r in train])
    fit = pipeline.fit_policy(train, models, outcomes.header, replay.cost, budget, train_vectors, seed=seed)
    config = to_config(fit.policy, "fitted", budget=budget if pacing else None,
                       reference_output_tokens=fit.reference_output_tokens,
                       output_ratios=fit.output_ratios,
                       embedding_model=EMBEDDER if fit.embedding else None)
    embed = None
    if vec is not None:
        lookup = vec

        async def embed_text(text: str) -> list[float]:
            return [float(x) for x in lookup[text]]

        embed = embed_text

    largest = fit.reference
    t_test = fitting.Table.build(test, models, fit.extractor, replay.cost)
    ref_cost = float(t_test.cost[:, models.index(largest)].sum())
    bar = Progress(len(test) * (1 + pacing), progress, "replaying")

    async def run_both() -> tuple[dict[str, float], dict[str, float] | None, dict[str, Any] | None]:
        fixed = await _run(policy_backend(config, "fitted", replay.call, replay.price, embed, paced=False), test,
                           bar.update, largest)
        if not pacing:
            return fixed, None, None
        backend = policy_backend(config, "fitted", replay.call, replay.price, embed)
        paced = await _run(backend, test, bar.update, largest)
        pacer = getattr(backend, "pacer", None)
        state = None if pacer is None else {"share": budget, "fallbacks": pacer.fallbacks,
                                            "fallback_rate": pacer.fallbacks / len(test),
                                            "fallback_how": _fallback_how(backend),
                                            "threshold_start": pacer.threshold_start,
                                            "threshold_end": pacer.threshold(),
                                            "estimated_share": pacer.describe()["spent_share"]}
        return fixed, paced, state

    fixed, paced, pacing_state = asyncio.run(run_both())
    bar.close()
    return _result(path, outcomes, seed, budget, train, test, t_test, ref_cost, fit, config, fixed, paced,
                   pacing_state)


def _fallback_how(backend: Backend) -> str:
    """How a request is served once the budget has run out (see CascadeBackend.generate)."""
    spec = getattr(backend, "spec", None)
    budget = getattr(spec, "budget", None)
    if budget is None or budget.fallback is None:
        return "by nothing cheaper"
    if isinstance(backend, CascadeBackend) and backend.stage_of(budget.fallback) is not None:
        return f"by the cascade stopping at {budget.fallback}"
    return f"by {budget.fallback} alone"


def _result(path: str | Path, outcomes: Outcomes, seed: int, budget: float, train: list[dict[str, Any]],
            test: list[dict[str, Any]], t_test: fitting.Table, ref_cost: float, fit: pipeline.FitResult,
            config: dict[str, Any], fixed: dict[str, float], paced: dict[str, float] | None,
            pacing_state: dict[str, Any] | None) -> dict[str, Any]:
    models = t_test.models
    single = {m: {"accuracy": float(t_test.correct[:, i].mean()), "cost_fraction": float(t_test.cost[:, i].sum() / ref_cost)}
              for i, m in enumerate(models)}
    best_single = max(single, key=lambda m: single[m]["accuracy"])
    largest = fit.reference
    live = paced or fixed
    test_block = {"accuracy": live["accuracy"], "cost_fraction": live["cost"] / ref_cost,
                  "largest_model_rate": live["largest_model_rate"], "mean_calls": live["mean_calls"],
                  "accuracy_vs_best_single": live["accuracy"] / max(single[best_single]["accuracy"], 1e-12),
                  "family": fit.policy.family, "policy": fit.policy.label, "knob": fit.policy.knob,
                  "pacing": pacing_state, "reference_output_tokens": fit.reference_output_tokens}
    points = [(s["cost_fraction"], s["accuracy"]) for s in single.values()]
    points.append((live["cost"] / ref_cost, live["accuracy"]))
    frontier = sorted({(round(c, 6), round(a, 6)) for c, a in points})
    return {
        "data": str(path), "task": outcomes.header.get("task"),
        "split": {"seed": seed, "train": len(train), "test": len(test)},
        "budget": budget,
        "test": test_block,
        "fixed_knob": {"accuracy": fixed["accuracy"], "cost_fraction": fixed["cost"] / ref_cost},
        "largest": {"model": largest, **single[largest]},
        "best_single": {"model": best_single, **single[best_single]},
        "single": single,
        "frontier": [[c, a] for c, a in frontier],
        **fit.report(),
        "baselines": _baselines(t_test, ref_cost, live["cost"] / ref_cost, best_single, seed),
        "extractor": {**fit.extractor.model_dump(exclude_none=True),
                      "chosen_by": "the outcome file" if fit.extractor_declared
                      else "agreement separation on the training half", "scores": fit.extractor_scores},
        "config": config,
    }


def _baselines(t: fitting.Table, ref_cost: float, spent: float, best_single: str, seed: int) -> dict[str, Any]:
    """The oracle (the cheapest right model per row: the room there is) and a random mix of the
    cheapest and the best model spending what the policy spent."""
    rows = np.arange(len(t.correct))
    order = np.argsort(t.cost.mean(axis=0), kind="stable")
    cheapest, best = int(order[0]), t.models.index(best_single)
    oracle = np.array([next((m for m in order if t.correct[r, m]), cheapest) for r in rows])
    c_cheap, c_best = t.cost[:, cheapest].sum() / ref_cost, t.cost[:, best].sum() / ref_cost
    share = min(1.0, max(0.0, (spent - c_cheap) / max(c_best - c_cheap, 1e-12)))
    rng = random.Random(seed)
    mix = np.array([best if rng.random() < share else cheapest for _ in rows])
    return {name: {"accuracy": float(t.correct[rows, pick].mean()),
                   "cost_fraction": float(t.cost[rows, pick].sum() / ref_cost)}
            for name, pick in (("oracle", oracle), ("random_mix", mix))}


def seed_summary(path: str | Path, seeds: int, budget: float, pacing: bool = True, embedding: bool = True) -> str:
    """The chosen policy on each of several splits: how much the figure depends on the split."""
    lines = [f"{'seed':>4s} {'policy':20s} {'acc/best':>9s} {'cost':>7s} {'>=99% at <=20%':>15s}"]
    ratios, costs, passed = [], [], 0
    for sd in range(seeds):
        res = evaluate(path, seed=sd, budget=budget, progress=False, pacing=pacing, embedding=embedding)
        r, c = res["test"]["accuracy_vs_best_single"], res["test"]["cost_fraction"]
        ok = r >= 0.99 and c <= 0.2
        ratios.append(r)
        costs.append(c)
        passed += ok
        lines.append(f"{sd:4d} {res['test']['family']:20s} {r:9.4f} {c:7.4f} {'yes' if ok else 'no':>15s}")
    lines.append(f"mean {'':20s} {np.mean(ratios):9.4f} {np.mean(costs):7.4f} {passed:>12d}/{seeds}")
    lines.append(f"spread (sd) {'':14s} {np.std(ratios):9.4f} {np.std(costs):7.4f}")
    return "\n".join(lines)
