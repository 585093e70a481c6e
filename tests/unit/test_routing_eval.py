"""`plusn eval routing` on a synthetic outcome file: the method, not the numbers of one task."""

from __future__ import annotations

import json
import random
from pathlib import Path

from click.testing import CliRunner

from plusn.cli import main
from plusn.evals import routing


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
    res = routing.evaluate(make_outcomes(tmp_path / "o.jsonl"), budget=0.9, progress=False)
    assert res["largest"]["model"] == "big" and res["split"]["train"] + res["split"]["test"] == 400
    t = res["test"]
    # about 30% of questions get two agreeing cheap answers (wrong answers never coincide
    # here), so accepting those and escalating the rest keeps quality at about 75% of the cost
    assert t["cost_fraction"] < 0.85
    assert t["accuracy"] >= 0.99 * res["best_single"]["accuracy"]
    assert res["baselines"]["oracle"]["accuracy"] >= t["accuracy"]
    assert 0 < res["auc"] <= 1
    assert all(c >= 0 and 0 <= a <= 1 for c, a in res["frontier"])


def test_eval_routing_cli_writes_json_and_plot(tmp_path: Path) -> None:
    data = make_outcomes(tmp_path / "o.jsonl", n=200)
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["eval", "routing", "--data", str(data), "--json", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    for key in ("test", "largest", "best_single", "frontier"):
        assert key in res
    assert {"accuracy", "cost_fraction"} <= set(res["test"])
    assert (tmp_path / "r.png").stat().st_size > 1000
    assert "plusn cascade" in r.output and "oracle" in r.output


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
                               budget=0.9)
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
    res = routing.evaluate(path, progress=False)
    assert res["extractor"]["type"] == "regex" and res["extractor"]["chosen_by"] == "the outcome file"
    assert res["extractor"]["scores"] == {}
