"""Whose a number is, on a form of its own (family tax deductions): two people's ages, one in
months that takes 岁; asking leave, which denies nothing; a yes/no slot whose thing, had, says
no, and a bare yes to a no said back; a number said back with its unit; money in a unit the slot
does not count; and a bound's words said once in the answer."""

from __future__ import annotations

from typing import Any

from plusn.agents import forms
from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec

_SLOTS: dict[str, Any] = {
    "item": {"type": "enum", "label": "扣除项目", "ask": "您想咨询哪一项扣除？（婴幼儿照护 / 住房租金 / 住房贷款利息）",
             "options": {"婴幼儿照护": ["婴幼儿", "宝宝"], "住房租金": ["房租", "租金"], "住房贷款利息": ["房贷利息", "房贷"]}},
    "child_age": {"type": "integer", "label": "孩子年龄", "ask": "孩子现在多大了？（几岁或几个月）", "unit": "月",
                  "units": {"岁": 12}, "min": 0, "max": 300},
    "parent_age": {"type": "integer", "label": "父母年龄", "ask": "您父母中年龄较大的一位多少岁？", "unit": "岁",
                   "min": 18, "max": 120},
    "only_child": {"type": "boolean", "label": "独生子女", "ask": "您是独生子女吗？",
                   "yes_words": ["独生子女", "没有兄弟姐妹"], "no_words": ["有兄弟姐妹", "不是独生"]},
    "loan_claimed": {"type": "boolean", "label": "房贷扣除", "ask": "您有没有在享受住房贷款利息扣除？（和住房租金二选一）",
                     "yes_words": ["在报房贷"], "no_words": ["没报房贷"]},
}
_TREE: dict[str, Any] = {"slot": "item", "cases": {
    "婴幼儿照护": {"slot": "child_age", "when": [{"if": "value < 36", "then": {"decision": "可以扣除"}}],
                   "default": {"decision": "不符合"}},
    "住房租金": {"slot": "loan_claimed", "cases": {"true": {"decision": "二选一"}, "false": {"decision": "可以扣除"}}},
    "住房贷款利息": {"slot": "parent_age", "when": [{"if": "value >= 60", "then": {"slot": "only_child", "cases": {
        "true": {"decision": "全额"}, "false": {"decision": "分摊"}}}}], "default": {"decision": "不符合"}}}}
FAMILY = FormSpec.model_validate({"slots": _SLOTS, "tree": _TREE})
# the same form with one person's age only: a kin word then names no slot of its own
ONE_CHILD = FormSpec.model_validate({"slots": {k: v for k, v in _SLOTS.items() if k != "parent_age"},
                                     "tree": {"slot": "child_age", "default": {"decision": "可以扣除"}}})


def test_a_question_asked_a_not_a_negates_no_option() -> None:
    got = read(FAMILY, "小的那个能不能报婴幼儿照护", None, "zh").found
    assert got["item"].value == "婴幼儿照护" and got["item"].sure  # 能不能 asks; it denies nothing
    assert "item" not in read(FAMILY, "不能报婴幼儿照护", None, "zh").found
    # whether it is so, asked and denied, is no answer that it is
    denied = read(FAMILY, "是不是婴幼儿照护？不是", "item", "zh").found.get("item")
    assert denied is None or denied.value != "婴幼儿照护"


def test_an_age_said_without_its_unit_is_in_years_where_the_slot_counts_months_and_takes_years() -> None:
    got = read(FAMILY, "孩子十三了", "child_age", "zh").found
    assert got["child_age"].value == 156 and not got["child_age"].sure  # 13 岁 by custom, said back to confirm
    assert read(FAMILY, "孩子十三岁了", "child_age", "zh").found["child_age"].sure
    # a question that asks in months first reads a bare number in months
    infants = FormSpec.model_validate({"slots": {"child_age": {**_SLOTS["child_age"], "ask": "孩子多大了？（几个月或几岁几个月）"}},
                                       "tree": {"slot": "child_age", "default": {"decision": "a"}}})
    assert read(infants, "孩子今年10", "child_age", "zh").found["child_age"].value == 10
    # of guesses of one number, the slot asked takes it ("今年20", not a parent's age)
    got = read(FAMILY, "今年20", "child_age", "zh").found
    assert got["child_age"].value == 240 and "parent_age" not in got
    assert read(FAMILY, "孩子八个月", "child_age", "zh").found["child_age"].value == 8


def test_the_person_named_before_a_number_says_whose_it_is() -> None:
    got = read(FAMILY, "我儿子今年十七岁", None, "zh").found
    assert got["child_age"].value == 204 and "parent_age" not in got  # a guess, said back
    got = read(FAMILY, "我爸今年六十五了", None, "zh").found
    assert got["parent_age"].value == 65 and "child_age" not in got
    got = read(FAMILY, "女儿在外地读大学，今年大二，二十岁", None, "zh").found
    assert got["child_age"].value == 240 and "parent_age" not in got  # 二十岁, not the 二 of 大二
    for other in ("孩子他爸今年40岁", "我舅妈今年60岁", "我哥今年45岁", "我老婆她妈65岁", "我哥的儿子今年十岁"):
        assert "parent_age" not in read(FAMILY, other, None, "zh").found, other
        assert "child_age" not in read(FAMILY, other, None, "zh").found, other
    assert "parent_age" not in read(FAMILY, "我妈58岁，我爸61岁", None, "zh").found  # which is the older's?


def test_a_kin_word_names_no_slot_where_no_other_persons_number_is_asked() -> None:
    got = read(ONE_CHILD, "我儿子上托班三个月了", None, "zh").found
    assert not got["child_age"].sure  # how long at the nursery, maybe: a guess to confirm


def test_a_bare_yes_to_a_no_said_back_confirms_the_no() -> None:
    # "您是说独生子女：否，对吗？" — "对" is 否 confirmed, not 是 (it once set the slot to yes)
    for reply, value in (("对", False), ("是的", False), ("对对", False), ("对，就是这样", False), ("否", None),
                         ("不对不对", None), ("对，有两个哥哥", False), ("不对，没有兄弟姐妹", True)):
        state = forms.FormState()
        forms.turn(FAMILY, state, "住房贷款利息", "zh")
        forms.turn(FAMILY, state, "我爸今年六十五", "zh")
        assert state.asked == "only_child" and "only_child" not in state.values
        state.guesses["only_child"], state.confirming = False, True  # "您是说独生子女：否，对吗？"
        t = forms.turn(FAMILY, state, reply, "zh")
        assert state.values.get("only_child") is value, reply
        assert (t.decision or {}).get("decision") == {False: "分摊", True: "全额", None: None}[value], reply
    # not known is no guess of either
    assert "only_child" not in read(FAMILY, "兄弟姐妹有没有我不清楚", "only_child", "zh").found


def test_a_word_whose_having_says_no_says_it_the_other_way_round() -> None:
    def says(text: str) -> tuple[bool, bool]:
        r = read(FAMILY, text, "only_child", "zh").found["only_child"]
        return r.value, r.sure
    assert says("兄弟姐妹都没有") == (True, True)
    assert says("兄弟姐妹有两个") == (False, True)
    assert says("家里兄弟姐妹三个，我排老二")[0] is False
    assert says("兄弟姐妹有，但是都不管老人") == (False, True)
    assert says("兄弟姐妹？没有") == (True, True)
    for unread in ("兄弟姐妹不在本地", "兄弟姐妹没几个，就一个妹妹", "兄弟姐妹，只有我一个", "兄弟姐妹都没了"):
        assert "only_child" not in read(FAMILY, unread, "only_child", "zh").found, unread  # asked again


def test_a_word_said_of_what_is_to_come_keeps_its_plain_sense() -> None:
    spec = FormSpec.model_validate({"slots": {"expired": {
        "type": "boolean", "label": "已过期", "ask": "驾驶证是否已经过期？", "aliases": ["过期"],
        "yes_words": ["已过期", "过期了"], "no_words": ["没过期", "没到期", "快到期", "马上到期"]}},
        "tree": {"slot": "expired", "cases": {"true": {"decision": "a"}, "false": {"decision": "b"}}}})
    assert read(spec, "前年到期的", "expired", "zh").found["expired"].value is True


def test_a_number_is_said_back_with_the_unit_its_slot_counts_in() -> None:
    state = forms.FormState()
    t = forms.turn(FAMILY, state, "想报婴幼儿照护，十个月", "zh")
    assert "您是说孩子年龄：10个月，对吗？" in (t.reply or "")  # not a bare 10, which may be years
    assert state.shown("parent_age", 65, "zh", FAMILY) == "65岁" and state.shown("only_child", True, "zh", FAMILY) == "是"


def test_a_number_in_money_the_slot_counts_no_unit_of_is_not_its_number() -> None:
    spec = FormSpec.model_validate({"slots": {"investment": {
        "type": "integer", "label": "投资额（万元）", "ask": "实际投入了多少钱？（单位：万元）", "units": {"万元": 1, "万": 1},
        "min": 0, "max": 100000}}, "tree": {"slot": "investment", "default": {"decision": "a"}}})
    assert "investment" not in read(spec, "不对，投资是三千块钱", "investment", "zh").found  # 3000 元, not 3000 万元
    assert read(spec, "投了三万块", "investment", "zh").found["investment"].value == 3


def test_a_bound_in_the_answer_says_its_words_once() -> None:
    spec = FormSpec.model_validate({"slots": {"age": {"type": "integer", "label": "年龄", "ask": "孩子几周岁了？", "unit": "岁",
                                                      "min": 0, "max": 18}},
                                    "tree": {"slot": "age", "when": [{"if": "value >= 6", "then": {
                                        "decision": "可以", "answer": "可以报名。孩子满 {{ age }} 周岁。"}}],
                                        "default": {"decision": "不行", "answer": "孩子 {{ age }} 周岁，还不满六岁。"}}})
    for said, answer in (("满六岁了", "可以报名。孩子满六岁。"), ("不到六岁", "孩子 不到六岁，还不满六岁。")):
        state = forms.FormState()
        forms.turn(spec, state, "你好", "zh")
        assert (forms.turn(spec, state, said, "zh").decision or {}).get("answer") == answer  # not "满 满六岁岁"
