"""The parts of tool calling that need no model: plans, schemas and grammars, parsing what a model
wrote, stream deltas, conversations as text turns, capabilities."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from plusn.config import ModelSettings
from plusn.errors import InvalidRequest
from plusn.fleet.backend import GenRequest, merge_tool_deltas, unsupported
from plusn.fleet.chat_text import called_since_user, plain_messages, with_system
from plusn.fleet.model_types import resolve, with_type_defaults
from plusn.fleet.tool_calls import (
    Function,
    call_deltas,
    call_from_text,
    call_schema,
    closed,
    signature,
    tool_plan,
)
from plusn.protocol import ChatCompletionRequest, chat_chunk, chat_response

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                   "required": ["city"]}}}
EMAIL = {"type": "function", "function": {
    "name": "send_email", "parameters": {"type": "object", "properties": {
        "to": {"type": "string"}, "cc": {"type": "array", "items": {"type": "object", "properties": {
            "address": {"type": "string"}}}}}, "required": ["to"]}}}
CLOCK = {"type": "function", "function": {"name": "now"}}  # no parameters at all


def test_the_plan_follows_tool_choice() -> None:
    assert tool_plan({}) is None
    assert tool_plan({"tools": [WEATHER], "tool_choice": "none"}) is None
    auto = tool_plan({"tools": [WEATHER, EMAIL]})
    assert auto is not None and auto.mode == "auto" and [f.name for f in auto.functions] == ["get_weather", "send_email"]
    required = tool_plan({"tools": [WEATHER, EMAIL], "tool_choice": "required"})
    assert required is not None and required.mode == "required" and len(required.functions) == 2
    named = tool_plan({"tools": [WEATHER, EMAIL], "tool_choice": {"type": "function", "function": {"name": "send_email"}}})
    assert named is not None and named.mode == "required" and [f.name for f in named.functions] == ["send_email"]
    empty = tool_plan({"tools": [CLOCK], "tool_choice": "required"})
    assert empty is not None and empty.functions[0].parameters == {"type": "object", "properties": {},
                                                                    "additionalProperties": False}


@pytest.mark.parametrize(("extra", "param", "says"), [
    ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "fly"}}}, "tool_choice", "'fly'"),
    ({"tools": [WEATHER], "tool_choice": {"type": "allowed_tools"}}, "tool_choice", "tool_choice must be"),
    ({"tools": [WEATHER], "tool_choice": "sometimes"}, "tool_choice", "'sometimes'"),
    ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools", "tools[0]"),
    ({"tools": [{"type": "function", "function": {"description": "no name"}}]}, "tools", "name is missing"),
])
def test_a_plan_that_cannot_be_kept_is_a_400_naming_the_parameter(extra: dict[str, Any], param: str, says: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        tool_plan(extra)
    assert err.value.param == param and says in err.value.message


def test_objects_are_closed_unless_the_schema_says_otherwise() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "object", "properties": {"b": {"type": "string"}}},
                                               "c": {"type": "object", "properties": {}, "additionalProperties": True}}}
    out = closed(schema)
    assert out["additionalProperties"] is False and out["properties"]["a"]["additionalProperties"] is False
    assert out["properties"]["c"]["additionalProperties"] is True
    assert "additionalProperties" not in schema  # the request's own schema is left as sent


def test_the_call_schema_names_one_tool_and_holds_its_arguments() -> None:
    plan = tool_plan({"tools": [WEATHER, EMAIL]})
    assert plan is not None
    schema = call_schema(plan.functions)
    jsonschema.validate({"name": "get_weather", "arguments": {"city": "Paris"}}, schema)
    jsonschema.validate({"name": "send_email", "arguments": {"to": "a@b.c", "cc": [{"address": "d@e.f"}]}}, schema)
    for wrong in ({"name": "fly", "arguments": {}},
                  {"name": "get_weather", "arguments": {"town": "Paris"}},  # invented key
                  {"name": "get_weather", "arguments": {"city": "Paris", "unit": "kelvin"}},
                  {"name": "send_email", "arguments": {"to": "a@b.c", "cc": [{"address": "x", "bcc": 1}]}},
                  {"arguments": {"city": "Paris"}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, schema)
    one = call_schema(plan.functions[:1])
    assert one["properties"]["name"] == {"const": "get_weather"} and list(one["properties"]) == ["name", "arguments"]


def test_llama_cpp_compiles_the_call_schema_with_the_name_first() -> None:
    grammar = pytest.importorskip("llama_cpp.llama_grammar")
    plan = tool_plan({"tools": [WEATHER, EMAIL, CLOCK]})
    assert plan is not None
    gbnf = grammar.json_schema_to_gbnf(json.dumps(call_schema(plan.functions)))
    assert '"\\"get_weather\\""' in gbnf and '"\\"now\\""' in gbnf
    root = next(line for line in gbnf.splitlines() if line.startswith("alternative-0 ::="))
    assert root.index("name-kv") < root.index("arguments-kv")  # which tool is settled before its arguments


def test_what_the_model_wrote_becomes_an_openai_tool_call() -> None:
    call = call_from_text('{"name": "get_weather", "arguments": {"city": "Zürich"}}')
    assert call is not None and call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Zürich"}'}
    cut = call_from_text('{"name": "get_weather", "arguments": {"city": "Zü')  # max_tokens ran out
    assert cut is not None and cut["function"] == {"name": "get_weather", "arguments": '{"city": "Zü'}
    assert call_from_text('{"name": "get_wea') is None
    assert call_from_text("Sunny, 20 degrees.") is None


def test_stream_deltas_are_openais_and_merge_back_into_the_calls() -> None:
    calls = [{"id": "call_1", "type": "function", "function": {"name": "a", "arguments": '{"x": 1}'}},
             {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}}]
    deltas = call_deltas(calls)
    assert deltas[0] == [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "a", "arguments": ""}}]
    assert deltas[1] == [{"index": 0, "function": {"arguments": '{"x": 1}'}}]
    assert deltas[2][0]["index"] == 1 and len(deltas) == 3
    merged: dict[int, dict[str, Any]] = {}
    for d in deltas:
        merge_tool_deltas(merged, d)
    assert [merged[i] for i in sorted(merged)] == calls
    pieces: dict[int, dict[str, Any]] = {}  # an upstream's arguments in pieces
    for f in ([{"index": 0, "id": "c", "type": "function", "function": {"name": "a", "arguments": ""}}],
              [{"index": 0, "function": {"arguments": '{"x"'}}], [{"index": 0, "function": {"arguments": ": 1}"}}]):
        merge_tool_deltas(pieces, f)
    assert pieces[0]["function"]["arguments"] == '{"x": 1}'


def test_a_conversation_with_calls_and_results_becomes_text_turns() -> None:
    turns = plain_messages([
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Weather in "}, {"type": "text", "text": "Paris?"}]},
        {"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "c2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "18 C, sunny"},
        {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "14:05"}]},
    ], "m")
    assert turns == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": 'Weather in Paris?\n\nResult of get_weather({"city": "Paris"}): 18 C, sunny'
                                    "\n\nResult of get_time({}): 14:05"},
    ]
    later = plain_messages([{"role": "user", "content": "Time?"},
                            {"role": "assistant", "content": "Let me look.", "tool_calls": [
                                {"id": "c1", "type": "function", "function": {"name": "now", "arguments": ""}}]},
                            {"role": "tool", "tool_call_id": "c1", "content": "14:05"},
                            {"role": "assistant", "content": "It is 14:05."}, {"role": "user", "content": "Thanks"}], "m")
    assert later == [{"role": "user", "content": "Time?"}, {"role": "assistant", "content": "Let me look."},
                     {"role": "user", "content": "Result of now({}): 14:05"},
                     {"role": "assistant", "content": "It is 14:05."}, {"role": "user", "content": "Thanks"}]
    assert with_system(turns[1:], "Tools.")[0] == {"role": "system", "content": "Tools."}
    assert with_system(turns, "Tools.")[0] == {"role": "system", "content": "Be brief.\n\nTools."}


def test_an_image_part_for_a_text_model_is_a_400_naming_the_model_and_the_part() -> None:
    with pytest.raises(InvalidRequest) as err:
        plain_messages([{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}], "tiny")
    assert err.value.param == "messages" and err.value.code == "unsupported_for_model"
    assert "'tiny'" in err.value.message and "messages[0].content[1]" in err.value.message
    assert "'image_url'" in err.value.message


def test_the_tools_called_since_the_user_spoke() -> None:
    call = {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]}
    assert called_since_user([{"role": "user", "content": "x"}]) is None
    assert called_since_user([{"role": "user", "content": "x"}, call]) is None  # no result yet
    assert called_since_user([{"role": "user", "content": "x"}, call,
                              {"role": "tool", "tool_call_id": "c", "content": "1"}]) == {"f"}
    assert called_since_user([{"role": "user", "content": "x"}, call, {"role": "tool", "content": "1"},
                              {"role": "assistant", "content": "One."}, {"role": "user", "content": "again"}]) is None


def test_a_request_needs_the_capabilities_of_what_it_sends() -> None:
    caps = ModelSettings(type="scripted").capabilities
    ask = [{"role": "user", "content": "hi"}]
    assert unsupported(caps, GenRequest("chat", ask)) is None
    assert unsupported(caps, GenRequest("chat", ask, extra={"tools": [WEATHER]})) == ("tools", "tools")
    assert unsupported(caps, GenRequest("chat", ask, extra={"tools": [WEATHER], "tool_choice": "none"})) is None
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]
    assert unsupported(caps, GenRequest("chat", image)) == ("vision", "messages")
    texts = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert unsupported(caps, GenRequest("chat", texts)) is None


def test_the_type_decides_what_the_config_leaves_unsaid() -> None:
    pytest.importorskip("llama_cpp")
    local, remote = resolve("llamacpp"), resolve("openai")

    def caps(type_: str, cls: Any, **given: Any) -> Any:
        ms = ModelSettings.model_validate({"type": type_, **({"capabilities": given} if given else {})})
        return with_type_defaults(ms, cls).capabilities

    assert caps("llamacpp", local).tools is True and caps("llamacpp", local).vision is False
    assert caps("llamacpp", local, chat=False).tools is False  # a base model has no chat template
    assert caps("llamacpp", local, tools=False).tools is False  # said in the config: kept
    assert caps("openai", remote).tools is True and caps("openai", remote).vision is True
    assert caps("openai", remote, vision=False).vision is False


def test_the_wire_format_of_tools() -> None:
    body = ChatCompletionRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "x"}],
                                                 "tools": [WEATHER], "tool_choice": "required", "user": "u1"})
    extra = body.to_gen().extra
    assert extra["tools"] == [WEATHER] and extra["tool_choice"] == "required" and extra["user"] == "u1"
    with pytest.raises(ValueError):
        ChatCompletionRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "x"}],
                                              "tools": [WEATHER], "tool_choice": "maybe"})
    calls = [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]
    from plusn.fleet.backend import Usage

    message = chat_response("r", "m", "", "tool_calls", Usage(), {}, tool_calls=calls)["choices"][0]["message"]
    assert message == {"role": "assistant", "content": None, "tool_calls": calls}
    assert chat_response("r", "m", "hi", "stop", Usage(), {})["choices"][0]["message"] == {"role": "assistant",
                                                                                           "content": "hi"}
    assert chat_chunk("r", 0, "m", tool_calls=call_deltas(calls)[0])["choices"][0]["delta"] == {
        "tool_calls": call_deltas(calls)[0]}


def test_a_tool_reads_as_a_signature() -> None:
    plan = tool_plan({"tools": [WEATHER]})
    assert plan is not None
    assert signature(plan.functions[0]) == ('get_weather(city: string, unit?: "celsius" | "fahrenheit") - '
                                            "Get the current weather for a city.")
    assert signature(Function("now", "", {"type": "object"})) == "now()"


def test_the_choices_made_without_scoring() -> None:
    pytest.importorskip("numpy")
    from plusn.fleet.llamacpp_tools import choose

    ask = [{"role": "user", "content": "Weather in Oslo?"}]
    one = tool_plan({"tools": [WEATHER], "tool_choice": "required"})
    two = tool_plan({"tools": [WEATHER, EMAIL]})
    assert one is not None and two is not None
    # llm and formatter are None: none of these may score anything
    assert choose(None, None, one, ask, 4.5).function == one.functions[0]
    called = [*ask, {"role": "assistant", "tool_calls": [
        {"id": "a", "function": {"name": "get_weather", "arguments": "{}"}},
        {"id": "b", "function": {"name": "send_email", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "a", "content": "9 C"}, {"role": "tool", "tool_call_id": "b", "content": "sent"}]
    assert choose(None, None, two, called, 4.5).function is None
    assert choose(None, None, two, [{"role": "user", "content": " "}], 4.5).function is None
    required = tool_plan({"tools": [WEATHER, EMAIL], "tool_choice": "required"})
    assert required is not None
    assert choose(None, None, required, [{"role": "user", "content": ""}], 4.5).function == required.functions[0]


def test_the_tools_eval_refuses_bad_definitions_and_rows_naming_the_file(tmp_path: Any) -> None:
    from plusn.errors import ConfigError
    from plusn.evals import tools as tools_eval

    data = tmp_path / "set.jsonl"
    data.write_text(json.dumps({"id": "a", "prompt": "weather in Paris?", "tools": ["get_weather"],
                                "call": "get_weather"}) + "\n")
    catalog = tmp_path / "tools.json"
    good = {"get_weather": {"description": "The weather.", "parameters": {"type": "object"}}}
    for bad, says in (({"get_weather": "a string"}, "'get_weather' is not"),
                      ({"get_weather": {"parameters": {"type": 3}}}, "not a JSON schema")):
        catalog.write_text(json.dumps(bad))
        with pytest.raises(ConfigError, match=says) as err:
            tools_eval.load(data)
        assert str(catalog) in err.value.message
    catalog.write_text(json.dumps(good))
    rows, _ = tools_eval.load(data)
    assert rows[0].call == "get_weather"
    data.write_text(json.dumps({"prompt": "hi", "tools": [["get_weather"]], "call": None}) + "\n")
    with pytest.raises(ConfigError, match=r"set.jsonl:1"):
        tools_eval.load(data)


def test_an_empty_reply_is_not_an_answer_in_text() -> None:
    from plusn.evals import tools as tools_eval

    row = tools_eval.Row("a", "tell me a joke", ["get_weather"], None)
    empty = tools_eval._scored(row, {}, [], "  ", 0.1)
    said = tools_eval._scored(row, {}, [], "Why did the chicken...", 0.1)
    assert tools_eval._figures([empty, said])["answered_in_text"] == 1
