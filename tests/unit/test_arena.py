"""The evaluation arena: metrics, the frontier, suites, a whole run on scripted models, its report."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from plusn.cli import main
from plusn.errors import ConfigError
from plusn.evals import arena, metrics, report, runs
from plusn.load_config import load_settings


@pytest.mark.parametrize(("metric", "answer", "reference", "extra", "want"), [
    ("exact", "  Paris. ", "paris", {}, 1.0),
    ("exact", "Paris, France", "Paris", {}, 0.0),
    ("exact", "ＡＢＣ", "abc", {}, 1.0),  # full-width folds
    ("contains", "I think it is Paris.", "paris", {}, 1.0),
    ("contains", "首都是北京。", ["Beijing", "北京"], {}, 1.0),
    ("contains", "Lyon", "Paris", {}, 0.0),
    ("contains", "The answer is 14", 4, {}, 0.0),  # a whole number, not a digit inside one
    ("contains", "I do not know", "no", {}, 0.0),  # a whole word
    ("contains", "It has 4 legs.", 4, {}, 1.0),
    ("numeric", "so the answer is 1,234.0", 1234, {}, 1.0),
    ("numeric", "about 12 or 13", "12", {}, 0.0),  # the last number counts
    ("numeric", "no number here", 3, {}, 0.0),
    ("regex", "Order #A-1234 shipped", "", {"pattern": r"#A-\d{4}"}, 1.0),
    ("regex", "nothing", r"\d+", {}, 0.0),
    ("json_field", '```json\n{"city": "Berlin"}\n```', "berlin", {"field": "city"}, 1.0),
    ("json_field", 'Sure! {"a": {"b": [1, 42]}}', 42, {"field": "a.b.1"}, 1.0),
    ("json_field", '{"city": "Bonn"}', "Berlin", {"field": "city"}, 0.0),
    ("json_field", "not json", "Berlin", {"field": "city"}, 0.0),
    ("f1", "the cat sat", "the cat sat", {}, 1.0),
    ("f1", "我爱北京", "我爱上海", {}, 0.5),  # Chinese compared character by character
    ("f1", "dog", "cat", {}, 0.0),
])
def test_metrics(metric: str, answer: str, reference: object, extra: dict[str, str], want: float) -> None:
    assert metrics.METRICS[metric](answer, reference, **extra) == pytest.approx(want)


def test_judge_verdicts_and_the_frontier() -> None:
    assert arena.judge_verdict("CORRECT") == 1.0
    assert arena.judge_verdict("Incorrect.") == 0.0  # not read as "correct"
    assert arena.judge_verdict("错误") == 0.0 and arena.judge_verdict("正确") == 1.0
    assert arena.judge_verdict("maybe") is None
    assert arena.judge_verdict("Not correct.") == 0.0 and arena.judge_verdict("不对") == 0.0
    points = {"cheap": (0.1, 0.5), "mid": (0.5, 0.8), "waste": (0.9, 0.7), "big": (1.0, 0.9), "free": (0.0, 0.2)}
    assert arena.pareto(points) == ["free", "cheap", "mid", "big"]


def _suite(tmp_path: Path, body: str, tasks: list[dict[str, object]]) -> Path:
    (tmp_path / "tasks.jsonl").write_text("\n".join(json.dumps(t, ensure_ascii=False) for t in tasks) + "\n",
                                          encoding="utf-8")
    (tmp_path / "suite.yaml").write_text(body, encoding="utf-8")
    return tmp_path / "suite.yaml"


def test_suite_errors_name_the_file_and_key(tmp_path: Path) -> None:
    bad = _suite(tmp_path, "name: s\ntasks: tasks.jsonl\nmetric: bleu\ncontestants: [a]\n",
                 [{"prompt": "q", "reference": "r"}])
    with pytest.raises(ConfigError, match=r"suite\.yaml: metric: .*unknown metric 'bleu'"):
        arena.load_suite(bad)
    (tmp_path / "suite.yaml").write_text("name: s\ntasks: tasks.jsonl\ncontestants: [a]\n", encoding="utf-8")
    (tmp_path / "tasks.jsonl").write_text('{"prompt": "q", "reference": "r"}\n{"prompt": "no reference"}\n')
    with pytest.raises(ConfigError, match=r"tasks\.jsonl:2: a task needs"):
        arena.load_suite(tmp_path / "suite.yaml")
    (tmp_path / "tasks.jsonl").write_text('{"prompt": "q", "reference": "r", "metric": "judge"}\n')
    with pytest.raises(ConfigError, match="judge: the judge metric needs a judge model"):
        arena.load_suite(tmp_path / "suite.yaml")
    (tmp_path / "suite.yaml").write_text("name: s\ntasks: tasks.jsonl\ncontestants: [a, a]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="contestant names must differ"):
        arena.load_suite(tmp_path / "suite.yaml")
    (tmp_path / "suite.yaml").write_text("name: s\ntasks: tasks.jsonl\ncontestants: [{model: a, template: 'Q:'}]\n")
    with pytest.raises(ConfigError, match=r"contestants\.0: .*must contain \{prompt\}"):
        arena.load_suite(tmp_path / "suite.yaml")
    # every task line is checked before any model is called, and named by its line
    (tmp_path / "suite.yaml").write_text("name: s\ntasks: tasks.jsonl\ncontestants: [a]\n", encoding="utf-8")
    for line, message in [('{"messages": [], "reference": "r"}', "messages: must be a non-empty list"),
                          ('{"messages": [{"role": "system", "content": "x"}], "reference": "r"}', "needs a user"),
                          ('{"prompt": "q", "reference": "r", "metric": "json_field"}', "needs a field"),
                          ('{"prompt": "q", "reference": "(", "metric": "regex"}', "not a regular expression"),
                          ('{"prompt": "q", "reference": "?"}', "nothing could match it")]:
        (tmp_path / "tasks.jsonl").write_text('{"prompt": "ok", "reference": "r"}\n' + line + "\n")
        with pytest.raises(ConfigError, match=rf"tasks\.jsonl:2: .*{message}"):
            arena.load_suite(tmp_path / "suite.yaml")


CONFIG = """
data_dir: {data}
skills: {{builtin: false}}
models:
  small:
    type: scripted
    price: {{input_per_1k: 0.001, output_per_1k: 0.001}}
    rules: [{{match: "France", reply: "Paris"}}]
    replies: ["no idea"]
  big:
    type: scripted
    price: {{input_per_1k: 0.01, output_per_1k: 0.01}}
    rules: [{{match: "France", reply: "Paris"}}, {{match: "Japan", reply: "Tokyo"}}, {{match: "2\\\\+2", reply: "4"}}]
  broken: {{type: scripted, fail: upstream, retries: 0, circuit_breaker: false}}
  base:
    type: scripted
    capabilities: {{chat: false, completion: true}}
    replies: ["Paris"]
  judge:
    type: scripted
    rules: [{{match: "Candidate answer: (Paris|Tokyo|4)\\\\b", reply: "CORRECT"}}]
    replies: ["INCORRECT"]
"""


def test_a_run_scores_costs_and_ranks_every_contestant(tmp_path: Path) -> None:
    from plusn.assemble import assemble

    cfg = tmp_path / "plusn.yaml"
    cfg.write_text(CONFIG.format(data=tmp_path / "data"), encoding="utf-8")
    suite = _suite(tmp_path, "name: caps\ntasks: tasks.jsonl\nmetric: judge\njudge: judge\n"
                             "contestants: [small, big, broken]\n",
                   [{"prompt": "capital of France?", "reference": "Paris"},
                    {"prompt": "capital of Japan?", "reference": "Tokyo"},
                    {"prompt": "2+2?", "reference": 4, "metric": "numeric"}])

    async def go() -> dict[str, object]:
        fleet = assemble(load_settings(cfg, environ={})).fleet
        try:
            seen: list[tuple[int, int]] = []
            res = await arena.run_suite(fleet, suite, lambda d, t: seen.append((d, t)))
            assert seen[-1] == (9, 9)
            return res
        finally:
            await fleet.close()

    res = asyncio.run(go())
    board = {b["name"]: b for b in res["contestants"]}  # type: ignore[attr-defined]
    assert board["small"]["quality"] == pytest.approx(1 / 3)
    assert board["big"]["quality"] == pytest.approx(1.0)
    assert board["broken"]["quality"] == 0 and board["broken"]["errors"] == 3
    assert 0 < board["small"]["cost"] < board["big"]["cost"]
    assert res["pairwise"]["big"]["small"] == pytest.approx(5 / 6)  # type: ignore[index]
    assert res["pareto"] == ["small", "big"]  # broken costs nothing because it answered nothing: not a choice
    # the judge read the candidate's answer; the numeric task was scored without it
    items = res["items"]  # type: ignore[assignment]
    assert items[0]["results"]["big"]["judge"] == "CORRECT" and "judge" not in items[2]["results"]["big"]

    page = report.render(res)  # type: ignore[arg-type]
    assert page.count("<circle") == 3 and "<polyline" in page  # three points, the frontier joined
    assert "The judge (judge) cost" in page
    assert re.search(r"<td>big ★</td>", page) and "83%" in page  # big beats small 5/6 of the time

    db = tmp_path / "data" / "plusn.db"
    runs.save(db, res)  # type: ignore[arg-type]
    assert runs.recent(db)[0]["id"] == res["id"] and runs.load(db, str(res["id"]))["tasks"] == 3  # type: ignore[index]
    assert runs.load(db, "nope") is None


def test_plusn_eval_run_writes_the_report_and_keeps_the_run(tmp_path: Path) -> None:
    cfg = tmp_path / "plusn.yaml"
    cfg.write_text(CONFIG.format(data=tmp_path / "data"), encoding="utf-8")
    suite = _suite(tmp_path, "name: caps\ntasks: tasks.jsonl\nconfig: plusn.yaml\ncontestants: [small, big]\n",
                   [{"prompt": "capital of France?", "reference": "Paris"},
                    {"prompt": "capital of Japan?", "reference": "Tokyo"}])
    out = CliRunner().invoke(main, ["eval", "run", str(suite), "--no-progress", "--json", str(tmp_path / "r.json")])
    assert out.exit_code == 0, out.output
    assert re.search(r"big\s+1\.000 .*\*", out.output) and re.search(r"small\s+0\.500", out.output)
    assert (tmp_path / "suite-report.html").read_text().startswith("<!doctype html>")
    result = json.loads((tmp_path / "r.json").read_text())
    assert runs.load(tmp_path / "data" / "plusn.db", result["id"]) is not None
    bad = CliRunner().invoke(main, ["eval", "run", str(_suite(
        tmp_path, "name: x\ntasks: tasks.jsonl\nconfig: plusn.yaml\ncontestants: [nosuch]\n",
        [{"prompt": "q", "reference": "r"}])), "--no-progress"])
    assert bad.exit_code != 0 and "contestant 'nosuch'" in bad.output and "Available models" in bad.output
    no_judge = CliRunner().invoke(main, ["eval", "run", str(_suite(
        tmp_path, "name: x\ntasks: tasks.jsonl\nconfig: plusn.yaml\nmetric: judge\njudge: nosuch\ncontestants: [small]\n",
        [{"prompt": "q", "reference": "r"}])), "--no-progress"])
    assert no_judge.exit_code != 0 and "judge: The model 'nosuch' does not exist" in no_judge.output
    # a report path that cannot be written: a clear error, and the run is kept
    unwritable = CliRunner().invoke(main, ["eval", "run", str(_suite(
        tmp_path, "name: y\ntasks: tasks.jsonl\nconfig: plusn.yaml\ncontestants: [small]\n",
        [{"prompt": "capital of France?", "reference": "Paris"}])), "--no-progress", "--html",
        str(tmp_path / "no" / "such" / "dir" / "r.html")])
    assert unwritable.exit_code != 0 and "cannot write" in unwritable.output and "Traceback" not in unwritable.output
    assert "y" in [r["suite"] for r in runs.recent(tmp_path / "data" / "plusn.db")]


def test_a_base_model_gets_a_template_and_stops_before_the_next_question(tmp_path: Path) -> None:
    from plusn.assemble import assemble

    cfg = tmp_path / "plusn.yaml"
    cfg.write_text(CONFIG.format(data=tmp_path / "data"), encoding="utf-8")
    suite = _suite(tmp_path, "name: b\ntasks: tasks.jsonl\ncontestants:\n"
                             "  - base\n  - {name: templated, model: base, template: \"Question: {prompt}\\nAnswer:\"}\n",
                   [{"prompt": "capital of France?", "reference": "Paris"}])

    async def go() -> list[object]:
        fleet = assemble(load_settings(cfg, environ={})).fleet
        try:
            res = await arena.run_suite(fleet, suite)
            assert [b["quality"] for b in res["contestants"]] == [1.0, 1.0]
            return list(fleet.members["base"].received)
        finally:
            await fleet.close()

    plain, templated = asyncio.run(go())
    assert plain.prompt == "Q: capital of France?\nA:" and plain.stop == ["\n\n", "\nQ:"]  # type: ignore[attr-defined]
    assert templated.prompt == "Question: capital of France?\nAnswer:"  # type: ignore[attr-defined]
    assert templated.stop == ["\n\n", "\nQuestion:"]  # type: ignore[attr-defined]
