"""How a form reads counts of people, amounts in a scale word's unit (万元), numbers said with
来, as two neighbours (七八个月) or with a fraction to a whole-number slot, and 没…什么. A form of
the tests' own: a market stall licence."""

from __future__ import annotations

from plusn.agents import forms
from plusn.agents.quantities import quantities
from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec

STALL = FormSpec.model_validate({
    "slots": {
        "helpers": {"type": "integer", "label": "帮工人数", "ask": "除您以外，摊位上有几个帮工？", "unit": "人",
                    "min": 0, "max": 100, "aliases": ["帮工"]},
        "stock": {"type": "integer", "label": "备货金额（万元）", "ask": "备货花了多少钱？（单位：万元）",
                  "units": {"万元": 1, "万": 1}, "min": 0, "max": 10000, "aliases": ["备货"]},
        "months": {"type": "integer", "label": "摆摊时长（月）", "ask": "您摆摊多久了？",
                   "units": {"年": 12, "个月": 1, "月": 1}, "min": 0, "max": 600, "aliases": ["摆摊"]},
        "permit": {"type": "boolean", "label": "卫生许可", "ask": "您是否已经领了卫生许可证？（是 / 否）",
                   "yes_words": ["领了许可证"], "no_words": ["没许可证"]},
        "fined": {"type": "boolean", "label": "受过处罚", "ask": "您以前是否被罚过款？（是 / 否）",
                  "yes_words": ["罚过"], "no_words": ["没罚过", "没领过罚单"]},
    },
    "tree": {"slot": "months", "when": [{"if": "value >= 6", "then": {
        "slot": "helpers", "when": [{"if": "value >= 3", "then": {
            "slot": "stock", "when": [{"if": "value >= 10", "then": {"decision": "办大摊位证"}}],
            "default": {"decision": "办中摊位证"}}}],
        "default": {"decision": "办小摊位证"}}}], "default": {"decision": "先试营业"}},
})


def value(text: str, slot: str) -> object:
    got = read(STALL, text, slot, "zh").found.get(slot)
    return None if got is None else (got.value, got.sure)


def test_people_are_counted_with_their_measure_word_and_none_is_zero() -> None:
    assert value("三个人", "helpers") == (3, True)
    assert value("有两名帮工", "helpers") == (2, True)
    assert value("目前就两个帮工", "helpers") == (2, True)
    assert value("帮工就两个", "helpers") == (2, True)  # 个 ends the clause: nothing else is counted
    assert value("没雇人", "helpers") == (0, True)
    # a measure word before something that is no person is no count of people
    assert value("开了两个摊位", "helpers") is None
    assert value("三个工作日内办好", "helpers") is None
    assert value("两个", "months") is None  # nor, to a question of time, a bare 两个


def test_a_count_of_people_that_says_more_is_only_a_guess() -> None:
    # which group is counted is not always the slot's: the form confirms before deciding
    for text in ("加上我一共三个人", "就招了一个小姑娘帮忙看摊", "面试了三个，都没来", "帮工有三个，但是没签合同",
                 "没雇人，就我和我儿子", "我自己一个人，没雇人", "没有老帮工，新招了三个", "摊上三个人",
                 "三个人，摊位？", "三个帮工，摊位下个月再办"):
        got = read(STALL, text, "helpers", "zh").found.get("helpers")
        assert got is None or not got.sure, text
    state = forms.FormState()
    forms.turn(STALL, state, "摆了一年了", "zh")
    t = forms.turn(STALL, state, "加上我一共三个人", "zh")
    assert t.decision is None and t.guessed == {"helpers": 3} and "helpers" not in state.values


def test_a_scale_word_that_is_the_slot_unit_is_its_unit() -> None:
    assert value("备货花了二十万", "stock") == (20, True)
    assert value("20万", "stock") == (20, True)
    assert value("投了十万块钱", "stock") == (10, True)
    assert value("一万", "stock") == (1, True)
    got = read(STALL, "三万多块钱吧", "stock", "zh").found["stock"]
    assert got.span is not None and got.span[0] == 3 and got.span[1] < 4  # 3万 and some, below 4万
    # a scale word names no slot by itself: "五万" said unasked is any amount (wages, rent)
    assert "stock" not in read(STALL, "在外面打工一年挣五万", None, "zh").found
    assert "stock" not in read(STALL, "万万没想到这么麻烦，万一不够呢", "stock", "zh").found  # 万 first: no number
    assert [q.value for q in quantities("投了百万", {"元": 1})] == [1_000_000]  # 百万 is a million
    # a slot in 元 still reads 万 as ten thousand
    assert [q.value for q in quantities("三万五", {"元": 1})] == [35000]


def test_a_fraction_said_to_a_whole_number_slot_is_between_two_whole_numbers() -> None:
    got = read(STALL, "九万五", "stock", "zh").found["stock"]
    assert got.span == (9, 10)  # never rounded to 10 across the tree's threshold
    state = forms.FormState()
    for text in ("摆了一年了", "三个帮工"):
        forms.turn(STALL, state, text, "zh")
    t = forms.turn(STALL, state, "九万五", "zh")
    assert t.decision is None and "stock" not in state.values


def test_about_a_number_and_one_or_the_next() -> None:
    q = quantities("三十来天")[0]
    assert (q.value, q.unit) == (30, "天") and q.low is not None and q.low < 30 < q.high  # type: ignore[operator]
    assert [(q.low, q.high) for q in quantities("七八个月")] == [(7, 8)]
    assert [(q.low, q.high) for q in quantities("三四十万", {"万": 1})] == [(30, 40)]
    assert [q.unit for q in quantities("我们三个来的")] == [None]  # 来 as a verb: no "about"
    got = read(STALL, "快半年了", "months", "zh").found["months"]
    assert got.value == 5  # nearly six months holds no whole sixth: five are done
    # about six, or five or six, on both sides of a threshold decide nothing: the form asks again
    for text in ("五六个月吧", "六个来月"):
        state = forms.FormState()
        t = forms.turn(STALL, state, text, "zh")
        assert t.decision is None and "months" not in state.values, text
    state = forms.FormState()
    forms.turn(STALL, state, "你好", "zh")  # asks how long
    t = forms.turn(STALL, state, "三个来月", "zh")  # two to four: below six either way
    assert t.decision is not None and t.decision["decision"] == "先试营业"


def test_none_of_them_and_the_user_alone_is_one_thing_said_twice() -> None:
    def helpers(text: str) -> object:
        got = read(STALL, text, "helpers", "zh").found.get("helpers")
        return None if got is None else (got.value, got.sure)

    assert helpers("没请帮工，就我自己") == (0, True)
    assert helpers("没雇人，就我和我老婆") == (0, False)  # someone else is there: which group? a guess
    assert helpers("三个人，就我自己") == (3, False)  # a count and "only me": a guess


def test_a_no_of_any_asks_nothing_and_a_verb_inside_another_slots_word_is_its() -> None:
    assert read(STALL, "之前没罚过什么款", None, "zh").found["fined"].value is False  # no question
    assert read(STALL, "没许可证有什么办法吗", "permit", "zh").found == {}  # a question asked back
    # the 领 of 没领过罚单 is the other question's word: it says nothing of the 领 of 领了许可证
    got = read(STALL, "之前没领过罚单", "permit", "zh").found
    assert "permit" not in got and got["fined"].value is False


def test_just_over_is_half_of_more() -> None:
    # 出头 is a little over: 一千出头 is 1,000 up to 1,500, where 一千多 reaches 2,000
    assert [(q.low, q.high) for q in quantities("一千出头", {"元": 1})] == [(1000, 1500)]
    assert [(q.low, q.high) for q in quantities("一千多", {"元": 1})] == [(1000, 2000)]
    assert [(q.low, q.high) for q in quantities("一年出头")] == [(1, 1.5)]




def test_a_correction_that_disowns_the_answer_held_takes_the_users_own_number() -> None:
    state = forms.FormState()
    forms.turn(STALL, state, "摆摊四个月了", "zh")
    assert state.values["months"] == 4
    # the 4 held was someone else's, and the user's own follows: taken without asking which
    t = forms.turn(STALL, state, "说错了，四个月是我老婆的摊，我自己的是八个月", "zh")
    assert state.values["months"] == 8 and t.corrected
    # disowned with nothing in its place, the answer held is not said again as the answer
    got = read(STALL, "不对，四个月是我老婆的摊", None, "zh", {"months": 4}).found
    assert "months" not in got
    # a number compared or added to another, or said of someone else, is no answer of the user's own, surely
    for text in ("说错了，四个月是我老婆的摊，我比她多摆了两个月", "说错了，四个月是我老婆的摊，我岳父摆了八个月"):
        got = read(STALL, text, None, "zh", {"months": 4}).found
        assert "months" not in got or not got["months"].sure, text
