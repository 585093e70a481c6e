"""A learned router from config: trained at start-up on recorded outcomes, served as router:<name>."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import write_config
from fastapi.testclient import TestClient

from plusn.config import load_settings
from plusn.errors import ConfigError
from plusn.gateway.app import create_app


def _outcomes(path: Path) -> Path:
    """Recorded outcomes: the small model gets arithmetic right and proofs wrong; the big one both."""
    lines = [json.dumps({"header": True, "task": "toy", "models": {"tiny-1b": {"params_b": 1}, "huge-70b": {"params_b": 70}}})]
    for i in range(120):
        hard = i % 2 == 0
        prompt = f"Prove that the sequence {i} converges and justify each step" if hard else f"What is {i} plus {i + 3}?"
        lines.append(json.dumps({"id": str(i), "prompt": prompt, "gold": "x", "outcomes": {
            "tiny-1b": {"correct": not hard, "answer": "x", "output_tokens": 20},
            "huge-70b": {"correct": True, "answer": "x", "output_tokens": 40}}}))
    path.write_text("\n".join(lines) + "\n")
    return path


def _config(tmp: Path, **router: object) -> dict:
    return {"models": {"small": {"type": "scripted", "replies": ["small says hi"],
                                 "price": {"input_per_1k": 0.1, "output_per_1k": 0.1}},
                       "large": {"type": "scripted", "replies": ["large says hi"],
                                 "price": {"input_per_1k": 7, "output_per_1k": 7}}},
            "routers": {"math": {"outcomes": str(_outcomes(tmp / "out.jsonl")),
                                 "models": {"tiny-1b": "small", "huge-70b": "large"}, "threshold": 0.7, **router}},
            "routes": {"math": {"router": "math"}}}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings(write_config(tmp_path, _config(tmp_path)), environ={}))) as c:
        yield c


def ask(c: TestClient, model: str, text: str) -> dict:
    r = c.post("/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": text}]})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_router_sends_each_prompt_to_the_cheapest_model_predicted_to_succeed(client: TestClient) -> None:
    easy = ask(client, "router:math", "What is 250 plus 253?")
    hard = ask(client, "router:math", "Prove that the sequence 999 converges and justify each step")
    assert easy["plusn"]["served_models"] == ["small"] and hard["plusn"]["served_models"] == ["large"]
    route = easy["plusn"]["route"]
    assert route["chosen"] == "small" and route["predicted_success"] >= 0.7 and set(route["predicted"]) == {
        "small", "large"}
    assert hard["plusn"]["route"]["predicted"]["small"] < 0.7
    # the knob in the model name: demand near-certainty and even the easy prompt goes to the large model
    strict = ask(client, "router:math@0.999", "What is 250 plus 253?")
    assert strict["plusn"]["served_models"] == ["large"]
    assert "router:math" in [m["id"] for m in client.get("/v1/models").json()["data"]]


def test_router_config_errors_name_the_key(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    cfg["routers"]["math"]["models"]["huge-70b"] = "nope"
    with pytest.raises(ConfigError, match=r"routers\.math\.models"):
        load_settings(write_config(tmp_path, cfg), environ={})
    cfg = _config(tmp_path)
    cfg["routers"]["math"]["outcomes"] = str(tmp_path / "missing.jsonl")
    with pytest.raises(ConfigError, match=r"routers\.math\.outcomes"):
        load_settings(write_config(tmp_path, cfg), environ={})
