"""A bound is not a number: 不到一年, 二十多天, more than 2 years carry the interval they allow,
and a form decides on one only where every number in it would lead the same way; otherwise it
asks for the number. A form of its own here (not the example): a residents' parking permit."""

from __future__ import annotations

import math

import pytest

from plusn.agents import forms
from plusn.agents.quantities import convert, convert_quantity, quantities
from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec
from plusn.agents.utterance import Read


def _permit(lang: str = "zh") -> FormSpec:
    zh = lang == "zh"
    return FormSpec.model_validate({
        "slots": {
            "resident": {"type": "boolean", "label": "本小区住户" if zh else "resident",
                         "ask": "您住在本小区吗？" if zh else "Do you live here?",
                         "yes_words": ["住本小区", "I live here"], "no_words": ["不住本小区", "I don't live here"]},
            "months": {"type": "number", "label": "居住时长" if zh else "time lived here", "unit": "月",
                       "ask": "您在本小区住了多久？" if zh else "How long have you lived here?", "min": 0, "max": 600,
                       "aliases": ["住了", "居住"] if zh else ["lived", "living"]},
            "cars": {"type": "integer", "label": "车辆数" if zh else "number of cars",
                     "units": {"辆": 1, "cars": 1, "car": 1},
                     "ask": "您家有几辆车？" if zh else "How many cars do you have?", "min": 0, "max": 10,
                     "aliases": ["车"] if zh else ["cars", "car"]},
        },
        "tree": {"slot": "resident", "cases": {
            "false": {"decision": "不能申请"},
            "true": {"slot": "months", "when": [{"if": "value >= 6", "then": {
                "slot": "cars", "when": [{"if": "value <= 1", "then": {"decision": "可以申请"}}],
                "default": {"decision": "只能申请一张"}}}],
                "default": {"decision": "住满半年再申请", "answer": "您住了{{ months }}个月，住满半年再申请。"}}}},
    })


PERMIT = _permit()
INF = math.inf


@pytest.mark.parametrize(("text", "said", "low", "high", "low_in", "high_in"), [
    ("住了不到一年", "不到一年", 0, 1, True, False), ("不满3个月", "不满3个月", 0, 3, True, False),
    ("少于两周", "少于两周", 0, 2, True, False), ("超过三年", "超过三年", 3, INF, False, False),
    ("五年以上", "五年以上", 5, INF, True, False), ("至少半年", "至少半年", 0.5, INF, True, False),
    ("30天以内", "30天以内", 0, 30, True, True), ("最多两天", "最多两天", 0, 2, True, True),
    ("四十多天", "四十多天", 40, 50, True, False), ("两年多", "两年多", 2, 3, True, False),
    ("三个多月", "三个多月", 3, 4, True, False), ("一百多", "一百多", 100, 200, True, False),
    ("十几天", "十几天", 10, 20, True, False), ("大约两年", "大约两年", 1.8, 2.2, True, True),
    ("less than a year", "less than a year", 0, 1, True, False),
    ("more than 2 years", "more than 2 years", 2, INF, False, False),
    ("at least 6 months", "at least 6 months", 6, INF, True, False),
    ("at most 3 weeks", "at most 3 weeks", 0, 3, True, True), ("under 30 days", "under 30 days", 0, 30, True, False),
    ("2 years or more", "2 years or more", 2, INF, True, False), ("a year or so", "a year or so", 0.9, 1.1, True, True),
    ("10多万", "10多万", 100_000, 200_000, True, False), ("还没满半年", "没满半年", 0, 0.5, True, False),
    # near a number by a tenth of it, but no further than the place of its last digit
    ("两千八左右", "两千八左右", 2700, 2900, True, True), ("一千左右", "一千左右", 900, 1100, True, True),
    ("大概五年半", "大概五年半", 5.4, 5.6, True, True), ("about 28", "about 28", 27, 29, True, True),
    ("十几万", "十几万", 100_000, 200_000, True, False),
    ("一千几百", "一千几百", 1100, 2000, True, False),  # (once 100,000: 几 then a place below the number's)
    # a range (was its low end, sure: "1千8到2千2" decided below a 2,000 line it straddles)
    ("一千五到两千", "一千五到两千", 1500, 2000, True, True), ("3到5天", "3到5天", 3, 5, True, True),
    ("1千8到2千2", "1千8到2千2", 1800, 2200, True, True),
])
def test_a_bound_carries_its_interval_and_its_words(text: str, said: str, low: float, high: float,
                                                     low_in: bool, high_in: bool) -> None:
    (q,) = quantities(text)
    assert text[q.start:q.end] == said and q.bounded
    assert q.interval() == pytest.approx((low, high)) and (q.low_in, q.high_in) == (low_in, high_in)


def test_the_interval_converts_with_the_value_and_exact_numbers_are_as_before() -> None:
    (q,) = quantities("不到一年")
    months = convert_quantity(q, "月")
    assert months is not None and months.interval() == (0, 12) and months.value == 12
    (q,) = quantities("两年多")
    days = convert_quantity(q, "天")
    assert days is not None and days.interval() == (730, 1095)
    for text, value in (("三年", 36), ("一年半", 18), ("8个月", 8), ("两周", 0.5)):
        (q,) = quantities(text)
        assert not q.bounded and convert(q, "月") == pytest.approx(value, rel=0.1)
    assert [q.value for q in quantities("多少钱，几个月")] == []  # a question word is no bound


def test_a_bound_on_one_side_of_every_threshold_decides_and_shows_the_users_words() -> None:
    state = forms.FormState()
    t = forms.turn(PERMIT, state, "我住本小区，住了不到三个月", "zh")
    assert t.decision is not None and t.decision["decision"] == "住满半年再申请"
    assert 0 <= state.values["months"] < 3  # the words in place of the number, and their unit only once:
    assert t.decision["answer"] == "您住了不到三个月，住满半年再申请。"
    t = forms.turn(PERMIT, state, "两个月", "zh")  # the number inside the bound refines it, no question
    assert state.values["months"] == 2 and t.decision is not None and "结论不变" in t.decision["notes"][0]
    assert t.decision["answer"] == "您住了2个月，住满半年再申请。"  # a whole number shows as one
    state = forms.FormState()
    t = forms.turn(PERMIT, state, "我住本小区，住了两年多，车最多一辆", "zh")
    assert t.decision is not None and t.decision["decision"] == "可以申请"
    state = forms.FormState()
    t = forms.turn(PERMIT, state, "住本小区，住了一年左右，车至少两辆", "zh")
    assert t.decision is not None and t.decision["decision"] == "只能申请一张"


def test_a_bound_across_a_threshold_asks_for_the_number() -> None:
    state = forms.FormState({"resident": True}, "months")
    t = forms.turn(PERMIT, state, "不到一年", "zh")  # 0 to 12 months, and the tree turns at 6
    assert t.decision is None and t.asked == "months" and "months" not in state.values
    assert "不到一年" in (t.reply or "") and "居住时长" in (t.reply or "") and "具体" in (t.reply or "")
    t = forms.turn(PERMIT, state, "八个月", "zh")
    assert state.values["months"] == 8 and t.asked == "cars" and state.vague == {}
    t = forms.turn(PERMIT, state, "两辆以内", "zh")  # 0 to 2 cars, and the tree turns at 1
    assert t.decision is None and t.asked == "cars" and "两辆以内" in (t.reply or "")
    t = forms.turn(PERMIT, state, "2", "zh")
    assert t.decision is not None and t.decision["decision"] == "只能申请一张"


def test_english_bounds_decide_or_ask_the_same_way() -> None:
    permit = _permit("en")
    state = forms.FormState({"resident": True}, "months")
    t = forms.turn(permit, state, "less than a year", "en")
    assert t.decision is None and t.asked == "months" and "less than a year" in (t.reply or "")
    state = forms.FormState({"resident": True}, "months")
    t = forms.turn(permit, state, "more than 2 years", "en")
    assert t.asked == "cars" and state.shown("months", state.values["months"], "en", permit) == "more than 2 years"
    t = forms.turn(permit, state, "at most one car", "en")
    assert t.decision is not None and t.decision["decision"] == "可以申请"


def test_a_guessed_bound_is_confirmed_in_the_users_words() -> None:
    state = forms.FormState({}, "resident")
    t = forms.turn(PERMIT, state, "是的，一年多了", "zh")  # a duration, no word naming its slot: a guess
    assert t.decision is None and state.guesses["months"] == 12 and "一年多" in (t.reply or "")
    assert "12" not in (t.reply or "")


def test_plain_numbers_read_as_before() -> None:
    got = read(PERMIT, "住了三年，车两辆", None, "zh")
    assert got.found["months"].value == 36 and got.found["months"].span is None
    assert got.found["months"].said is None and got.found["cars"].value == 2
    state = forms.FormState()
    t = forms.turn(PERMIT, state, "住本小区，住了5个月", "zh")
    assert t.decision is not None and t.decision["answer"] == "您住了5个月，住满半年再申请。"  # a whole number shows without ".0"
    assert state.said == {} and state.vague == {}


def test_a_bound_is_weighed_again_when_a_later_answer_compares_with_it() -> None:
    rent = FormSpec.model_validate({
        "slots": {
            "income": {"type": "number", "label": "月收入", "ask": "您每月收入多少？", "min": 0, "aliases": ["收入"]},
            "rent": {"type": "number", "label": "月租金", "ask": "每月房租多少？", "min": 0, "aliases": ["房租"]},
        },
        "tree": {"slot": "income", "default": {"slot": "rent", "when": [
            {"if": "value > income * 0.3", "then": {"decision": "可以提取"}}], "default": {"decision": "不能提取"}}},
    })
    state = forms.FormState()
    t = forms.turn(rent, state, "收入一万多", "zh")  # nothing turns on it yet: kept
    assert t.asked == "rent" and state.values["income"] == 10_000
    t = forms.turn(rent, state, "房租3500", "zh")  # above 30 % of 10,000, not of 19,999: ask the income
    assert t.decision is None and t.asked == "income" and "一万多" in (t.reply or "")
    t = forms.turn(rent, state, "12000", "zh")
    assert t.decision is not None and t.decision["decision"] == "不能提取"
    state = forms.FormState()
    t = forms.turn(rent, state, "收入不到一万，房租3500", "zh")  # above 30 % of anything below 10,000
    assert t.decision is not None and t.decision["decision"] == "可以提取"


@pytest.mark.parametrize(("text", "low", "high"), [
    ("住了没超过半年", 0.0, 0.5),          # a negated "above" is "at most", not above
    ("no longer than 4 months", 0.0, 4.0),
    ("离职半年多", 0.5, 1.0),              # 多 after a half
    ("离职一年半多", 1.5, 2.0),
    ("住了一年内", 0.0, 1.0),              # 内 at the end of the message
    ("大约二十多天", 18.0, 32.0),          # near the whole of 二十多, not of 20
])
def test_bounds_that_once_read_wrong(text: str, low: float, high: float) -> None:
    q = quantities(text)[0]
    assert (q.low, q.high) == (pytest.approx(low), pytest.approx(high))


def test_a_template_that_computes_with_a_bounded_value_gets_the_number() -> None:
    data = PERMIT.model_dump()
    default = data["tree"]["cases"]["true"]["default"]
    default["answer"] = "折合{{ months * 30 }}天。"  # once "不到三个月" repeated 30 times
    state = forms.FormState()
    t = forms.turn(FormSpec.model_validate(data), state, "我住本小区，住了不到三个月", "zh")
    assert t.decision is not None and "不到三个月" not in t.decision["answer"]
    assert 0 <= float(t.decision["answer"][2:-2]) < 90


def _housing() -> FormSpec:
    return FormSpec.model_validate({
        "slots": {
            "kind": {"type": "enum", "label": "住户类型", "ask": "您是业主还是租户？",
                     "options": {"业主": ["业主", "房主"], "租户": ["租户", "租客"]}},
            "months": {"type": "number", "label": "居住时长", "unit": "月", "ask": "您住了多久？",
                       "min": 0, "max": 600, "aliases": ["住了"]},
        },
        "tree": {"slot": "kind", "cases": {
            "业主": {"slot": "months", "when": [{"if": "value >= 3", "then": {"decision": "可以申请"}}],
                     "default": {"decision": "住满三个月再申请"}},
            "租户": {"slot": "months", "when": [{"if": "value >= 12", "then": {"decision": "可以申请"}}],
                     "default": {"decision": "住满一年再申请"}}}},
    })


def test_only_the_branches_the_known_answers_lead_to_weigh_a_bound() -> None:
    """An owner needs 3 months, a tenant 12: "about a year" (10.8 to 13.2 months) decides for an
    owner, and the tenant's threshold, on a path this conversation no longer takes, does not make
    it vague. When the user turns out to be a tenant after all, the bound is weighed again."""
    spec = _housing()
    state = forms.FormState()
    t = forms.turn(spec, state, "我是业主，住了大约一年", "zh")
    assert t.decision is not None and t.decision["decision"] == "可以申请"
    t = forms.turn(spec, state, "不对，说错了，我是租户", "zh")
    assert t.decision is None and t.asked == "months" and "大约一年" in (t.reply or "")
    state = forms.FormState()
    t = forms.turn(spec, state, "我是租户，住了大约一年", "zh")
    assert t.decision is None and t.asked == "months" and "months" not in state.values


def test_a_loose_bound_that_corrects_a_number_held_withdraws_it_and_asks_for_the_number() -> None:
    spec = _housing()
    state = forms.FormState()
    t = forms.turn(spec, state, "我是租户，住了一年多", "zh")  # 12 to 24 months: decides
    assert t.decision is not None and t.decision["decision"] == "可以申请"
    t = forms.turn(spec, state, "不对，说错了，是十来个月", "zh")  # 9 to 11 months: under 12, decides
    assert t.decision is not None and t.decision["decision"] == "住满一年再申请"
    t = forms.turn(spec, state, "哦不对，应该是一年左右", "zh")  # across 12: the number held is withdrawn
    assert t.decision is None and t.asked == "months" and "months" not in state.values
    assert "一年左右" in (t.reply or "")
    t = forms.turn(spec, state, "13个月", "zh")
    assert t.decision is not None and t.decision["decision"] == "可以申请"
    state = forms.FormState()
    forms.turn(spec, state, "我是租户", "zh")
    t = forms.turn(spec, state, "一年多", "zh")
    assert t.decision is not None
    t = forms.turn(spec, state, "一年左右吧", "zh")  # said in passing, no correction: the answer held stays
    assert state.values["months"] >= 12


def test_the_number_inside_a_bound_replaces_it_for_good() -> None:
    spec = _housing()
    state = forms.FormState()
    forms.turn(spec, state, "我是业主，住了大约一年", "zh")
    t = forms.turn(spec, state, "就是一年，我查了合同", "zh")
    assert state.values["months"] == 12 and state.said == {}
    t = forms.turn(spec, state, "不对，说错了，我是租户", "zh")  # the exact 12 is weighed no more
    assert t.decision is not None and t.decision["decision"] == "可以申请"


def test_a_correction_while_another_number_is_asked_goes_to_the_answer_that_can_take_it() -> None:
    """"哦不对，应该是一千二左右" said to the age question corrects the income: no age is 1,200."""
    spec = FormSpec.model_validate({
        "slots": {
            "members": {"type": "integer", "label": "人数", "ask": "几口人？", "units": {"口": 1, "人": 1},
                        "min": 1, "max": 20},
            "income": {"type": "integer", "label": "月收入", "unit": "元", "ask": "每月收入多少？", "min": 0},
            "age": {"type": "integer", "label": "年龄", "unit": "岁", "ask": "您多大年纪？", "min": 0, "max": 120},
        },
        "tree": {"slot": "members", "default": {"slot": "income", "when": [{"if": "value <= members * 1200", "then": {
            "slot": "age", "when": [{"if": "value >= 60", "then": {"decision": "特困供养"}}],
            "default": {"decision": "低保"}}}], "default": {"decision": "不符合"}}},
    })
    state = forms.FormState()
    t = forms.turn(spec, state, "家里1口人，每月收入一千左右", "zh")
    assert t.asked == "age"
    t = forms.turn(spec, state, "哦不对，应该是一千二左右", "zh")  # across 1,200: ask the income
    assert t.decision is None and t.asked == "income" and "一千二左右" in (t.reply or "")
    assert "不能大于" not in (t.reply or "")
    t = forms.turn(spec, state, "1300", "zh")
    assert t.decision is not None and t.decision["decision"] == "不符合"


def test_a_bare_number_near_a_bound_held_is_that_answer_said_exactly() -> None:
    spec = FormSpec.model_validate({
        "slots": {
            "income": {"type": "integer", "label": "月收入", "unit": "元", "ask": "每月收入多少？", "min": 0},
            "age": {"type": "integer", "label": "年龄", "unit": "岁", "ask": "您多大年纪？", "min": 0, "max": 120},
        },
        "tree": {"slot": "income", "when": [{"if": "value <= 1200", "then": {
            "slot": "age", "when": [{"if": "value >= 60", "then": {"decision": "特困供养"}}],
            "default": {"decision": "低保"}}}], "default": {"decision": "不符合"}},
    })
    state = forms.FormState()
    t = forms.turn(spec, state, "每月收入一千左右", "zh")  # 900 to 1,100: decides, kept
    assert t.asked == "age" and state.said
    t = forms.turn(spec, state, "有个儿子，每个月打给我一千零五十", "zh")  # another's, and not said as exact
    assert state.values["income"] == 1000 and state.said and t.asked == "age"
    t = forms.turn(spec, state, "具体是一千零五十", "zh")  # said to the age question: the income, exactly
    assert state.values["income"] == 1050 and state.said == {} and t.asked == "age" and not t.rejected
    state = forms.FormState()
    forms.turn(spec, state, "每月收入一千左右", "zh")
    t = forms.turn(spec, state, "七十岁", "zh")
    assert t.decision is not None and t.decision["decision"] == "特困供养"
    t = forms.turn(spec, state, "刚查了，每月一千二百五", "zh")  # near it, outside it: asked which is right
    assert t.decision is None and t.asked == "income" and "哪个是对的" in (t.reply or "")


def test_near_a_bound_on_someone_elses_slot_the_users_own_number_is_not_it() -> None:
    spec = FormSpec.model_validate({
        "slots": {"age": {"type": "integer", "label": "老人年龄（周岁）", "unit": "岁", "units": {"周岁": 1},
                          "ask": "老人今年多大年纪（周岁）？", "min": 0, "max": 120, "aliases": ["年龄", "岁数"]}},
        "tree": {"slot": "age", "when": [{"if": "value >= 80", "then": {"decision": "高龄津贴"}}],
                 "default": {"decision": "护理补贴"}},
    })
    state = forms.FormState()
    t = forms.turn(spec, state, "七十八九岁", "zh")  # 78 to 79: decides, kept
    assert t.decision is not None and t.decision["decision"] == "护理补贴" and state.said
    got = Read()
    forms.exact_for_bound(spec, state, "其实就我一个人在照顾，我今年八十了", got, "zh")  # the carer's age
    assert "age" not in got.found
    forms.exact_for_bound(spec, state, "其实我爸是七十九", got, "zh")  # the elder's, said exactly
    assert got.found["age"].value == 79


def test_a_few_of_a_place_is_no_number_and_a_digit_before_a_count_is_its_own() -> None:
    # 几百 read as 200 to 900 was taken back after reviews ("几千都不到", "哪有几千", "以后几千")
    for text in ("几百块", "好几千", "几千都不到", "哪有几千", "几十天"):  # (几十天 was read as 10 days)
        assert quantities(text) == [], text
    assert [q.value for q in quantities("几千块吧，两三千")] == [2000]
    assert [q.value for q in quantities("月收入2千5个人平摊")] == [2000, 5]  # 5 people, not 2,500
    assert [q.value for q in quantities("3千5天")] == [3000, 5]
