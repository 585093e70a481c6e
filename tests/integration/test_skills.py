"""Skills through the real gateway: chat as ``skill:<name>``, ``POST /v1/skills/<name>``,
schema validation with retries, versions in the ledger, and clear errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ledger_rows, write_config
from fastapi.testclient import TestClient

from plusn.errors import ConfigError
from plusn.gateway.app import create_app
from plusn.load_config import load_settings

GOOD = '{"label": "negative", "confidence": 0.9, "reason": "包装破损"}'

FLEET: dict[str, Any] = {
    # Answers the sentiment skill with prose first, then (told what was wrong) with JSON.
    "chatty": {"type": "scripted", "replies": ["I think it is negative.", f"Sure: {GOOD}"]},
    "never-json": {"type": "scripted", "replies": ["no JSON from me"]},
    "echo": {"type": "scripted", "replies": ["echo: {last_user}"]},
}

GREETING = """---
name: greet
description: Greet a customer by name.
variables:
  name: {type: string}
  tone: {type: string, enum: [warm, formal], default: warm}
model: echo
---
Greet {{ name }} in a {{ tone }} tone.
"""


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[TestClient]:
    skills = tmp_path / "skills"
    skills.mkdir()
    (skills / "greet.md").write_text(GREETING, encoding="utf-8")
    (skills / "strict.yaml").write_text(
        "name: strict\ntemplate: 'Rate {{ text }}'\nvariables: {text: {type: string}}\nmodel: never-json\nretries: 1\n"
        "output: {type: object, required: [score], properties: {score: {type: integer}}}\n", encoding="utf-8")
    cfg = write_config(tmp_path, {"models": FLEET, "skills": {"paths": ["skills"], "default_model": "chatty"}})
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:
        yield c


def _received(client: TestClient, model: str) -> list[Any]:
    return client.app.state.plusn.fleet.members[model].received  # type: ignore[attr-defined,no-any-return]


def test_skill_api_validates_and_retries_until_the_schema_holds(app_client: TestClient) -> None:
    r = app_client.post("/v1/skills/sentiment", json={"input": "物流很快，但是包装破了"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["output"] == json.loads(GOOD)
    assert body["plusn"]["route"]["attempts"] == 2 and body["plusn"]["route"]["enforced"] == "validated"
    listed = {s["id"]: s for s in app_client.get("/v1/skills").json()["data"]}
    assert body["version"] == listed["sentiment"]["version"] == body["plusn"]["route"]["version"]
    second = _received(app_client, "chatty")[-1].messages
    # the retry shows the model its reply and what was wrong with it
    assert second[-2] == {"role": "assistant", "content": "I think it is negative."}
    assert "does not satisfy the schema" in second[-1]["content"]
    # the skill's few-shot examples come before the request, as earlier turns
    assert any("物流很快，但是包装破了，客服也不理人" in m["content"] for m in second if m["role"] == "user")
    row = next(x for x in ledger_rows(app_client) if x["id"] == body["plusn"]["request_id"])
    assert row["route"] == "skill:sentiment" and row["status"] == 200
    assert row["extra"]["route"]["version"] == body["version"]
    assert row["served_models"] == ["chatty", "chatty"]


def test_skill_as_a_chat_model(app_client: TestClient) -> None:
    r = app_client.post("/v1/chat/completions", json={
        "model": "skill:greet", "messages": [{"role": "user", "content": json.dumps({"name": "王芳"})}]})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "echo: Greet 王芳 in a warm tone."
    assert r.headers["x-plusn-route"] == "skill:greet"
    # a plain message fills the input variable of a one-input skill
    r = app_client.post("/v1/chat/completions", json={
        "model": "skill:summarize", "messages": [{"role": "user", "content": "今天开会讨论了预算。"}],
        "stream": True})
    assert r.status_code == 200 and "[DONE]" in r.text
    assert "今天开会讨论了预算。" in _received(app_client, "chatty")[-1].messages[-1]["content"]


@pytest.mark.parametrize(("body", "param", "words"), [
    ({"input": {"tone": "warm"}}, "input.name", "needs the variable"),
    ({"input": {"name": "x", "mood": "y"}}, "input.mood", "has no variable"),
    ({"input": {"name": "x", "tone": "angry"}}, "input.tone", "must be one of"),
    ({"input": {"name": 5}}, "input.name", "expected string"),
])
def test_bad_variables_are_400s_naming_the_variable(app_client: TestClient, body: dict[str, Any], param: str,
                                                    words: str) -> None:
    before = len(ledger_rows(app_client))
    r = app_client.post("/v1/skills/greet", json=body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["param"] == param and words in err["message"]
    assert len(ledger_rows(app_client)) == before + 1  # every request leaves one row


def test_unknown_skill_and_unsatisfiable_schema(app_client: TestClient) -> None:
    r = app_client.post("/v1/skills/nope", json={"input": "x"})
    assert r.status_code == 404 and "GET /v1/skills" in r.json()["error"]["message"]
    r = app_client.post("/v1/skills/strict", json={"input": "x"})
    assert r.status_code == 502
    assert r.json()["error"]["code"] == "invalid_output" and "2 attempts" in r.json()["error"]["message"]
    assert ledger_rows(app_client)[-1]["status"] == 502


def test_version_follows_content(tmp_path: Path) -> None:
    from plusn.skills.library import load_file

    f = tmp_path / "s.md"
    f.write_text(GREETING, encoding="utf-8")
    v1 = load_file(f).version
    assert load_file(f).version == v1
    f.write_text(GREETING.replace("Greet", "Welcome"), encoding="utf-8")
    assert load_file(f).version != v1


@pytest.mark.parametrize(("text", "key", "line"), [
    ("name: x\ntemplate: hi\nvariables:\n  a: {type: strin}\n", "variables.a.type", 4),
    ("name: x\ntemplate: '{{ a '\n", "template", 2),
    ("name: x\ntemplate: hi\noutput: {type: wrong}\n", "output", 3),
    ("name: x\ntemplate: hi\nmodle: echo\n", "modle", 3),
])
def test_skill_file_errors_name_file_key_and_line(tmp_path: Path, text: str, key: str, line: int) -> None:
    from plusn.skills.library import load_file

    f = tmp_path / "bad.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_file(f)
    assert exc.value.key == key and str(f) in str(exc.value) and f"line {line}" in str(exc.value)


def test_skills_cli_list_and_run(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from plusn.cli import main

    cfg = write_config(tmp_path, {"models": {"m": {"type": "scripted", "replies": [GOOD]}},
                                  "skills": {"default_model": "m"}})
    runner = CliRunner()
    listed = runner.invoke(main, ["skills", "list", "-c", str(cfg)])
    assert listed.exit_code == 0 and "sentiment" in listed.output and "-> m" in listed.output
    ran = runner.invoke(main, ["skills", "run", "sentiment", "包装破了", "-c", str(cfg)])
    assert ran.exit_code == 0, ran.output
    out = json.loads(ran.output)
    assert out["output"] == json.loads(GOOD) and out["attempts"] == 1
    bad = runner.invoke(main, ["skills", "run", "nope", "x", "-c", str(cfg)])
    assert bad.exit_code != 0 and "no skill named 'nope'" in bad.output


def test_an_old_version_stays_callable_after_the_file_changes(tmp_path: Path) -> None:
    skills = tmp_path / "skills"
    skills.mkdir()
    (skills / "greet.md").write_text(GREETING, encoding="utf-8")
    cfg = write_config(tmp_path, {"models": FLEET, "skills": {"paths": ["skills"], "builtin": False}})
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:
        v1 = c.post("/v1/skills/greet", json={"input": "Li"}).json()["version"]
    (skills / "greet.md").write_text(GREETING.replace("Greet {{ name }}", "Welcome {{ name }}"), encoding="utf-8")
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:  # restarted with the new file
        now = c.post("/v1/skills/greet", json={"input": "Li"}).json()
        assert now["version"] != v1 and now["output"] == "echo: Welcome Li in a warm tone."
        old = c.post("/v1/skills/greet", json={"input": "Li", "version": v1}).json()
        assert old["version"] == v1 and old["output"] == "echo: Greet Li in a warm tone."
        chat = c.post("/v1/chat/completions", json={"model": f"skill:greet@{v1}",
                                                    "messages": [{"role": "user", "content": "Wang"}]})
        assert chat.json()["choices"][0]["message"]["content"] == "echo: Greet Wang in a warm tone."
        versions = c.get("/v1/skills/greet/versions").json()
        assert versions["current"] == now["version"] and {v["version"] for v in versions["data"]} == {v1, now["version"]}
        missing = c.post("/v1/skills/greet", json={"input": "Li", "version": "0" * 12})
        assert missing.status_code == 404 and v1 in missing.json()["error"]["message"]


BASE_SKILL = """name: short
input: question
variables:
  question: {type: string}
system: Short answers.
template: "Q: {{ question }}\\nA:"
examples:
  - input: {question: "What colour is the sky?"}
    output: " Blue."
stop: ["\\n\\n"]
model: base
temperature: 0
"""


def test_a_skill_on_a_base_model_sends_one_text_and_takes_the_routes_grounding(tmp_path: Path) -> None:
    """A base model continues one text: the examples, then the question; a grounded route that
    leads to the skill puts its context (here the clock) at the head of that text."""
    skills = tmp_path / "skills"
    skills.mkdir()
    (skills / "short.yaml").write_text(BASE_SKILL, encoding="utf-8")
    fleet = {**FLEET, "base": {"type": "scripted", "replies": [" Thursday."],
                               "capabilities": {"chat": False, "completion": True}}}
    cfg = write_config(tmp_path, {"models": fleet, "skills": {"paths": ["skills"], "builtin": False},
                                  "routes": {"today": {"skill": "short", "datetime": True, "timezone": "local"}}})
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:
        r = c.post("/v1/skills/short", json={"input": "What day is it?"})
        assert r.status_code == 200, r.text
        assert r.json()["output"] == "Thursday."
        sent = _received(c, "base")[-1]
        assert sent.kind == "completion" and sent.stop == ["\n\n"] and sent.temperature == 0
        assert sent.prompt == "Short answers.\n\nQ: What colour is the sky?\nA: Blue.\n\nQ: What day is it?\nA:"

        chat = c.post("/v1/chat/completions", json={"model": "route:today",
                                                    "messages": [{"role": "user", "content": "What day is it?"}]})
        assert chat.status_code == 200, chat.text
        clock = chat.json()["plusn"]["route"]["datetime"]
        assert _received(c, "base")[-1].prompt.startswith(clock + "\n\nShort answers.\n\n")


def test_stop_sequences_leave_the_versions_of_skills_without_them_alone() -> None:
    from plusn.skills.library import load_skills

    # the version docs/skills.md shows, from before skills could have stop sequences
    assert load_skills([], builtin=True)["sentiment"].version == "f164ceb47c81"
