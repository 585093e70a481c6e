"""Agents and workflows through the real gateway, with scripted models: the text tool protocol,
bounded loops, tool errors as messages, the HTTP allow-list against a real local server, and
workflow shapes (waterfall, branch, loop, map)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from conftest import ledger_rows, write_config
from fastapi.testclient import TestClient

from plusn.errors import ConfigError
from plusn.gateway.app import create_app
from plusn.load_config import load_settings

CALC = 'CALL {"tool": "calculator", "arguments": {"expression": "(1200 - 150) * 0.85"}}'

FLEET: dict[str, Any] = {
    # a tool-using model: asks the calculator, then answers from the result
    "planner": {"type": "scripted", "replies": [CALC], "rules": [
        {"match": "RESULT of calculator:\\n892.5", "reply": "The discounted price is 892.5."},
        {"match": "RESULT of calculator:\\nERROR", "reply": "I could not compute that."},
        {"match": "^divide", "reply": 'CALL {"tool": "calculator", "arguments": {"expression": "1/0"}}'},
        {"match": "^fetch (.*)", "reply": "<tool_call>{\"name\": \"fetch\", \"arguments\": {\"url\": \"URL\"}}"
                                          "</tool_call>"},
        {"match": "RESULT of fetch", "reply": "fetched"},
    ]},
    # never stops calling tools
    "stubborn": {"type": "scripted", "replies": [CALC]},
    # drafts, and a judge that is satisfied on its second look
    "writer": {"type": "scripted", "replies": ["draft one", "draft two", "draft three"]},
    "judge": {"type": "scripted", "replies": ['{"score": 5, "advice": "more detail"}', '{"score": 9}']},
    "echo": {"type": "scripted", "replies": ["<{last_user}>"]},
    # reads what the rules cannot: 魔都 is Shanghai
    "reader": {"type": "scripted", "replies": ['{"value": null}'],
               "rules": [{"match": "replied: 魔都", "reply": '{"value": "上海"}'}]},
}


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Handler.seen.append(self.path)
        if self.path == "/hop":  # a redirect to a host that is not allowed
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{self.server.server_port}/secret")
            self.end_headers()
            return
        body = b'{"temperature": 21}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _ToolModel(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible server whose model speaks `tools`: it calls the calculator, then
    answers with the tool's result. It keeps the bodies it received."""

    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _ToolModel.bodies.append(body)
        tool_msgs = [m for m in body["messages"] if m["role"] == "tool"]
        if tool_msgs:
            message: dict[str, Any] = {"role": "assistant", "content": f"It comes to {tool_msgs[-1]['content']}."}
        else:
            message = {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "calculator", "arguments": json.dumps({"expression": "19.9 * 3"})}}]}
        out = json.dumps({"id": "x", "object": "chat.completion", "model": body["model"],
                          "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                          "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    models = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ToolModel)
    for srv in (server, models):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    FLEET["tool-model"] = {"type": "openai", "base_url": f"http://127.0.0.1:{models.server_port}/v1",
                           "capabilities": {"tools": True}, "preload": False}
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    models.shutdown()
    FLEET.pop("tool-model")


def agents_dir(tmp_path: Path, web: str) -> Path:
    d = tmp_path / "agents"
    d.mkdir()
    files: dict[str, Any] = {
        "shopper": {"description": "prices with exact arithmetic", "model": "planner",
                    "instructions": "You help with prices.", "tools": [{"type": "calculator"}]},
        "native": {"model": "tool-model", "tools": [{"type": "calculator"}]},
        "stubborn": {"model": "stubborn", "tools": [{"type": "calculator"}], "limits": {"steps": 3}},
        "fetcher": {"model": "planner", "tools": [{"type": "http", "name": "fetch",
                                                   "allow": [f"127.0.0.1:{web.rsplit(':', 1)[1]}"]}]},
        "report": {"model": "writer", "nodes": [
            {"id": "draft", "type": "llm", "prompt": "Write about {{ input }}{% if review is defined %} "
                                                     "({{ review.advice }}){% endif %}", "into": "text"},
            {"id": "review", "type": "llm", "model": "judge", "prompt": "Score this: {{ text }}", "into": "review",
             "output": {"type": "object", "required": ["score"], "properties": {"score": {"type": "integer"}}}},
            {"id": "again", "type": "loop", "do": "draft", "until": "review.score >= 8", "max": 3, "next": "done"},
            {"id": "done", "type": "answer", "text": "{{ text }} (score {{ review.score }}, runs {{ loop.runs }})"},
        ]},
        "triage": {"model": "echo", "nodes": [
            {"id": "route", "type": "branch", "cases": [{"when": "'refund' in input", "goto": "refund"}],
             "default": "other"},
            {"id": "refund", "type": "answer", "text": "退款请走售后流程。"},
            {"id": "other", "type": "tool", "tool": "calculator", "args": {"expression": "{{ input }}"},
             "into": "result", "on_error": "sorry"},
            {"id": "shown", "type": "answer", "text": "= {{ result.text }}"},
            {"id": "sorry", "type": "answer", "text": "Not a calculation: {{ error }}"},
        ], "tools": [{"type": "calculator"}]},
        "broken": {"model": "echo", "tools": [{"type": "calculator"}], "nodes": [
            {"id": "calc", "type": "tool", "tool": "calculator", "args": {"expression": "{{ input }}"}},
        ]},
        "fanout": {"model": "echo", "nodes": [
            {"id": "each", "type": "map", "over": "input.split(',')", "into": "parts", "concurrency": 2,
             "step": {"id": "one", "type": "llm", "prompt": "item {{ index }}: {{ item | trim }}"}},
            {"id": "out", "type": "answer", "text": "{{ parts | join(' ') }}"},
        ]},
        "spin": {"model": "echo", "limits": {"nodes": 20}, "nodes": [
            {"id": "a", "type": "branch", "cases": [{"when": "true", "goto": "a"}]},
        ]},
        "pick-city": {"language": "zh", "form": {
            "extractor": "reader",
            "slots": {"city": {"type": "enum", "ask": "去哪个城市？", "options": {"北京": ["帝都"], "上海": ["沪"]}}},
            "tree": {"slot": "city", "cases": {"北京": {"decision": "北京办事处"}, "上海": {"decision": "上海办事处"}}},
        }},
        "ask-city": {"model": "echo", "language": "en", "nodes": [
            {"id": "city", "type": "ask", "slot": "city", "ask": {"type": "string", "ask": "Which city?"}},
            {"id": "weather", "type": "llm", "prompt": "weather in {{ city }}", "into": "w"},
            {"id": "reply", "type": "answer", "text": "{{ w }}"},
        ]},
    }
    for name, spec in files.items():
        (d / f"{name}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return d


@pytest.fixture
def client(tmp_path: Path, web: str) -> Iterator[TestClient]:
    d = agents_dir(tmp_path, web)
    cfg = write_config(tmp_path, {"models": FLEET, "agents": {"paths": [str(d)]}})
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:
        yield c


def ask(client: TestClient, agent: str, text: str, history: list[dict[str, str]] | None = None) -> dict[str, Any]:
    messages = [*(history or []), {"role": "user", "content": text}]
    r = client.post("/v1/chat/completions", json={"model": f"agent:{agent}", "messages": messages})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def received(client: TestClient, model: str) -> list[Any]:
    return client.app.state.plusn.fleet.members[model].received  # type: ignore[attr-defined,no-any-return]


def test_tool_agent_calls_a_tool_by_the_text_protocol(client: TestClient) -> None:
    body = ask(client, "shopper", "What is 1200 minus 150, with 15% off?")
    assert body["choices"][0]["message"]["content"] == "The discounted price is 892.5."
    trace = body["plusn"]["trace"]
    assert [t["type"] for t in trace] == ["model", "tool", "model"]
    assert trace[1]["tool"] == "calculator" and trace[1]["result"] == "892.5"
    system = received(client, "planner")[0].messages[0]["content"]
    assert "calculator" in system and "CALL {" in system and "You help with prices." in system
    row = next(r for r in ledger_rows(client) if r["id"] == body["plusn"]["request_id"])
    assert row["route"] == "agent:shopper" and row["served_models"] == ["planner", "planner"]
    assert [t["type"] for t in row["extra"]["route"]["trace"]] == ["model", "tool", "model"]


def test_tool_agent_uses_openai_tools_where_the_model_has_them(client: TestClient) -> None:
    _ToolModel.bodies.clear()
    body = ask(client, "native", "three at 19.9 each?")
    assert body["choices"][0]["message"]["content"] == "It comes to 59.7."
    first, second = _ToolModel.bodies
    assert first["tools"][0]["function"]["name"] == "calculator"
    assert "CALL {" not in json.dumps(first["messages"])  # no text protocol for this model
    assert second["messages"][-2]["tool_calls"][0]["id"] == "call_1"
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": "call_1", "content": "59.7"}
    assert [t.get("protocol") for t in body["plusn"]["trace"] if t["type"] == "model"] == ["openai", "openai"]


def test_a_tool_error_reaches_the_model_as_a_message(client: TestClient) -> None:
    body = ask(client, "shopper", "divide by zero")
    assert body["choices"][0]["message"]["content"] == "I could not compute that."
    assert "division by zero" in body["plusn"]["trace"][1]["error"]
    assert received(client, "planner")[-1].messages[-1]["content"].startswith("RESULT of calculator:\nERROR")


def test_agent_loops_are_bounded(client: TestClient) -> None:
    body = ask(client, "stubborn", "go")
    choice = body["choices"][0]
    assert choice["finish_reason"] == "length" and "step limit (3)" in choice["message"]["content"]
    assert len(received(client, "stubborn")) == 3
    assert body["plusn"]["trace"][-1] == {"type": "limit", "limit": "steps", "value": 3}


def test_http_tool_reaches_only_allowed_hosts(client: TestClient, web: str) -> None:
    _Handler.seen.clear()
    planner = client.app.state.plusn.fleet.members["planner"]  # type: ignore[attr-defined]
    rule = next(r for r in planner.options.rules if r.match.startswith("^fetch"))
    for url, ok in ((f"{web}/weather", True), ("http://example.org/x", False), (f"{web}/hop", False)):
        rule.reply = rule.reply.split('"url": ')[0] + f'"url": "{url}"}}}}</tool_call>'
        body = ask(client, "fetcher", f"fetch {url}")
        tool = body["plusn"]["trace"][1]
        assert tool["tool"] == "fetch"
        if ok:
            assert tool["result"] == '{"temperature": 21}'
        else:
            assert "not on this tool's allow-list" in tool["error"]
    # the redirect's target was never requested; example.org was never contacted at all
    assert _Handler.seen == ["/weather", "/hop"]


def test_waterfall_with_a_loop_until_the_judge_is_satisfied(client: TestClient) -> None:
    body = ask(client, "report", "tea")
    assert body["choices"][0]["message"]["content"] == "draft two (score 9, runs 2)"
    nodes = [t["node"] for t in body["plusn"]["trace"]]
    assert nodes == ["draft", "review", "again", "draft", "review", "again", "done"]
    # the second draft was asked with the judge's advice
    assert received(client, "writer")[-1].messages[-1]["content"] == "Write about tea (more detail)"


def test_branch_tool_and_on_error(client: TestClient) -> None:
    assert ask(client, "triage", "I want a refund")["choices"][0]["message"]["content"] == "退款请走售后流程。"
    assert ask(client, "triage", "6*7")["choices"][0]["message"]["content"] == "= 42"
    text = ask(client, "triage", "hello there")["choices"][0]["message"]["content"]
    assert text == "Not a calculation: not an arithmetic expression: 'hello there'"


def test_a_failed_step_is_a_clear_answer_not_a_500(client: TestClient) -> None:
    body = ask(client, "broken", "__import__(\"os\")")
    assert "could not be completed" in body["choices"][0]["message"]["content"]
    assert body["plusn"]["trace"][0]["error"].startswith("only arithmetic")


def test_map_runs_a_step_per_item(client: TestClient) -> None:
    body = ask(client, "fanout", "a, b ,c")
    assert body["choices"][0]["message"]["content"] == "<item 0: a> <item 1: b> <item 2: c>"
    assert body["plusn"]["trace"][0]["items"] == 3


def test_workflows_are_bounded_too(client: TestClient) -> None:
    body = ask(client, "spin", "x")
    assert body["choices"][0]["finish_reason"] == "length"
    assert "more than 20 nodes" in body["choices"][0]["message"]["content"]


def test_ask_node_pauses_and_resumes(client: TestClient) -> None:
    first = ask(client, "ask-city", "what's the weather?")
    assert first["choices"][0]["message"]["content"] == "Which city?"
    history = [{"role": "user", "content": "what's the weather?"},
               {"role": "assistant", "content": "Which city?"}]
    second = ask(client, "ask-city", "Hangzhou", history)
    assert second["choices"][0]["message"]["content"] == "<weather in Hangzhou>"


def test_the_extractor_model_reads_what_the_rules_cannot(client: TestClient) -> None:
    first = ask(client, "pick-city", "我要出差")
    assert first["choices"][0]["message"]["content"] == "去哪个城市？"
    history = [{"role": "user", "content": "我要出差"}, {"role": "assistant", "content": "去哪个城市？"}]
    # a reply nobody can read is asked again, with the choices
    again = ask(client, "pick-city", "随便", history)
    assert "请从以下选项中选择：上海 / 北京" in again["choices"][0]["message"]["content"]  # (safe_dump sorted the keys)
    history += [{"role": "user", "content": "随便"}, {"role": "assistant", "content": again["choices"][0]["message"]["content"]}]
    body = ask(client, "pick-city", "魔都", history)
    assert body["choices"][0]["message"]["content"] == "上海办事处"
    assert body["plusn"]["served_models"] == ["reader"]
    # the first message can answer the first question too
    assert ask(client, "pick-city", "魔都")["choices"][0]["message"]["content"] == "上海办事处"


def test_streamed_agent_answer(client: TestClient) -> None:
    r = client.post("/v1/chat/completions", json={"model": "agent:triage", "stream": True,
                                                  "messages": [{"role": "user", "content": "2+2"}]})
    assert r.status_code == 200 and "= 4" in r.text and r.text.rstrip().endswith("data: [DONE]")


def test_agent_files_are_checked_against_the_fleet(tmp_path: Path, web: str) -> None:
    d = agents_dir(tmp_path, web)
    (d / "lost.yaml").write_text("model: echo\ntools:\n  - type: skill\n    skill: nope\n", encoding="utf-8")
    cfg = write_config(tmp_path, {"models": FLEET, "agents": {"paths": [str(d)]}})
    with pytest.raises(ConfigError) as exc:
        create_app(load_settings(cfg, environ={}))
    assert exc.value.key == "tools[0]" and "lost.yaml" in str(exc.value) and "unknown skill" in str(exc.value)


@pytest.mark.parametrize(("text", "key", "line"), [
    ("nodes:\n  - id: a\n    type: llm\n    promt: hi\n", "nodes.0.promt", 4),
    ("nodes:\n  - id: a\n    type: answer\n    text: hi\n    next: b\n", "nodes", None),
    ("form:\n  slots:\n    a: {type: enum, ask: \"A?\"}\n", "form.slots.a", 3),
    ("limits: {steps: 0}\n", "limits.steps", 1),
])
def test_validation_names_file_key_and_line(tmp_path: Path, text: str, key: str, line: int | None) -> None:
    from click.testing import CliRunner

    from plusn.cli import main

    f = tmp_path / "x.yaml"
    f.write_text(text, encoding="utf-8")
    res = CliRunner().invoke(main, ["agents", "validate", str(f)])
    assert res.exit_code == 1
    assert str(f) in res.output and key in res.output
    if line is not None:
        assert f"line {line}" in res.output
