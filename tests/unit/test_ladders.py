"""tests/ladders.py: synthetic routing outcome files of stated shapes, in the real files' format."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import ladders
import numpy as np
import pytest

from plusn.fleet.replay import Outcomes, prompt_tokens_estimate

ROWS = 800


@cache
def drawn(shape: str, seed: int = 0) -> ladders.Ladder:
    return ladders.generate(shape, ROWS, seed)


def summary(lines: list[dict[str, Any]]) -> dict[str, tuple[float, float, float]]:
    """Per model: (params_b, accuracy, cost fraction of always calling the largest model)."""
    header, rows = lines[0], lines[1:]
    params = {m: float(v["params_b"]) for m, v in header["models"].items()}
    cost = {m: sum(p * (prompt_tokens_estimate(r["prompt"]) + r["outcomes"][m]["output_tokens"]) for r in rows)
            for m, p in params.items()}
    ref = cost[max(params, key=params.__getitem__)]
    return {m: (p, float(np.mean([r["outcomes"][m]["correct"] for r in rows])), cost[m] / ref) for m, p in params.items()}


@pytest.mark.parametrize("shape", ladders.SHAPES)
def test_every_shape_is_a_loadable_outcome_file(shape: str, tmp_path: Path) -> None:
    path = ladders.write_ladder(tmp_path / f"{shape}.jsonl", shape, rows=600, seed=3)
    out = Outcomes.load(path)
    assert out.header == {"header": True, "task": out.header["task"], "source": "synthetic (tests/ladders.py)",
                          "models": out.header["models"]}
    assert len(out.rows) == 600 and 8 <= len(out.models) <= 12
    params = sorted(out.params(m) for m in out.models)
    assert params[0] <= 3 and params[-1] >= 400
    assert len({r["prompt"] for r in out.rows}) == 600 and len({r["id"] for r in out.rows}) == 600
    for r in out.rows:
        assert set(r) == {"id", "task", "prompt", "gold", "outcomes"} and set(r["outcomes"]) == set(out.models)
        for o in r["outcomes"].values():
            assert set(o) == {"correct", "answer", "output_tokens"}
            assert isinstance(o["output_tokens"], int) and o["output_tokens"] > 0
            assert o["answer"] is None or isinstance(o["answer"], str)
    chinese = np.mean([any("\u4e00" <= ch <= "\u9fff" for ch in r["prompt"]) for r in out.rows])
    assert 0.2 < chinese < 0.45


def test_model_names_differ_across_shapes() -> None:
    names = [m for s in ladders.SHAPES for m in drawn(s).lines[0]["models"]]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("shape", ladders.SHAPES)
def test_correct_exactly_when_the_answer_is_gold(shape: str) -> None:
    rows = drawn(shape).lines[1:]
    nulls = 0
    for r in rows:
        for o in r["outcomes"].values():
            assert o["correct"] == (o["answer"] is not None and ladders.normalise(o["answer"]) == r["gold"])
            nulls += o["answer"] is None
    assert nulls > 0  # some models sometimes give no answer


def test_stated_shapes_hold() -> None:
    s = summary(drawn("strong-small").lines)
    largest = max(s, key=lambda m: s[m][0])
    assert max(s, key=lambda m: s[m][1]) == largest and s[largest][1] >= 0.94
    assert all(0.5 <= acc <= 0.85 for p, acc, _ in s.values() if p < 10)

    s = summary(drawn("largest-not-best").lines)
    largest = max(s, key=lambda m: s[m][0])
    assert max(acc for _, acc, _ in s.values()) - s[largest][1] >= 0.05

    s = summary(drawn("mid-dominates").lines)
    best = max(acc for _, acc, _ in s.values())
    mid = [m for m, (p, acc, c) in s.items() if 20 <= p <= 40 and acc >= best - 0.01 and c < 0.1]
    assert mid and all(acc <= s[mid[0]][1] + 0.01 for p, acc, _ in s.values() if p > s[mid[0]][0])

    s = summary(drawn("useless-small").lines)
    largest = max(s, key=lambda m: s[m][0])
    assert all(acc < 0.12 for p, acc, _ in s.values() if p < 10)
    assert 0.4 <= max(acc for _, acc, _ in s.values()) <= 0.6
    near = [m for m, (p, acc, c) in s.items() if 100 <= p <= 150 and acc >= s[largest][1] - 0.03 and c < 0.3]
    assert near

    s = summary(drawn("formulas").lines)
    largest = max(s, key=lambda m: s[m][0])
    assert all(0.15 <= acc <= 0.45 for p, acc, _ in s.values() if p < 10) and 0.65 <= s[largest][1] <= 0.75


@pytest.mark.parametrize("shape", ["letters", "code-values"])
def test_topic_specialists_match_the_largest_model_on_their_topics(shape: str) -> None:
    ladder = drawn(shape)
    s = summary(ladder.lines)
    largest = max(s, key=lambda m: s[m][0])
    assert max(s, key=lambda m: s[m][1]) == largest or shape == "letters"
    rows, topics = ladder.lines[1:], np.array(ladder.topics)
    won = 0
    for t in set(ladder.topics):
        acc = {m: np.mean([r["outcomes"][m]["correct"] for r, tt in zip(rows, topics, strict=True) if tt == t]) for m in s}
        won += any(acc[m] >= acc[largest] for m in s if s[m][2] < 0.1)
    assert won >= 3


def test_answer_types_and_how_often_wrong_answers_coincide() -> None:
    def collide(shape: str) -> float:
        same = total = 0
        for r in drawn(shape).lines[1:]:
            wrong = [o["answer"] for o in r["outcomes"].values() if not o["correct"] and o["answer"] is not None]
            wrong = [ladders.normalise(a) for a in wrong]
            total += len(wrong) * (len(wrong) - 1) // 2
            same += sum(wrong[i] == wrong[j] for i in range(len(wrong)) for j in range(i + 1, len(wrong)))
        return same / total

    assert all(r["gold"] in "ABCD" for r in drawn("letters").lines[1:])
    assert all(ladders.normalise(r["gold"]).lstrip("-").isdigit() for r in drawn("strong-small").lines[1:])
    assert any("\\" in r["gold"] for r in drawn("formulas").lines[1:])
    letters, numbers = collide("letters"), collide("strong-small")
    assert letters > numbers > max(collide("formulas"), collide("code-values")) > 0


def test_same_seed_same_file_and_another_seed_another(tmp_path: Path) -> None:
    a = ladders.write_ladder(tmp_path / "a.jsonl", "mid-dominates", rows=300, seed=7)
    b = ladders.write_ladder(tmp_path / "b.jsonl", "mid-dominates", rows=300, seed=7)
    c = ladders.write_ladder(tmp_path / "c.jsonl", "mid-dominates", rows=300, seed=8)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


def test_command_line_writes_one_file_per_shape(tmp_path: Path) -> None:
    ladders.main([str(tmp_path), "--rows", "40"])
    assert sorted(p.stem for p in tmp_path.glob("*.jsonl")) == sorted(ladders.SHAPES)
    first = json.loads((tmp_path / "letters.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["header"] is True and first["task"]
