"""The HTTP API in-process, over scripted backends configured through the real registry."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from conftest import ledger_rows
from fastapi.testclient import TestClient

CHAT = "/v1/chat/completions"


def chat_body(model: str = "echo", text: str = "hello", **kw: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **kw}


def sse_events(raw: str) -> list[Any]:
    out = []
    for block in raw.split("\n\n"):
        if block.startswith("data: "):
            data = block[6:]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def test_chat_answers_with_usage_and_plusn_block(client: TestClient) -> None:
    r = client.post(CHAT, json=chat_body(text="what is 1+1"))
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "You said: what is 1+1"}
    u = body["usage"]
    assert u["completion_tokens"] == 5 and u["total_tokens"] == u["prompt_tokens"] + 5
    # price: 1.0 per 1k in, 2.0 per 1k out
    assert body["plusn"]["cost"] == pytest.approx(u["prompt_tokens"] / 1000 + 5 * 2 / 1000)
    assert body["plusn"]["served_models"] == ["echo"]
    assert r.headers["x-plusn-model"] == "echo"
    rows = ledger_rows(client)
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == r.headers["x-request-id"] == body["plusn"]["request_id"]
    assert (row["status"], row["served_models"], row["completion_tokens"]) == (200, ["echo"], 5)
    assert row["cost"] == pytest.approx(body["plusn"]["cost"])


def test_stream_with_usage(client: TestClient) -> None:
    body = chat_body(text="stream me", stream=True, stream_options={"include_usage": True})
    with client.stream("POST", CHAT, json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r.read().decode())
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "You said: stream me"
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finish[0]["choices"][0]["finish_reason"] == "stop"
    content_chunks = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] == len(content_chunks) == 4
    assert usage_chunk["plusn"]["served_models"] == ["echo"]
    rows = ledger_rows(client)
    assert len(rows) == 1 and rows[0]["stream"] == 1 and rows[0]["completion_tokens"] == 4
    assert rows[0]["ttft_ms"] is not None


def test_max_tokens_truncates_with_length(client: TestClient) -> None:
    r = client.post(CHAT, json=chat_body(text="a b c d e f", max_tokens=2))
    assert r.json()["choices"][0]["finish_reason"] == "length"
    assert r.json()["usage"]["completion_tokens"] == 2


def test_completions_endpoint_and_base_models(client: TestClient) -> None:
    r = client.post("/v1/completions", json={"model": "base", "prompt": "Once upon"})
    assert r.status_code == 200
    assert r.json()["choices"][0]["text"] == "continued text"
    r = client.post(CHAT, json=chat_body(model="base"))
    assert r.status_code == 400
    assert "base model" in r.json()["error"]["message"] and r.json()["error"]["param"] == "model"


def test_models_lists_capabilities(client: TestClient) -> None:
    data = client.get("/v1/models").json()["data"]
    by_id = {m["id"]: m for m in data}
    # the fleet, the dispatcher and the starter skills
    assert {n for n in by_id if not n.startswith("skill:")} == {"echo", "slow", "broken", "cut", "base", "auto"}
    assert {"skill:summarize", "skill:translate", "skill:sentiment"} <= set(by_id)
    assert by_id["skill:sentiment"]["plusn"]["type"] == "skill"
    assert by_id["base"]["plusn"]["base_model"] is True
    assert by_id["base"]["plusn"]["endpoints"] == ["completion"]
    assert client.get("/v1/models/echo").json()["id"] == "echo"
    assert client.get("/v1/models/nope").status_code == 404


@pytest.mark.parametrize(
    ("raw", "status", "param", "code"),
    [
        ("{not json", 400, None, "invalid_json"),
        (json.dumps({"model": "echo"}), 400, "messages", "missing_required_parameter"),
        (json.dumps({"model": "echo", "messages": "hi"}), 400, "messages", "invalid_value"),
        (json.dumps({"model": "echo", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}), 400, "temperature", "invalid_value"),
        (json.dumps({"model": "echo", "messages": [{"role": "wizard", "content": "x"}]}), 400, "messages[0].role", "invalid_value"),
        (json.dumps({"model": "echo", "messages": []}), 400, "messages", "invalid_value"),
        (json.dumps([1, 2, 3]), 400, None, "invalid_body"),
        (json.dumps({"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}), 404, "model", "model_not_found"),
    ],
)
def test_bad_input_gets_a_4xx_envelope_and_one_ledger_row(
    client: TestClient, raw: str, status: int, param: str | None, code: str
) -> None:
    r = client.post(CHAT, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == status
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["param"] == param and err["code"] == code
    rows = ledger_rows(client)
    assert len(rows) == 1 and rows[0]["status"] == status and rows[0]["error_type"]


def test_unknown_model_lists_the_available_ones(client: TestClient) -> None:
    r = client.post(CHAT, json=chat_body(model="gpt-9"))
    assert "Available models: echo, slow, broken, cut, base, auto" in r.json()["error"]["message"]
    assert ledger_rows(client)[0]["requested_model"] == "gpt-9"


def test_oversized_body_is_413_with_a_row(scripted_settings: Any) -> None:
    from plusn.gateway.app import create_app

    scripted_settings.server.max_body_bytes = 1000
    with TestClient(create_app(scripted_settings)) as c:
        r = c.post(CHAT, json=chat_body(text="x" * 5000))
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "payload_too_large"
        rows = ledger_rows(c)
        assert [row["status"] for row in rows] == [413]


def test_upstream_timeout_is_504(client: TestClient) -> None:
    r = client.post(CHAT, json=chat_body(model="broken"))
    assert r.status_code == 504
    assert r.json()["error"]["type"] == "timeout_error"
    assert ledger_rows(client)[0]["status"] == 504


def test_full_queue_is_429_with_retry_after(client: TestClient) -> None:
    # "slow" runs one request at a time with a queue of one: a third concurrent request is refused.
    results: list[int] = []

    def call() -> None:
        results.append(client.post(CHAT, json=chat_body(model="slow")).status_code)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    rt = client.app.state.plusn  # type: ignore[attr-defined]
    lim = rt.fleet.limiters["slow"]
    for _ in range(200):  # wait until one runs and one waits
        if lim.running == 1 and lim.queued == 1:
            break
        threading.Event().wait(0.01)
    r = client.post(CHAT, json=chat_body(model="slow"))
    for t in threads:
        t.join()
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["code"] == "queue_full"
    assert sorted(results) == [200, 200]
    assert len(ledger_rows(client)) == 3


def test_unknown_path_and_method_are_enveloped(client: TestClient) -> None:
    r = client.post("/v1/nothing-here", json={})
    assert r.status_code == 404 and "error" in r.json()
    r = client.get(CHAT)
    assert r.status_code == 405 and "error" in r.json()
    assert [row["status"] for row in ledger_rows(client)] == [404, 405]


def test_keys_required_once_created_and_scoped_to_models(client: TestClient) -> None:
    rt = client.app.state.plusn  # type: ignore[attr-defined]
    rt.keys.CACHE_S = 0
    key = rt.keys.create("team-a", ["echo"])
    r = client.post(CHAT, json=chat_body())
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    auth = {"authorization": f"Bearer {key}"}
    assert client.post(CHAT, json=chat_body(), headers=auth).status_code == 200
    r = client.post(CHAT, json=chat_body(model="slow"), headers=auth)
    assert r.status_code == 403
    assert [m["id"] for m in client.get("/v1/models", headers=auth).json()["data"]] == ["echo"]
    rows = ledger_rows(client)
    assert [(row["status"], row["key_name"]) for row in rows[:3]] == [(401, None), (200, "team-a"), (403, "team-a")]


def test_health_ready_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    out = client.post(CHAT, json=chat_body()).json()["usage"]["completion_tokens"]
    text = client.get("/metrics").text
    assert 'plusn_requests_total{endpoint="/v1/chat/completions",model="echo",status="200"} 1.0' in text
    assert "plusn_request_latency_seconds_bucket" in text
    assert f'plusn_tokens_total{{direction="output",model="echo"}} {out:.1f}' in text
    assert 'plusn_queue_depth{model="slow"} 0.0' in text
    assert "plusn_time_to_first_token_seconds" in text
    assert "\nplusn_ledger_backlog " in text


def test_response_format_needs_a_capable_model(client: TestClient) -> None:
    r = client.post(CHAT, json=chat_body(response_format={"type": "json_object"}))
    assert r.status_code == 400 and r.json()["error"]["param"] == "response_format"


def test_mid_stream_failure_ends_with_an_error_event(client: TestClient) -> None:
    with client.stream("POST", CHAT, json=chat_body(model="cut", stream=True)) as r:
        assert r.status_code == 200  # headers were sent with the first token
        events = sse_events(r.read().decode())
    assert events[-1] == "[DONE]"
    assert events[-2]["error"]["type"] == "upstream_error"
    assert not any(e["choices"][0]["finish_reason"] for e in events[:-2] if isinstance(e, dict) and e.get("choices"))
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events[:-2] if e.get("choices"))
    assert text == "a b c"
    row = ledger_rows(client)[0]
    assert row["error_type"] == "upstream_error:upstream_error" and row["completion_tokens"] == 3


def test_failure_before_first_token_keeps_its_status_when_streaming(client: TestClient) -> None:
    r = client.post(CHAT, json=chat_body(model="broken", stream=True))
    assert r.status_code == 504 and r.json()["error"]["code"] == "upstream_timeout"


def test_lone_surrogates_are_refused_and_the_ledger_keeps_writing(client: TestClient) -> None:
    raw = '{"model": "\\ud800", "messages": [{"role": "user", "content": "x"}]}'
    r = client.post(CHAT, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "surrogate" in r.json()["error"]["message"]
    raw = '{"model": "echo", "messages": [{"role": "user", "content": "bad \\udc00 text"}]}'
    assert client.post(CHAT, content=raw, headers={"content-type": "application/json"}).status_code == 400
    assert client.post(CHAT, json=chat_body()).status_code == 200
    rows = ledger_rows(client)
    assert [row["status"] for row in rows] == [400, 400, 200]


def test_chunked_oversized_body_is_413(scripted_settings: Any) -> None:
    from plusn.gateway.app import create_app

    scripted_settings.server.max_body_bytes = 1000

    def body() -> Any:  # no content-length: the limit must hold while the body streams in
        yield b'{"model": "echo", "messages": [{"role": "user", "content": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}]}'

    with TestClient(create_app(scripted_settings)) as c:
        r = c.post(CHAT, content=body(), headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
        assert [row["status"] for row in ledger_rows(c)] == [413]


def test_validation_messages_name_the_right_parameter(client: TestClient) -> None:
    r = client.post(CHAT, json={**chat_body(), "stream": None})
    assert r.json()["error"]["param"] == "stream"
    r = client.post(CHAT, json={**chat_body(), "stream_options": {"include_usage": "maybe"}})
    assert r.json()["error"]["param"] == "stream_options.include_usage"
    r = client.post(CHAT, content=b"", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "empty" in r.json()["error"]["message"]


def test_json_body_is_read_whatever_the_content_type(client: TestClient) -> None:
    # curl -d sends application/x-www-form-urlencoded unless told otherwise
    r = client.post(CHAT, content=json.dumps(chat_body()), headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200


def test_metric_labels_stay_bounded(client: TestClient) -> None:
    for i in range(3):
        client.post(f"/v1/junk{i}", json={})
        client.get(f"/v1/models/made-up-{i}")
    text = client.get("/metrics").text
    assert "junk" not in text and "made-up" not in text
    assert 'endpoint="other"' in text and 'endpoint="/v1/models/{id}"' in text


def test_non_ascii_model_names_work(tmp_path: Any) -> None:
    from conftest import write_config

    from plusn.gateway.app import create_app
    from plusn.load_config import load_settings

    settings = load_settings(write_config(tmp_path, {"models": {"通义": {"type": "scripted"}}}), environ={})
    with TestClient(create_app(settings)) as c:
        r = c.post(CHAT, json=chat_body(model="通义"))
        assert r.status_code == 200 and r.json()["model"] == "通义"
        from urllib.parse import unquote

        assert unquote(r.headers["x-plusn-model"]) == "通义"
        with c.stream("POST", CHAT, json=chat_body(model="通义", stream=True)) as s:
            assert s.status_code == 200 and s.read()


def test_the_openapi_schema_describes_the_bodies_the_hot_endpoints_parse_themselves(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path, model in (("/v1/chat/completions", "ChatCompletionRequest"), ("/v1/completions", "CompletionRequest"),
                        ("/v1/embeddings", "EmbeddingRequest")):
        body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{model}"}
        assert "properties" in schema["components"]["schemas"][model]
    assert "Message" in schema["components"]["schemas"]  # what the chat body refers to
    # and the same bodies are refused with the same envelope as before
    r = client.post(CHAT, json={"model": "echo", "messages": [{"role": "wizard", "content": "x"}]})
    assert r.status_code == 400 and r.json()["error"]["param"].startswith("messages[0]")
    r = client.post(CHAT, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
