"""Upstream faults against a real upstream server in its own process (bench/upstream.py):
retries, fallbacks, first-token timeouts, cuts mid-stream, 429s and the circuit breaker.
Every request leaves one ledger row, whatever happened."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ledger_rows, write_config
from fastapi.testclient import TestClient

from plusn.gateway.app import create_app
from plusn.load_config import load_settings

ROOT = Path(__file__).parents[2]
MSG = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "upstream.py"), "--tokens", "5"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.search(r"(http://\S+)", line)
    assert m, line
    yield m.group(1)
    proc.terminate()
    proc.wait(timeout=10)


def seen(url: str) -> dict[str, int]:
    return httpx.get(url + "/seen").json()  # type: ignore[no-any-return]


def model(url: str, upstream_model: str, **kw: Any) -> dict[str, Any]:
    return {"type": "openai", "base_url": url + "/v1", "upstream_model": upstream_model, "backoff_s": 0.01,
            "backoff_max_s": 0.05, "preload": False, "price": {"input_per_1k": 1, "output_per_1k": 1}, **kw}


@pytest.fixture
def client(tmp_path: Path, upstream: str, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    tag = request.node.name[-12:].replace("_", "")  # each test gets its own upstream counters
    fleet = {
        "flaky": model(upstream, f"flaky-2-{tag}"),
        "down": model(upstream, f"fail-500-{tag}", retries=0, fallbacks=["backup"]),
        "backup": model(upstream, f"fast-{tag}"),
        "sleepy": model(upstream, f"slow-3000-{tag}", retries=0, first_token_timeout_s=0.3, fallbacks=["backup"]),
        "cut": model(upstream, f"cut-3-{tag}", fallbacks=["backup"]),
        "busy": model(upstream, f"fail-429-{tag}", retries=1),
        "fragile": model(upstream, f"fail-500-b-{tag}", retries=0,
                         circuit_breaker={"failures": 2, "window_s": 30, "open_s": 0.3}),
        "ping": model(upstream, f"fail-502-{tag}", retries=0, fallbacks=["pong"]),
        "pong": model(upstream, f"fail-503-{tag}", retries=0, fallbacks=["ping"]),
    }
    cfg = write_config(tmp_path, {"models": fleet, "safety": {"output": "allow"}})
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:
        c.tag = tag  # type: ignore[attr-defined]
        yield c


def chat(c: TestClient, name: str, stream: bool = False) -> httpx.Response:
    return c.post("/v1/chat/completions", json={"model": name, "messages": MSG, "stream": stream})


def events(r: httpx.Response) -> list[Any]:
    return [json.loads(line[6:]) if line[6:] != "[DONE]" else "[DONE]"
            for line in r.text.splitlines() if line.startswith("data: ")]


def test_retries_ride_out_a_flaky_upstream(client: TestClient, upstream: str) -> None:
    r = chat(client, "flaky")
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "w0 w1 w2 w3 w4"
    failed = r.json()["plusn"]["route"]["resilience"]["failed"]
    assert [f["model"] for f in failed] == ["flaky", "flaky"] and "upstream_overloaded" in failed[0]["error"]
    assert seen(upstream)[f"flaky-2-{client.tag}"] == 3  # type: ignore[attr-defined]


def test_fallback_answers_when_the_primary_fails(client: TestClient) -> None:
    r = chat(client, "down")
    assert r.status_code == 200 and r.headers["x-plusn-model"] == "backup"
    assert r.json()["plusn"]["served_models"] == ["backup"]
    s = chat(client, "down", stream=True)
    ev = events(s)
    assert s.status_code == 200 and "".join(e["choices"][0]["delta"].get("content") or ""
                                            for e in ev[:-1] if e["choices"]) == "w0 w1 w2 w3 w4"
    assert ev[-2]["plusn"]["route"]["resilience"]["served_by"] == "backup" and ev[-1] == "[DONE]"
    rows = ledger_rows(client)
    assert [(row["status"], row["served_models"]) for row in rows] == [(200, ["backup"])] * 2


def test_a_slow_first_token_moves_to_the_fallback(client: TestClient) -> None:
    r = chat(client, "sleepy", stream=True)
    ev = events(r)
    assert r.status_code == 200 and ev[-1] == "[DONE]"
    route = ev[-2]["plusn"]["route"]["resilience"]
    assert route["served_by"] == "backup" and "first_token_timeout" in route["failed"][0]["error"]


def test_a_cut_mid_stream_ends_with_an_error_event_not_a_short_200(client: TestClient, upstream: str) -> None:
    before = seen(upstream).get(f"fast-{client.tag}", 0)  # type: ignore[attr-defined]
    r = chat(client, "cut", stream=True)
    ev = events(r)
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in ev if isinstance(e, dict) and e.get("choices"))
    words = text.split()  # what got through before the cut (a reset may drop the last bytes in flight)
    assert 1 <= len(words) <= 3 and words == [f"w{i}" for i in range(len(words))]
    assert ev[-2]["error"]["type"] == "upstream_error" and ev[-1] == "[DONE]"
    assert not any(isinstance(e, dict) and e.get("choices") and e["choices"][0].get("finish_reason") == "stop"
                   for e in ev)
    # the first bytes were out: no retry, no fallback
    assert seen(upstream).get(f"fast-{client.tag}", 0) == before  # type: ignore[attr-defined]
    row = ledger_rows(client)[-1]
    assert row["error_type"] == "upstream_error:upstream_error" and row["completion_tokens"] == len(words)


def test_a_429_is_retried_then_passed_on_with_retry_after(client: TestClient, upstream: str) -> None:
    r = chat(client, "busy")
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert r.json()["error"]["code"] == "upstream_rate_limited"
    assert seen(upstream)[f"fail-429-{client.tag}"] == 2  # type: ignore[attr-defined]
    assert ledger_rows(client)[-1]["status"] == 429


def test_the_circuit_opens_fails_fast_and_closes_after_a_probe(client: TestClient, upstream: str) -> None:
    name = f"fail-500-b-{client.tag}"  # type: ignore[attr-defined]
    assert [chat(client, "fragile").status_code for _ in range(2)] == [502, 502]
    r = chat(client, "fragile")
    assert r.status_code == 503 and r.json()["error"]["code"] == "circuit_open"
    assert seen(upstream)[name] == 2  # the open circuit spared the upstream
    listed = {m["id"]: m for m in client.get("/v1/models").json()["data"]}
    assert listed["fragile"]["plusn"]["circuit"] == "open"
    time.sleep(0.4)  # past open_s: the health probe (GET /models answers) closes it again
    assert chat(client, "fragile").status_code == 502
    assert seen(upstream)[name] == 3
    assert len(ledger_rows(client)) == 5  # every request, refused or not, has its row


def test_fallbacks_that_point_at_each_other_do_not_loop(client: TestClient, upstream: str) -> None:
    r = chat(client, "ping")
    assert r.status_code in (502, 503)
    counts = seen(upstream)
    assert counts[f"fail-502-{client.tag}"] == 1 and counts[f"fail-503-{client.tag}"] == 1  # type: ignore[attr-defined]


def test_killing_the_upstream_mid_stream_ends_every_stream_cleanly(tmp_path: Path) -> None:
    up = subprocess.Popen([sys.executable, str(ROOT / "bench" / "upstream.py")], stdout=subprocess.PIPE, text=True)
    assert up.stdout is not None
    m = re.search(r"(http://\S+)", up.stdout.readline())
    assert m
    cfg = write_config(tmp_path, {"models": {"dripping": model(m.group(1), "drip-100", retries=0)},
                                  "safety": {"output": "allow"}, "skills": {"builtin": False}})
    try:
        with TestClient(create_app(load_settings(cfg, environ={}))) as c:
            import threading

            results: list[tuple[int, list[Any], str]] = []

            def stream() -> None:
                r = c.post("/v1/chat/completions", json={"model": "dripping", "stream": True, "max_tokens": 40,
                                                         "messages": MSG})
                results.append((r.status_code, events(r), r.text))

            threads = [threading.Thread(target=stream) for _ in range(5)]
            for t in threads:
                t.start()
            time.sleep(0.6)  # a few words are out
            up.kill()
            for t in threads:
                t.join(timeout=30)
            assert len(results) == 5
            streamed = [ev for status, ev, _ in results if ev]
            assert streamed  # some streams were under way when the upstream died
            for ev in streamed:  # those end with an error event, never as a short answer
                assert ev[-1] == "[DONE]" and ev[-2]["error"]["type"] == "upstream_error"
                assert not any(isinstance(e, dict) and e.get("choices") and e["choices"][0].get("finish_reason")
                               for e in ev)
            for status, ev, text in results:  # any that had not started got a plain 502
                assert ev or (status == 502 and "upstream" in text)
            rows = ledger_rows(c)
            assert len(rows) == 5 and all(r["error_type"] == "upstream_error:upstream_error" for r in rows)
    finally:
        if up.poll() is None:
            up.kill()
        up.wait(timeout=10)
