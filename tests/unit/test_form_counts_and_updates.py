"""How a form reads counts of people, amounts in a scale word's unit (万元), numbers said with
来 or as two neighbours (七八个月), a no of "any" (没什么…), and a count grown since a decision.
A form of the tests' own: a market stall licence."""

from __future__ import annotations

from plusn.agents import forms
from plusn.agents.quantities import quantities
from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec

STALL = FormSpec.model_validate({
    "slots": {
        "helpers": {"type": "integer", "label": "帮工人数", "ask": "除您以外，摊位上有几个帮工？", "unit": "人",
                    "min": 0, "max": 100, "aliases": ["帮工"]},
        "stock": {"type": "number", "label": "备货金额（万元）", "ask": "备货花了多少钱？（单位：万元）",
                  "units": {"万元": 1, "万": 1}, "min": 0, "max": 10000, "aliases": ["备货"]},
        "months": {"type": "integer", "label": "摆摊时长（月）", "ask": "您摆摊多久了？",
                   "units": {"年": 12, "个月": 1, "月": 1}, "min": 0, "max": 600, "aliases": ["摆摊"]},
        "permit": {"type": "boolean", "label": "卫生许可", "ask": "您是否已经领了卫生许可证？（是 / 否）",
                   "yes_words": ["领了许可证"], "no_words": ["没许可证"]},
        "fined": {"type": "boolean", "label": "受过处罚", "ask": "您以前是否被罚过款？（是 / 否）",
                  "yes_words": ["罚过"], "no_words": ["没罚过", "没领过罚单"]},
    },
    "tree": {"slot": "months", "when": [{"if": "value >= 6", "then": {
        "slot": "helpers", "when": [{"if": "value >= 3", "then": {"decision": "办大摊位证"}}],
        "default": {"decision": "办小摊位证"}}}], "default": {"decision": "先试营业"}},
})


def value(text: str, slot: str) -> object:
    got = read(STALL, text, slot, "zh").found.get(slot)
    return None if got is None else (got.value, got.sure)


def test_people_are_counted_with_their_measure_word_and_none_is_zero() -> None:
    assert value("三个人", "helpers") == (3, True)
    assert value("有两名帮工", "helpers") == (2, True)
    assert value("就招了一个小姑娘帮忙看摊", "helpers") == (1, True)
    assert value("帮工就两个", "helpers") == (2, True)  # 个 ends the clause: nothing else is counted
    assert value("没雇人", "helpers") == (0, True)
    # "我跟我老婆两个人" counts a group the user is in; the 没雇人 beside it is the count asked
    assert value("就我跟我老婆两个人在弄，没雇人", "helpers") == (0, True)
    # a measure word before something that is no person is no count of people
    assert value("开了两个摊位", "helpers") is None
    assert value("两个", "months") is None  # nor, to a question of time, a bare 两个


def test_a_scale_word_that_is_the_slot_unit_is_its_unit() -> None:
    assert value("备货花了二十万", "stock") == (20, True)
    assert value("20万", "stock") == (20, True)
    assert value("三万五", "stock") == (3.5, True)
    got = read(STALL, "三万多块钱吧", "stock", "zh").found["stock"]
    assert got.span is not None and got.span[0] == 3 and got.span[1] < 4  # 3万 and some, below 4万
    # a slot in 元 still reads 万 as ten thousand
    assert [q.value for q in quantities("三万五", {"元": 1})] == [35000]


def test_about_a_number_and_one_or_the_next() -> None:
    q = quantities("三十来天")[0]
    assert (q.value, q.unit) == (30, "天") and q.low is not None and q.low < 30 < q.high  # type: ignore[operator]
    assert [(q.low, q.high) for q in quantities("七八个月")] == [(7, 8)]
    assert [(q.low, q.high) for q in quantities("三四十万", {"万": 1})] == [(30, 40)]
    assert [q.unit for q in quantities("我们三个来的")] == [None]  # 来 as a verb: no "about"
    got = read(STALL, "快半年了", "months", "zh").found["months"]
    assert got.value == 5  # nearly six months holds no whole sixth: five are done
    # two neighbours on both sides of a threshold decide nothing: the form asks again
    state = forms.FormState()
    t = forms.turn(STALL, state, "五六个月吧", "zh")
    assert t.decision is None and "months" not in state.values


def test_a_no_of_any_opens_a_reply_and_asks_nothing() -> None:
    assert value("没什么罚单，就是被说过几次", "fined") == (False, True)
    assert read(STALL, "之前没罚过什么款", None, "zh").found["fined"].value is False  # no question
    # the 领 of 没领过罚单 is the other question's word: it says nothing of the 领 of 领了许可证
    got = read(STALL, "之前没领过罚单", "permit", "zh").found
    assert "permit" not in got and got["fined"].value is False


def test_a_count_grown_since_the_decision_updates_it() -> None:
    state = forms.FormState()
    forms.turn(STALL, state, "摆了一年了", "zh")
    t = forms.turn(STALL, state, "帮工就两个", "zh")
    assert t.decision is not None and t.decision["decision"] == "办小摊位证"
    t = forms.turn(STALL, state, "这个月刚又招了两个，现在一共四个人", "zh")
    assert t.decision is not None and t.decision["decision"] == "办大摊位证"
    # a different count said without anything grown is no update: which is right?
    state = forms.FormState()
    forms.turn(STALL, state, "摆了一年了", "zh")
    forms.turn(STALL, state, "帮工就两个", "zh")
    t = forms.turn(STALL, state, "帮工四个人", "zh")
    assert t.decision is None and state.conflict == 4

