"""The openai backend against real upstreams: llama_cpp.server serving SmolLM2, and broken ones."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port, ledger_rows, llama_server, write_config
from fastapi.testclient import TestClient

from plusn.gateway.app import create_app
from plusn.load_config import load_settings

pytestmark = [pytest.mark.server, pytest.mark.model]


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with llama_server("smol-upstream") as url:
        yield url


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A TCP server that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join()
    for c in conns:
        c.close()
    srv.close()


def make_client(tmp_path: Path, models: dict[str, object]) -> TestClient:
    return TestClient(create_app(load_settings(write_config(tmp_path, {"models": models}), environ={})))


def remote(url: str, **kw: object) -> dict[str, object]:
    return {"type": "openai", "base_url": url, "upstream_model": "smol-upstream",
            "capabilities": {"remote": True}, "price": {"input_per_1k": 1, "output_per_1k": 1}, **kw}


def test_gateway_to_server_to_model(tmp_path: Path, upstream: str) -> None:
    with make_client(tmp_path, {"big": remote(upstream)}) as c:
        msgs = [{"role": "user", "content": "Say hello."}]
        r = c.post("/v1/chat/completions", json={"model": "big", "messages": msgs, "max_tokens": 12, "temperature": 0})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["model"] == "big" and body["choices"][0]["message"]["content"]
        assert body["usage"]["prompt_tokens"] > 5 and 0 < body["usage"]["completion_tokens"] <= 12
        assert body["plusn"]["cost"] == pytest.approx(body["usage"]["total_tokens"] / 1000)

        stream_req = {"model": "big", "messages": msgs, "max_tokens": 12, "temperature": 0,
                      "stream": True, "stream_options": {"include_usage": True}}
        with c.stream("POST", "/v1/chat/completions", json=stream_req) as s:
            events = [json.loads(x[6:]) for x in s.iter_lines() if x.startswith("data: {")]
        text = "".join(e["choices"][0]["delta"].get("content", "") for e in events if e["choices"])
        assert text == body["choices"][0]["message"]["content"]  # greedy: same answer both ways
        assert events[-1]["usage"]["completion_tokens"] > 0

        comp = c.post("/v1/completions", json={"model": "big", "prompt": "1, 2, 3,", "max_tokens": 5})
        assert comp.status_code == 200 and comp.json()["choices"][0]["text"]
        rows = ledger_rows(c)
        assert [r["status"] for r in rows] == [200, 200, 200]
        assert all(r["served_models"] == ["big"] and r["completion_tokens"] > 0 for r in rows)


def test_upstream_timeout_is_504(tmp_path: Path, blackhole: int) -> None:
    url = f"http://127.0.0.1:{blackhole}/v1"
    # no retries, no breaker: this is about how a timeout is reported (resilience: test_faults.py)
    with make_client(tmp_path, {"stuck": remote(url, timeouts={"connect": 1, "read": 0.5, "total": 5}, retries=0,
                                                circuit_breaker=False)}) as c:
        r = c.post("/v1/chat/completions", json={"model": "stuck", "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 504 and r.json()["error"]["code"] == "upstream_timeout"
        r = c.post("/v1/chat/completions", json={"model": "stuck", "stream": True,
                                                  "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 504  # failed before the first token: a real status, not a broken 200
        assert [row["status"] for row in ledger_rows(c)] == [504, 504]


def test_unreachable_upstream_is_502(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with make_client(tmp_path, {"gone": remote(url)}) as c:
        r = c.post("/v1/chat/completions", json={"model": "gone", "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 502 and r.json()["error"]["type"] == "upstream_error"


def test_api_key_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import http.server
    import threading

    seen: list[str | None] = []

    class Recorder(http.server.BaseHTTPRequestHandler):  # a real server that notes what it was sent
        def do_POST(self) -> None:
            seen.append(self.headers.get("authorization"))
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"choices": [{"message": {"role": "assistant", "content": "ok"},
                                            "finish_reason": "stop"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("UPSTREAM_KEY", "sk-local-test")
    try:
        url = f"http://127.0.0.1:{server.server_port}/v1"
        with make_client(tmp_path, {"big": remote(url, api_key_env="UPSTREAM_KEY")}) as c:
            r = c.post("/v1/chat/completions", json={"model": "big", "messages": [{"role": "user", "content": "hi"}]})
            assert r.status_code == 200
    finally:
        server.shutdown()
    assert seen == ["Bearer sk-local-test"]


@pytest.fixture
def junk_upstream() -> Iterator[str]:
    """A real HTTP server whose OpenAI-style stream turns to junk after one good event."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    good = {"choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": None}]}

    async def chat(request: Request) -> StreamingResponse | JSONResponse:
        body = await request.json()
        if not body.get("stream"):
            return JSONResponse({"choices": "not-a-list", "usage": {"prompt_tokens": "many"}})

        async def events() -> Any:
            yield f"data: {json.dumps(good)}\n\n"
            yield "data: 1\n\n"  # valid JSON, but not an event

        return StreamingResponse(events(), media_type="text/event-stream")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])]),
                                           host="127.0.0.1", port=port, log_level="error"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    t.join(timeout=10)


def test_malformed_upstream_gives_clean_errors_and_rows(tmp_path: Path, junk_upstream: str) -> None:
    with make_client(tmp_path, {"junk": remote(junk_upstream)}) as c:
        msgs = [{"role": "user", "content": "x"}]
        r = c.post("/v1/chat/completions", json={"model": "junk", "messages": msgs})
        assert r.status_code == 502 and r.json()["error"]["type"] == "upstream_error"
        with c.stream("POST", "/v1/chat/completions", json={"model": "junk", "messages": msgs, "stream": True}) as s:
            assert s.status_code == 200
            events = [x[6:] for x in s.iter_lines() if x.startswith("data: ")]
        assert json.loads(events[0])["choices"][0]["delta"].get("role") == "assistant"
        assert json.loads(events[1])["choices"][0]["delta"]["content"] == "Hello"
        assert json.loads(events[2])["error"]["type"] == "upstream_error"
        assert events[3] == "[DONE]"
        rows = ledger_rows(c)
        assert [row["status"] for row in rows] == [502, 200]
        assert rows[1]["error_type"] == "upstream_error:upstream_error" and rows[1]["completion_tokens"] == 1


def test_upstream_tool_calls_come_through_whole_and_streamed(tmp_path: Path, upstream: str) -> None:
    weather = {"type": "function", "function": {
        "name": "get_weather", "description": "Get the current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
    body = {"model": "big", "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
            "tools": [weather], "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "max_tokens": 48, "temperature": 0}
    with make_client(tmp_path, {"big": remote(upstream)}) as c:  # remote: behind redaction too
        whole = c.post("/v1/chat/completions", json=body)
        assert whole.status_code == 200, whole.text
        [call] = whole.json()["choices"][0]["message"]["tool_calls"]
        assert call["function"]["name"] == "get_weather" and json.loads(call["function"]["arguments"])["city"]
        with c.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as s:
            events = [json.loads(x[6:]) for x in s.iter_lines() if x.startswith("data: {")]
        fragments = [f for e in events if e["choices"] for f in e["choices"][0]["delta"].get("tool_calls") or []]
        assert fragments and fragments[0]["function"]["name"] == "get_weather"
        streamed = "".join(f["function"].get("arguments") or "" for f in fragments)
        assert streamed == call["function"]["arguments"]  # greedy: the same call both ways
        caps = {m["id"]: m["plusn"]["capabilities"] for m in c.get("/v1/models").json()["data"]}
        assert caps["big"]["tools"] and caps["big"]["vision"]  # an upstream is trusted with both
