"""The pieces of agents that read untrusted text: forms, the calculator, the tool-call parser,
the HTTP allow-list. Whatever a user or a model writes, they answer or refuse; they never raise."""

from __future__ import annotations

import pytest

from plusn.agents import forms
from plusn.agents.loop import parse_call
from plusn.agents.spec import FormSpec, Slot, ToolSpec
from plusn.agents.tools import HTTP, ToolError, calculate

MONTHS = Slot(type="integer", ask="几个月？", min=0, max=600, units={"年": 12, "个月": 1, "月": 1})


@pytest.mark.parametrize(("text", "value"), [
    ("8个月", 8), ("三个月", 3), ("两年", 24), ("我离职3年了", 36), ("十二个月", 12), ("1,2 个月", 1),
])
def test_numbers_with_units(text: str, value: int) -> None:
    assert forms.validate(MONTHS, text, "zh") == value


@pytest.mark.parametrize("text", ["9" * 400, "很久了", "1e999", "-5个月", "700"])
def test_bad_numbers_are_invalid_not_errors(text: str) -> None:
    with pytest.raises(forms.Invalid):
        forms.validate(MONTHS, text, "zh")


@pytest.mark.parametrize(("text", "value"), [
    ("是的，没有逾期", True), ("没错", True), ("没问题", True), ("不是", False), ("没有发票", False),
    ("no", False), ("yes please", True), ("可以的", True),
])
def test_yes_and_no(text: str, value: bool) -> None:
    assert forms.validate(Slot(type="boolean", ask="?"), text, "zh") is value


@pytest.mark.parametrize("text", ["不知道", "not sure", "随便"])
def test_an_unsure_answer_is_asked_again(text: str) -> None:
    with pytest.raises(forms.Invalid):
        forms.validate(Slot(type="boolean", ask="?"), text, "zh")


def test_enum_values_from_models_and_latin_words() -> None:
    slot = Slot(type="enum", ask="?", options={"local": ["here"], "remote": ["far"]})
    with pytest.raises(forms.Invalid):
        forms.validate(slot, ["local"], "en")  # an extractor's odd reply
    assert forms.validate(slot, "I am local", "en") == "local"
    with pytest.raises(forms.Invalid):
        forms.validate(slot, "I work locally", "en")  # not a whole word


def test_patterns_are_found_whole_and_only_near_their_name() -> None:
    spec = FormSpec(slots={
        "phone": Slot(type="string", ask="电话？", pattern=r"^1\d{10}$"),
        "zip": Slot(type="string", ask="邮编？", pattern=r"^\d{6}$", aliases=["邮编"]),
    })
    found, _ = forms.recognise(spec, "13800138000", "phone", "zh")
    assert found == {"phone": "13800138000"}  # no zip cut out of the phone number
    found, _ = forms.recognise(spec, "电话 13800138000，邮编 100080", "phone", "zh")
    assert found == {"phone": "13800138000", "zip": "100080"}


def test_a_repeated_answer_does_not_swallow_a_yes() -> None:
    spec = FormSpec(slots={"purpose": Slot(type="enum", ask="?", options={"购房": ["买房"]}),
                           "invoice": Slot(type="boolean", ask="有发票吗？")})
    state = forms.FormState({"purpose": "购房"}, "invoice")
    turn = forms.turn(spec, state, "是的，买房的发票我有", "zh")
    assert state.values["invoice"] is True and turn.decision is not None


@pytest.mark.parametrize("expr", ["-" * 5000 + "1", "1e999", "(10**64)**64", "__import__('os')", "1/0", "a.b"])
def test_the_calculator_refuses_cleanly(expr: str) -> None:
    with pytest.raises(ToolError):
        calculate(expr)


def test_the_calculator_is_decimal() -> None:
    assert calculate("19.9 * 3") == 59.7 and calculate("0.1 + 0.2") == 0.3 and calculate("round(10/3, 2)") == 3.33


@pytest.mark.parametrize(("text", "call"), [
    ('CALL {"tool": "calculator", "arguments": {"expression": "1+1"}}', ("calculator", {"expression": "1+1"})),
    ('<tool_call>{"name": "clock", "arguments": {}}</tool_call>', ("clock", {})),
    ('{"name": "clock", "price": 3}', None),  # an answer that happens to have a name
    ('You may CALL {"tool": "clock"} later', None),  # CALL must start a line
    ('CALL {"tool": "rm", "arguments": {}}', None),  # not a tool of this agent
])
def test_the_tool_call_parser(text: str, call: tuple[str, dict[str, str]] | None) -> None:
    got = parse_call(text, {"calculator", "clock"})
    assert (None if got is None else (got.tool, got.arguments)) == call


@pytest.mark.parametrize(("url", "ok"), [
    ("https://api.example.com/v1", True), ("https://API.Example.com./v1", True), ("https://x.gov.cn/", True),
    ("http://api.example.com:22/", False), ("https://api.example.com.evil.com/", False), ("https://gov.cn/", False),
    ("http://user:pw@api.example.com/", False), ("ftp://api.example.com/", False), ("http://[::1]/", False),
    ("http://127.0.0.1:8080/", True), ("http://127.0.0.1/", False), ("http://api.example.com:99999/", False),
])
def test_the_http_allow_list(url: str, ok: bool) -> None:
    tool = HTTP(ToolSpec(type="http", allow=["api.example.com", "*.gov.cn", "127.0.0.1:8080"]))
    if ok:
        assert tool.allowed(url) == url
    else:
        with pytest.raises(ToolError):
            tool.allowed(url)
