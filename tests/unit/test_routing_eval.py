"""`plusn eval routing` on a synthetic outcome file: the method, not the numbers of one task."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from plusn.cli import main
from plusn.config import ModelSettings, Price
from plusn.evals import routing
from plusn.fleet.backend import GenRequest
from plusn.fleet.replay import Outcomes
from plusn.routing.cascade import CascadeBackend
from plusn.routing.pacing import Pacer
from plusn.routing.spec import BudgetSpec, CascadeSpec
from plusn.routing.verifiers import BayesVerifier


def make_outcomes(path: Path, n: int = 400, seed: int = 1) -> Path:
    """Three models: two cheap ones that are often wrong (differently), one big and reliable."""
    rng = random.Random(seed)
    models = {"tiny": (1.0, 0.55), "small": (3.0, 0.7), "big": (60.0, 0.93)}
    lines = [json.dumps({"header": True, "task": "synthetic",
                         "models": {m: {"params_b": p} for m, (p, _) in models.items()}})]
    for i in range(n):
        hard = rng.random() < 0.3
        outcomes = {}
        for m, (_p, acc) in models.items():
            ok = rng.random() < (acc - (0.3 if hard and m != "big" else 0))
            answer = str(i) if ok else str(rng.randint(10_000, 99_999))
            outcomes[m] = {"correct": ok, "answer": f"The answer is {answer}", "output_tokens": rng.randint(20, 80)}
        lines.append(json.dumps({"id": f"q{i}", "task": "synthetic", "prompt": f"Question {i}: hard={hard}",
                                 "gold": str(i), "outcomes": outcomes}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_eval_routing_beats_always_large(tmp_path: Path) -> None:
    res = routing.evaluate(make_outcomes(tmp_path / "o.jsonl"), budget=0.75, progress=False, embedding=False)
    assert res["largest"]["model"] == "big" and res["split"]["train"] + res["split"]["test"] == 400
    t = res["test"]
    # about 30% of questions get two agreeing cheap answers (wrong answers never coincide
    # here), so accepting those and escalating the rest keeps quality within the budget
    assert t["cost_fraction"] <= 0.75 * 1.05
    assert t["accuracy"] >= 0.99 * res["best_single"]["accuracy"]
    assert res["baselines"]["oracle"]["accuracy"] >= t["accuracy"]
    assert t["family"] in ("cascade", "ladder", "route-then-cascade") and res["chosen_policy"]["family"] == t["family"]
    # every family was scored, and the chosen one is the most accurate within the budget
    assert {"single", "router", "knn", "cascade", "route-then-cascade"} <= set(res["candidates"])
    within = [c for c in res["candidates"].values() if c["cost_fraction"] <= 0.75]
    assert res["chosen_policy"]["accuracy"] == max(c["accuracy"] for c in within)
    assert all(c >= 0 and 0 <= a <= 1 for c, a in res["frontier"])


def test_eval_routing_cli_writes_json_and_plot(tmp_path: Path) -> None:
    data = make_outcomes(tmp_path / "o.jsonl", n=200)
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["eval", "routing", "--data", str(data), "--json", str(out), "--no-progress",
                                  "--no-embedding"])
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    for key in ("test", "largest", "best_single", "frontier", "chosen_policy", "candidates"):
        assert key in res
    assert {"accuracy", "cost_fraction"} <= set(res["test"])
    assert (tmp_path / "r.png").stat().st_size > 1000
    assert "chosen:" in r.output and "why:" in r.output and "oracle" in r.output and "route-then-cascade" in r.output


def make_letter_outcomes(path: Path, n: int = 400, seed: int = 2, latex: bool = False) -> Path:
    """Multiple choice (answers are letters) or formulas (two formulas share their last number)."""
    rng = random.Random(seed)
    models = {"tiny": (1.0, 0.6), "small": (3.0, 0.75), "big": (60.0, 0.93)}
    lines = [json.dumps({"header": True, "task": "choice", "models": {m: {"params_b": p} for m, (p, _) in models.items()}})]
    for i in range(n):
        gold = rng.randrange(4)

        def say(k: int) -> str:
            return f"\\frac{{{k + 1}}}{{7}}" if latex else "ABCD"[k]

        outcomes = {}
        for m, (_p, acc) in models.items():
            ok = rng.random() < acc
            k = gold if ok else rng.choice([x for x in range(4) if x != gold])
            outcomes[m] = {"correct": ok, "answer": say(k), "output_tokens": rng.randint(5, 40)}
        lines.append(json.dumps({"id": f"q{i}", "prompt": f"Question {i}", "gold": say(gold), "outcomes": outcomes}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_answers_that_are_not_numbers_are_compared_as_text(tmp_path: Path) -> None:
    for latex in (False, True):
        res = routing.evaluate(make_letter_outcomes(tmp_path / f"c{latex}.jsonl", latex=latex), progress=False,
                               budget=0.55, embedding=False)
        ex = res["extractor"]
        # letters have no number at all; the formulas all end in 7, so numbers would agree on wrong answers
        assert ex["type"] == "text" and ex["scores"]["last_number"] < ex["scores"]["text@1"]
        t = res["test"]
        # agreement of the two cheap models lets about half the questions stop early
        assert t["mean_calls"] < 2.7 and t["cost_fraction"] < 0.75
        assert t["accuracy"] >= 0.95 * res["best_single"]["accuracy"]


def test_the_outcome_file_can_say_how_answers_compare(tmp_path: Path) -> None:
    path = make_outcomes(tmp_path / "o.jsonl", n=200)
    lines = path.read_text().split("\n")
    header = json.loads(lines[0])
    header["extract"] = {"type": "regex", "pattern": r"answer is (\d+)"}
    path.write_text("\n".join([json.dumps(header), *lines[1:]]))
    res = routing.evaluate(path, progress=False, embedding=False)
    assert res["extractor"]["type"] == "regex" and res["extractor"]["chosen_by"] == "the outcome file"
    assert res["extractor"]["scores"] == {}


def _paced_run(path: Path, start: float, budget: dict | None) -> tuple[float, CascadeBackend]:
    """Replay every row through a two-stage bayes cascade (tiny+small, then big); the cost
    fraction against always calling big, and the cascade."""
    outcomes = Outcomes.load(path)
    replay = routing.Replay.of(outcomes)
    verifier = BayesVerifier(accuracy={"tiny": 0.55, "small": 0.7, "big": 0.93}, collide=0.01, threshold=start)
    spec = CascadeSpec(stages=[["tiny", "small"], "big"], verifier=verifier, extract={"type": "last_number"},
                       budget=budget)
    cascade = CascadeBackend("c", spec, replay.call, ModelSettings(type="composite"),
                             reference_price=replay.backends["big"].settings.price)
    spent = 0.0
    for row in outcomes.rows:
        gen = asyncio.run(cascade.generate(GenRequest(kind="chat", messages=[{"role": "user", "content": row["prompt"]}])))
        spent += sum(c.cost for c in gen.calls)
    big = sum(replay.cost(row, "big") for row in outcomes.rows)
    return spent / big, cascade


@pytest.mark.parametrize("start", [0.5, 0.999999])
def test_a_paced_cascade_spends_its_share_whatever_threshold_it_starts_from(tmp_path: Path, start: float) -> None:
    path = make_outcomes(tmp_path / "o.jsonl", n=600)
    fixed, _ = _paced_run(path, start, None)
    paced, cascade = _paced_run(path, start, {"share": 0.5, "rate": 0.3})
    # 0.5 accepts any answer of the cheap pair (about 7% of big's cost); 0.999999 calls big on
    # everything (over 100%). Paced, both end near the half asked for (the posteriors here take
    # only a few values, so the pacer alternates between them), as the pacer itself sees it.
    assert (fixed < 0.1) if start == 0.5 else (fixed > 1.0)
    assert abs(paced - 0.5) < 0.15, paced
    assert cascade.pacer is not None and abs(cascade.pacer.describe()["spent_share"] - paced) < 0.05


def test_pacer_moves_the_threshold_by_what_each_request_spends() -> None:
    price = Price(input_per_1k=1000, output_per_1k=1000)  # 1 per token
    pacer = Pacer(BudgetSpec(share=0.2, rate=0.5), "big", price, threshold_start=0.99)
    # the reference answered: 10 prompt + 90 completion tokens = 100; this request spent 100 (share 1.0)
    pacer.observe(100.0, 10, [("tiny", 30), ("big", 90)])
    looser = pacer.threshold()
    assert looser < 0.99 and pacer.length_ratio() == 3.0  # big answered 3x as long as the first stage
    # the reference was not called: its cost is estimated as 10 + 3.0 x 20 = 70; spending 7 is under 20%
    pacer.observe(7.0, 10, [("tiny", 20)])
    assert pacer.threshold() > looser
    assert pacer.describe() == {"share": 0.2, "spent_share": round(107 / 170, 4), "threshold": round(pacer.threshold(), 6),
                                "fallbacks": 0}
    # a fitted answer length is used as given (10 + 40 = 50; spending 10 is exactly the share),
    # and the threshold never passes its bounds
    fitted = Pacer(BudgetSpec(share=0.2, rate=2.0, reference_output_tokens=40), "big", price, threshold_start=0.9)
    fitted.observe(10.0, 10, [("tiny", 20)])
    assert fitted.threshold() == pytest.approx(0.9)
    for _ in range(50):
        fitted.observe(0.0, 10, [("tiny", 20)])
    assert fitted.threshold() == pytest.approx(1 - 1e-6)


def test_eval_routing_paces_the_test_half_and_reports_the_fixed_knob_too(tmp_path: Path) -> None:
    path = make_outcomes(tmp_path / "o.jsonl", n=400)
    res = routing.evaluate(path, budget=0.6, progress=False, embedding=False)
    t, fixed = res["test"], res["fixed_knob"]
    assert t["pacing"]["share"] == 0.6 and 20 <= t["reference_output_tokens"] <= 80
    # paced, the test half spends close to what was asked, never 5% past it
    assert t["cost_fraction"] <= 0.6 * 1.05 and t["cost_fraction"] > fixed["cost_fraction"] - 0.05
    off = routing.evaluate(path, budget=0.6, progress=False, pacing=False, embedding=False)
    assert off["test"]["pacing"] is None and off["test"]["cost_fraction"] == fixed["cost_fraction"]
    budget = next(iter(res["config"].get("cascades", res["config"].get("routers", {})).values()))["budget"]
    assert budget["share"] == 0.6 and budget["reference"] == "big"


def test_at_its_loosest_and_over_budget_the_pacer_hands_requests_to_the_fallback(tmp_path: Path) -> None:
    path = make_outcomes(tmp_path / "o.jsonl", n=300)
    # a budget the cascade cannot keep even at its loosest threshold (the cheap pair alone costs
    # about 7% of big): it must serve its fallback, tiny, instead of overspending; from the
    # strictest threshold too, where the pacer alone would spend 100% for dozens of requests
    # while it loosens (only the first requests, before the debt shows, escape the cap)
    budget = {"share": 0.03, "rate": 0.5, "fallback": "tiny"}
    strict, _ = _paced_run(path, 0.999999, budget)
    assert strict <= 0.05
    spent, cascade = _paced_run(path, 0.5, budget)
    assert cascade.pacer is not None and cascade.pacer.fallbacks > 0
    assert cascade.pacer.describe()["fallbacks"] == cascade.pacer.fallbacks
    assert spent <= 0.03 * 1.05
    unguarded, _ = _paced_run(path, 0.5, {"share": 0.03, "rate": 0.5})
    assert unguarded > 0.05  # without a fallback the cascade cannot get under its cheapest stage


def test_a_fallback_that_is_a_stage_caps_the_cascade_there_instead_of_answering_alone(tmp_path: Path) -> None:
    path = make_outcomes(tmp_path / "o.jsonl", n=200)
    outcomes = Outcomes.load(path)
    replay = routing.Replay.of(outcomes)
    verifier = BayesVerifier(accuracy={"tiny": 0.55, "small": 0.7, "big": 0.93}, collide=0.01, threshold=0.999)
    spec = CascadeSpec(stages=["tiny", "small", "big"], verifier=verifier, extract={"type": "last_number"},
                       budget={"share": 0.05, "rate": 0.1, "fallback": "small"})
    cascade = CascadeBackend("c", spec, replay.call, ModelSettings(type="composite"),
                             reference_price=replay.backends["big"].settings.price)
    capped = []
    for row in outcomes.rows:
        gen = asyncio.run(cascade.generate(GenRequest(kind="chat", messages=[{"role": "user", "content": row["prompt"]}])))
        if gen.route is not None and "budget_ceiling" in gen.route:
            capped.append(gen)
    # over budget, the stages still run, cheapest first, but never past the fallback's
    assert capped and len(capped) == cascade.pacer.fallbacks
    assert all(gen.route["budget_ceiling"] == "small" for gen in capped)
    assert all(c.model != "big" for gen in capped for c in gen.calls)
    assert all(gen.calls[0].model == "tiny" for gen in capped)  # not the fallback alone


def test_answers_recorded_as_json_numbers_compare_like_text(tmp_path: Path) -> None:
    path = make_outcomes(tmp_path / "o.jsonl", n=120)
    lines = path.read_text().split("\n")
    rows = [json.loads(x) for x in lines[1:] if x]
    for r in rows:
        for out in r["outcomes"].values():
            out["answer"] = int(out["answer"].split()[-1])
    path.write_text("\n".join([lines[0], *(json.dumps(r) for r in rows)]) + "\n")
    res = routing.evaluate(path, progress=False, embedding=False)
    assert res["extractor"]["type"] == "last_number" and res["test"]["accuracy"] > 0.5
