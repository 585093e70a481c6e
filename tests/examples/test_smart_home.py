"""examples/smart-home through the real gateway and the real tiny model: rules answer the common
phrasings with a device command and no model; the long tail goes to the device-command skill,
whose answer (from SmolLM2, grammar-enforced) has the same JSON schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from plusn.gateway.app import create_app
from plusn.load_config import load_settings

EXAMPLE = Path(__file__).parents[2] / "examples" / "smart-home"
SCHEMA = Draft202012Validator(__import__("yaml").safe_load(
    (EXAMPLE / "skills" / "device-command.yaml").read_text(encoding="utf-8"))["output"])

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("smart-home")
    # Only the model the skill uses is loaded (no embeddings: the example has no intents).
    settings = load_settings(EXAMPLE / "plusn.yaml", environ={}, overrides={"data_dir": str(data)})
    settings.models = {k: v for k, v in settings.models.items() if k == "smollm2-135m-instruct"}
    with TestClient(create_app(settings)) as c:
        yield c


def command(client: TestClient, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    r = client.post("/v1/chat/completions", json={"model": "auto", "messages": [{"role": "user", "content": text}]})
    assert r.status_code == 200, r.text
    body = r.json()
    return json.loads(body["choices"][0]["message"]["content"]), body["plusn"]


@pytest.mark.parametrize(("text", "expected"), [
    ("打开客厅的灯", {"device": "light", "room": "living_room", "action": "on", "value": None}),
    ("关掉卧室空调", {"device": "ac", "room": "bedroom", "action": "off", "value": None}),
    ("把书房的窗帘打开", {"device": "curtain", "room": "study", "action": "on", "value": None}),
    ("把卧室空调温度设为24度", {"device": "ac", "room": "bedroom", "action": "set", "value": 24}),
    ("空调调到26度", {"device": "ac", "room": "all", "action": "set", "value": 26}),
    ("turn on the kitchen lights", {"device": "light", "room": "kitchen", "action": "on", "value": None}),
    ("Switch off the AC in the bedroom", {"device": "ac", "room": "bedroom", "action": "off", "value": None}),
])
def test_rules_answer_the_common_phrasings_without_a_model(client: TestClient, text: str,
                                                           expected: dict[str, Any]) -> None:
    cmd, block = command(client, text)
    assert cmd == expected
    SCHEMA.validate(cmd)
    assert block["route"]["stages"][0]["stage"] == "rule"
    assert [m.split(":")[0] for m in block["served_models"]] == ["rule"] and block["cost"] == 0  # no model called


@pytest.mark.parametrize("text", ["it is too dark in the kitchen", "太热了，受不了"])
def test_the_long_tail_goes_to_the_model_and_keeps_the_schema(client: TestClient, text: str) -> None:
    cmd, block = command(client, text)
    SCHEMA.validate(cmd)  # the real model's answer, held to the schema by grammar
    route = block["route"]
    assert route["route"] == "long-tail" and route["skill"] == "device-command"
    assert route["enforced"] == "grammar" and route["attempts"] == 1
    assert block["served_models"] == ["smollm2-135m-instruct"]
