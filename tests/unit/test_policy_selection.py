"""Policy selection on ladders of other shapes than the shared files: the family chosen is the
right one for the shape, the floor holds, and a paced test half keeps its budget."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from ladders import SHAPES, write_ladder

from plusn.evals import routing
from plusn.fleet.replay import Outcomes
from plusn.routing import pipeline

BUDGET = 0.19


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every shape, fitted on one half and replayed, paced, on the other (n-grams only: fast)."""
    tmp = tmp_path_factory.mktemp("ladders")
    return {s: routing.evaluate(write_ladder(tmp / f"{s}.jsonl", s, rows=500, seed=3), budget=BUDGET, progress=False,
                                embedding=False) for s in SHAPES}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_keeps_its_budget_and_its_floor(results: dict[str, dict], shape: str) -> None:
    res = results[shape]
    chosen, floor = res["chosen_policy"], res["chosen_policy"]["floor"]
    # on cross-validation: within the budget, and never below the best single model within it
    assert chosen["cost_fraction"] <= BUDGET
    assert floor is None or chosen["accuracy"] >= floor["accuracy"]
    # replayed and paced on the held-out half: at most 5% over the budget as the pacer can know
    # it (it never sees what the reference would really have cost on a request it did not
    # call); the true share strays from that estimate by up to about a seventh on these ladders
    pacing = res["test"]["pacing"]
    assert pacing is None or pacing["estimated_share"] <= BUDGET * 1.05
    assert res["test"]["cost_fraction"] <= BUDGET * 1.2
    # and every family was a candidate
    assert {"single", "router", "knn", "cascade", "ladder", "route-then-cascade"} <= set(res["candidates"])


def test_where_the_largest_model_is_not_the_best_it_is_not_paid_for(results: dict[str, dict]) -> None:
    res = results["largest-not-best"]
    assert res["best_single"]["model"] != res["largest"]["model"]
    assert res["test"]["largest_model_rate"] == 0
    assert res["test"]["accuracy_vs_best_single"] >= 0.99


def test_a_dominating_mid_size_model_is_matched_for_less_than_the_budget(results: dict[str, dict]) -> None:
    res = results["mid-dominates"]
    assert res["test"]["accuracy_vs_best_single"] >= 0.99 and res["test"]["cost_fraction"] <= BUDGET * 1.05


def test_topic_specialists_are_routed(results: dict[str, dict]) -> None:
    # letters: some small models are as good as the largest on their topics, so a router (or a
    # router choosing where a cascade starts) is what wins, and answers compare as text
    res = results["letters"]
    assert res["test"]["family"] in ("router", "knn", "route-then-cascade")
    assert res["extractor"]["type"] == "text"
    assert res["test"]["accuracy_vs_best_single"] >= 0.97


@pytest.mark.parametrize("shape", ["formulas", "useless-small", "code-values"])
def test_formula_and_code_answers_compare_as_whole_text(results: dict[str, dict], shape: str) -> None:
    assert results[shape]["extractor"]["type"] == "text"


def nested(path: Path, n: int = 300, seed: int = 4) -> Path:
    """Three models whose right answers are nested (whatever the cheap one gets right, the mid one
    does, and so on), wrong answers that never agree, and prompts that say nothing: nothing can
    beat always calling the mid-size model, which costs 5% of the largest."""
    rng = random.Random(seed)
    sizes = {"cheap-1b": 1.0, "mid-20b": 20.0, "big-400b": 400.0}
    lines = [json.dumps({"header": True, "task": "nested", "models": {m: {"params_b": p} for m, p in sizes.items()}})]
    for i in range(n):
        level = rng.random()  # right when the model's skill is above the question's level
        skill = {"cheap-1b": 0.3, "mid-20b": 0.9, "big-400b": 0.91}
        out = {m: {"correct": level < s, "answer": "7" if level < s else str(rng.randint(100, 10**6)),
                   "output_tokens": 40} for m, s in skill.items()}
        lines.append(json.dumps({"id": str(i), "prompt": f"item {rng.randint(0, 10**9)}", "gold": "7", "outcomes": out}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_when_a_single_model_wins_it_is_served_as_it_is(tmp_path: Path) -> None:
    data = Outcomes.load(nested(tmp_path / "n.jsonl"))
    replay = routing.Replay.of(data)
    fit = pipeline.fit_policy(data.rows, list(data.models), data.header, replay.cost, BUDGET)
    assert fit.policy.family == "single" and fit.policy.models == ["mid-20b"]
    assert "single model is best" in fit.why
