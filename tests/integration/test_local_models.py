"""The bundled models, for real: SmolLM2 (chat), Gemma 3 270M (base), multilingual-e5 (embeddings)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from plusn.gateway.app import create_app
from plusn.load_config import load_settings

pytestmark = pytest.mark.model
SMOL = "smollm2-135m-instruct"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("data")
    settings = load_settings(environ={"PLUSN_DATA_DIR": str(data)})  # the embedded defaults
    with TestClient(create_app(settings)) as c:
        yield c


def ask(text: str, **kw: object) -> dict[str, object]:
    return {"model": SMOL, "messages": [{"role": "user", "content": text}], **kw}


def test_smollm2_answers_a_chat(client: TestClient) -> None:
    r = client.post("/v1/chat/completions", json=ask("What is the capital of France?", max_tokens=24))
    assert r.status_code == 200
    body = r.json()
    assert body["choices"][0]["message"]["content"].strip()
    u = body["usage"]
    assert u["prompt_tokens"] > 5 and 0 < u["completion_tokens"] <= 24
    assert body["choices"][0]["finish_reason"] in {"stop", "length"}


def test_smollm2_streams_the_same_text_as_it_answers(client: TestClient) -> None:
    req = ask("Name three colours.", max_tokens=20, temperature=0, seed=7)
    whole = client.post("/v1/chat/completions", json=req).json()
    with client.stream("POST", "/v1/chat/completions", json={**req, "stream": True, "stream_options": {"include_usage": True}}) as r:
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
    pieces = [e["choices"][0]["delta"].get("content", "") for e in events if e["choices"]]
    streamed = "".join(pieces)
    assert streamed == whole["choices"][0]["message"]["content"]
    usage = events[-1]["usage"]
    assert usage == whole["usage"]
    assert 0 < sum(1 for p in pieces if p) <= usage["completion_tokens"] <= 20


def test_json_object_is_enforced_by_grammar(client: TestClient) -> None:
    r = client.post("/v1/chat/completions", json=ask(
        "Give the name and age of a person as JSON.", max_tokens=60, temperature=0,
        response_format={"type": "json_object"}))
    assert r.status_code == 200
    json.loads(r.json()["choices"][0]["message"]["content"])


def test_json_schema_is_enforced_by_grammar(client: TestClient) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
              "required": ["city", "population"]}
    r = client.post("/v1/chat/completions", json=ask(
        "Describe Paris.", max_tokens=60, temperature=0,
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}}))
    out = json.loads(r.json()["choices"][0]["message"]["content"])
    assert isinstance(out["city"], str) and isinstance(out["population"], int)


def test_gemma_base_model_continues_chinese(client: TestClient) -> None:
    r = client.post("/v1/completions", json={"model": "gemma3-270m", "prompt": "北京是中国的", "max_tokens": 12, "temperature": 0})
    assert r.status_code == 200
    body = r.json()
    assert body["choices"][0]["text"].strip()
    assert body["usage"]["completion_tokens"] <= 12
    chat = client.post("/v1/chat/completions", json={"model": "gemma3-270m", "messages": [{"role": "user", "content": "hi"}]})
    assert chat.status_code == 400 and chat.json()["error"]["code"] == "unsupported_for_model"
    models = {m["id"]: m for m in client.get("/v1/models").json()["data"]}
    assert models["gemma3-270m"]["plusn"]["base_model"] is True


def test_too_long_prompt_is_a_400(client: TestClient) -> None:
    r = client.post("/v1/chat/completions", json=ask("hello " * 9000, max_tokens=4))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "context_length_exceeded"


def test_multilingual_embeddings_rank_by_meaning(client: TestClient) -> None:
    passages = ["住房公积金提取需要提供购房合同和身份证。", "明天北京有小雨，气温十五度。", "The museum opens at nine."]
    r = client.post("/v1/embeddings", json={"model": "multilingual-e5-small", "input": passages})
    assert r.status_code == 200
    P = np.array([d["embedding"] for d in r.json()["data"]])
    assert P.shape == (3, 384)
    q = client.post("/v1/embeddings", json={"model": "multilingual-e5-small", "input": "怎么取出公积金", "input_type": "query"})
    qv = np.array(q.json()["data"][0]["embedding"])
    scores = P @ qv
    assert int(np.argmax(scores)) == 0
    assert r.json()["usage"]["prompt_tokens"] > 10
    # base64, as the openai SDK asks by default, carries the same float32 vector
    b = client.post("/v1/embeddings", json={"model": "multilingual-e5-small", "input": passages[:1], "encoding_format": "base64"})
    vec = np.frombuffer(base64.b64decode(b.json()["data"][0]["embedding"]), dtype="<f4")
    assert np.allclose(vec, P[0], atol=1e-6)


def test_every_call_leaves_exactly_one_ledger_row(client: TestClient) -> None:
    from plusn.ledger.writer import read_rows

    rt = client.app.state.plusn  # type: ignore[attr-defined]
    rt.ledger.flush()
    before = len(read_rows(rt.settings.ledger_path()))
    ok = client.post("/v1/chat/completions", json=ask("Hi", max_tokens=3))
    bad = client.post("/v1/chat/completions", json={"model": SMOL})
    rt.ledger.flush()
    rows = read_rows(rt.settings.ledger_path())
    assert len(rows) == before + 2
    assert [r["status"] for r in rows[-2:]] == [ok.status_code, bad.status_code] == [200, 400]


def test_a_schema_llama_cannot_compile_is_a_400(client: TestClient) -> None:
    r = client.post("/v1/chat/completions", json=ask(
        "x", max_tokens=5, response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "foo"}}}))
    assert r.status_code == 400 and r.json()["error"]["param"] == "response_format"
