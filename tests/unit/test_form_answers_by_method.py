"""How a form reads a yes/no answer that restates the question, a slot's own word said with a
word inside it, and how matching by meaning spends its embeddings (a fake model that counts)."""

from __future__ import annotations

import asyncio
from typing import Any

from plusn.agents import forms
from plusn.agents.answers import says
from plusn.agents.meaning import Meaning
from plusn.agents.predicates import echoed
from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec

# A form of its own: a parking permit, with a yes/no question whose words a reply can restate.
PERMIT = FormSpec.model_validate({
    "slots": {
        "kind": {"type": "enum", "label": "车辆类型", "ask": "您的车是轿车还是货车？",
                 "options": {"轿车": ["小轿车", "私家车"], "货车": ["卡车", "小货车"]}},
        "insured": {"type": "boolean", "label": "保险", "ask": "您的车辆是否已经购买交强险？（是 / 否）",
                    "yes_words": ["买了保险", "已投保"], "no_words": ["没买保险", "未投保"]},
    },
    "tree": {"slot": "kind", "cases": {"货车": {"decision": "不发放"},
                                       "轿车": {"slot": "insured", "cases": {"true": {"decision": "发放"},
                                                                             "false": {"decision": "先投保"}}}}},
})
ASK = PERMIT.slots["insured"].ask


def test_a_reply_that_restates_the_question_answers_it_with_its_negations() -> None:
    assert echoed(ASK, "交强险已经买好了") is True
    assert echoed(ASK, "交强险还没来得及买") is False
    assert echoed("您的贷款是否正常还款、没有逾期？", "贷款没有逾期") is True  # negations agree
    assert echoed("您有没有未缴的罚款？", "罚款交清了") is None  # one shared piece is only the topic
    assert echoed(ASK, "交强险去哪里买？") is None  # a question asked back answers nothing
    got = read(PERMIT, "交强险已经买好了", "insured", "zh").found["insured"]
    assert got.value is True and got.sure  # sure: no confirmation needed before the decision


def test_a_restated_answer_decides_without_a_confirmation() -> None:
    state = forms.FormState()
    forms.turn(PERMIT, state, "私家车", "zh")
    t = forms.turn(PERMIT, state, "车辆交强险已经买了", "zh")
    assert t.decision is not None and t.decision["decision"] == "发放"


def test_a_slot_word_with_one_word_inside_it_still_counts_but_never_a_negator() -> None:
    assert read(PERMIT, "已经投保", "insured", "zh").found["insured"].value is True  # 已投保
    assert read(PERMIT, "没去买保险", "insured", "zh").found["insured"].value is False  # 没买保险
    assert read(PERMIT, "买了份保险", "insured", "zh").found["insured"].value is True  # 买了保险
    # "已不投保": the word inside is a negator, so it is not 已投保 (and the plain 不 says no)
    assert read(PERMIT, "已不投保", "insured", "zh").found["insured"].value is False


# A form of its own with words of having: a housing allowance (a house, a car in the family).
ALLOWANCE = FormSpec.model_validate({
    "slots": {
        "house": {"type": "boolean", "label": "自有住房", "ask": "您名下有没有房？", "yes_words": ["有房", "有房子"],
                  "no_words": ["没房", "没有房子"]},
        "car": {"type": "boolean", "label": "家庭汽车", "ask": "家里有没有汽车？", "yes_words": ["有车"], "no_words": ["没车"]},
    },
    "tree": {"slot": "house", "cases": {"true": {"decision": "不予补贴"},
                                        "false": {"slot": "car", "cases": {"true": {"decision": "减半补贴"},
                                                                           "false": {"decision": "全额补贴"}}}}},
})


def test_a_word_of_having_counts_with_the_things_count_owner_or_size_between() -> None:
    def said(text: str, slot: str, asked: str | None = None) -> bool | None:
        got = read(ALLOWANCE, text, asked, "zh").found.get(slot)
        return None if got is None or not got.sure else got.value

    assert said("有一套房", "house", "house") is True  # 有房 with its count between
    assert said("在这边没有自己的房子", "house") is False  # 没有房子 with its owner between
    assert said("有辆二手车", "car", "car") is True and said("我们家有套小房子", "house", "house") is True
    # with more said around it, a thing had may be elsewhere, rented, sold or someone else's: unread
    for text in ("有个房，但是是租的", "老家有套房", "有台车，不过已经报废了", "有一套房的首付都凑不齐"):
        slot = "car" if "车" in text else "house"
        assert slot not in read(ALLOWANCE, text, slot, "zh").found, text
    assert said("没有，我婆婆有套房", "house", "house") is False  # another's: the plain no is the answer
    # anything else between may make another thing: a mortgage, a parking space, a subsidy
    assert said("有个房贷", "house") is None and said("有一个车位", "car") is None
    assert said("听说有人才租房补贴", "house") is None


def test_a_word_of_having_in_a_case_supposed_says_nothing() -> None:
    assert "car" not in read(ALLOWANCE, "如果有车呢", "car", "zh").found
    assert "house" not in read(ALLOWANCE, "要是有套房的话还能领吗", "house", "zh").found
    got = read(ALLOWANCE, "主要是没有房子，才想申请", "house", "zh").found["house"]
    assert got.value is False and got.sure  # 要是 inside 主要是 supposes nothing


class CountingModel:
    """A fake embedding model: a fixed vector per text (its characters of a few kinds, counted), and a count of
    the texts it was asked to embed."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def __call__(self, texts: list[str]) -> list[list[float]]:
        self.texts.extend(texts)
        # a message of several clauses means as little as a greeting, as a whole
        return [[float(sum(c in s for c in ("你好" if "；" in t else t))) + 0.5 for s in ("轿私小", "货卡", "车辆", "你好谢")]
                for t in texts]


def test_the_whole_message_is_embedded_once_and_the_clauses_only_when_it_decides_nothing() -> None:
    model = CountingModel()
    meaning = Meaning(model)

    async def go() -> list[Any]:
        await meaning.read(PERMIT, "kind", "你好")  # the form's own texts, embedded once
        out: list[Any] = []
        for text in ("开的是私家小车，谢谢", "开的是私家小车，谢谢", "私小；货卡"):
            n = len(model.texts)
            out.append((await meaning.read(PERMIT, "kind", text), model.texts[n:]))
        return out

    (decided, first), (again, second), (_, third) = asyncio.run(go())
    assert decided is not None and decided.value == "轿车" and not decided.sure
    assert first == ["开的是私家小车，谢谢"]  # decided by the whole: its clauses are never embedded
    assert again == decided and second == []  # seen before: no embedding at all
    assert third == ["私小；货卡", "私小", "货卡"]  # the whole decided nothing: then its clauses


def test_a_reply_that_is_a_quantity_and_next_to_nothing_else_is_never_embedded() -> None:
    model = CountingModel()
    meaning = Meaning(model)

    async def go() -> list[Any]:
        await meaning.read(PERMIT, "kind", "你好")  # the form's own texts, embedded once
        n = len(model.texts)
        out = [await meaning.read(PERMIT, "kind", t) for t in ("两千出头吧", "大概五年半", "about 260 yuan")]
        return [out, model.texts[n:]]

    out, embedded = asyncio.run(go())
    assert out == [None, None, None] and embedded == []  # no option is a number, wherever it would land


def test_a_verb_and_its_object_split_by_le_or_guo_say_the_word() -> None:
    assert says("那个园是正规的，区里备了案的", "备案了") and says("已经打过针了", "打针了")
    assert not says("我准备了案件材料", "备案了")  # 准备 is another word


def test_a_split_done_word_needs_its_object_to_end_there_and_to_be_the_users() -> None:
    assert not says("办了好几次都没办下来", "办好了") and not says("我买了多件，有一件是坏的", "买多了")
    assert not says("邻居报了名，我还没", "报名了")  # someone else's


def test_a_short_request_in_the_forms_own_words_answers_nothing_by_meaning() -> None:
    model = CountingModel()
    meaning = Meaning(model)

    async def go(texts: tuple[str, ...]) -> list[Any]:
        await meaning.read(PERMIT, "kind", "你好")  # the form's own texts, embedded once
        n = len(model.texts)
        return [[await meaning.read(PERMIT, "kind", t) for t in texts], model.texts[n:]]

    # the request itself, in the questions' words ("想办个停车月卡" to a parking form): nothing to place
    out, embedded = asyncio.run(go(("想买交强险", "我想问下交强险", "hi，想买个交强险")))
    assert out == [None, None, None] and embedded == []
    # not a reply that says more than the form's words, however short, nor one that asks for nothing
    for text in ("想办个小货车的", "交强险的"):
        _, embedded = asyncio.run(go((text,)))
        assert embedded == [text], text

