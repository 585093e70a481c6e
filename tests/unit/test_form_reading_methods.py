"""The methods a form reads answers by, on a form of its own (an equipment request) with answers
phrased as people type them: a unit that is no duration, compound durations and dates, a
number denied or corrected in the same message, things had or lost, words typed by sound, what
was against what is now, and an option the other answers imply."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from plusn.agents import forms
from plusn.agents.meaning import Meaning
from plusn.agents.quantities import quantities
from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec
from plusn.agents.utterance import Reading, clause_spans

GEAR = FormSpec.model_validate({
    "slots": {
        "kind": {"type": "enum", "label": "设备类型", "ask": "您要申领什么设备？（笔记本电脑 / 显示器 / 工作手机）",
                 "options": {"笔记本电脑": ["笔记本", "手提电脑", "laptop"], "显示器": ["屏幕", "外接显示器"],
                             "工作手机": ["公司手机", "业务手机"]}},
        "approved": {"type": "boolean", "label": "部门审批", "ask": "部门负责人审批过了吗？",
                     "yes_words": ["批过了"], "no_words": ["没批"]},
        "price": {"type": "number", "label": "设备价格", "ask": "设备多少钱？", "unit": "元", "min": 0, "max": 100000},
        "days": {"type": "integer", "label": "借用天数", "ask": "要借用多少天？", "unit": "天", "min": 1, "max": 365},
        "months": {"type": "integer", "label": "入职月数", "ask": "您入职多久了？", "unit": "月", "min": 0, "max": 600},
    },
    "tree": {"slot": "kind", "cases": {
        "笔记本电脑": {"slot": "approved", "cases": {
            "false": {"decision": "请先审批"},
            "true": {"slot": "price", "when": [{"if": "value <= 8000", "then": {"decision": "批准"}}],
                     "default": {"decision": "需总监审批"}}}},
        "显示器": {"slot": "days", "when": [{"if": "value <= 30", "then": {"decision": "批准"}}],
                   "default": {"decision": "需归还后再借"}},
        "工作手机": {"slot": "months", "when": [{"if": "value >= 6", "then": {"decision": "批准"}}],
                     "default": {"decision": "不予配发"}}}},
})


@pytest.mark.parametrize(("text", "found"), [
    ("一年零两个月", [(14, "月")]), ("1年3个月", [(15, "月")]), ("两周三天", [(17, "天")]),
    ("去年十月入职的", []), ("3月12号坐CA932回来", []), ("6月18日到6月21日", []),  # dates, a flight
    ("加起来一共两百六", [(260, None)]),  # 一 of 一共 is no number
    ("三千五百块", [(3500, "块")]), ("两万三千八", [(23800, None)]), ("about 15k RMB", [(15000, "rmb")]),
])
def test_quantities_as_people_write_them(text: str, found: list[tuple[float, str | None]]) -> None:
    units = GEAR.slots["price"].unit_words()  # 元 and the words said for it
    assert [(q.value, q.unit) for q in quantities(text, units)] == found


def test_a_number_in_a_unit_only_one_slot_counts_in_names_its_slot() -> None:
    got = read(GEAR, "笔记本，花了三千五百块", "kind", "zh").found
    assert got["price"].value == 3500 and got["price"].sure  # 块 is 元, and no other slot counts in it
    got = read(GEAR, "借二十天", "kind", "zh").found
    assert "price" not in got and got["days"].value == 20


def test_a_denied_number_is_not_the_answer_and_a_correction_is() -> None:
    got = read(GEAR, "是四天不是五天", "days", "zh").found["days"]
    assert got.value == 4
    got = read(GEAR, "借十八天，哦不对，是八天", "days", "zh").found["days"]
    assert got.value == 8
    got = read(GEAR, "借十八天", "days", "zh").found["days"]
    assert got.value == 18  # no correction: the number said


def test_a_quantity_said_in_passing_goes_to_the_slot_counting_in_the_unit_nearest_it() -> None:
    got = read(GEAR, "入职三周了", "approved", "zh", {}).found
    assert got["months"].value == 1 and "days" not in got  # 入职 names months
    got = read(GEAR, "大概三周吧", "approved", "zh", {}).found
    assert got.get("days") is not None and "months" not in got  # weeks are nearer days than months


@pytest.mark.parametrize(("text", "value"), [
    ("审批都齐了", True), ("审批单弄丢了", False), ("审批还没批下来", False), ("部门审批已经通过", True),
])
def test_a_thing_had_done_or_lost_answers_the_slot_it_names(text: str, value: bool) -> None:
    got = read(GEAR, f"笔记本，{text}", None, "zh", {}, "kind").found
    assert got["approved"].value is value


def test_a_yes_no_before_it_is_asked_needs_the_slots_own_word_not_the_forms_topic() -> None:
    # 设备 is in every question here: it names no one slot, so "设备都齐了" says nothing of approval
    assert "approved" not in read(GEAR, "设备都齐了", None, "zh", {}, "kind").found


def test_a_word_typed_by_its_sound_is_a_guess() -> None:
    got = read(GEAR, "要一台外接显视器", "kind", "zh").found["kind"]  # 视 for 示: both shi
    assert got.value == "显示器" and not got.sure
    assert "kind" not in read(GEAR, "要一台外接显不器", "kind", "zh").found  # a negator is no slip
    assert "kind" not in read(GEAR, "要一台外接显卡器", "kind", "zh").found  # 卡 does not sound like 示


def test_what_was_said_against_what_is_now_is_no_answer() -> None:
    assert "kind" not in read(GEAR, "以前用公司手机，现在想换别的", "kind", "zh").found
    assert read(GEAR, "以前那台坏了，现在要一台笔记本", "kind", "zh").found["kind"].value == "笔记本电脑"
    assert read(GEAR, "以前用公司手机", "kind", "zh").found["kind"].value == "工作手机"  # nothing said of now


def laptop_then(*replies: str) -> forms.FormState:
    """A conversation that asks for a laptop and then answers the approval question with ``replies``."""
    state = forms.FormState()
    for text in ("笔记本", *replies):
        forms.turn(GEAR, state, text, "zh")
    return state


def test_a_bare_mm_agrees_only_when_it_is_the_whole_reply() -> None:
    assert laptop_then("嗯").values["approved"] is True
    assert laptop_then("嗯，还没有").values["approved"] is False


def test_an_option_implied_by_other_answers_is_offered_never_taken_and_not_again_once_denied() -> None:
    state = forms.FormState()
    t = forms.turn(GEAR, state, "借用二十天", "zh")  # days are asked under 显示器 only
    assert state.guesses["kind"] == "显示器" and t.asked == "kind" and "对吗" in (t.reply or "")
    t = forms.turn(GEAR, state, "对", "zh")
    assert t.decision is not None and t.decision["decision"] == "批准"
    state = forms.FormState()
    forms.turn(GEAR, state, "借用二十天", "zh")
    t = forms.turn(GEAR, state, "不是", "zh")
    assert state.denied == {"kind": ["显示器"]} and "kind" not in state.guesses and t.reply == GEAR.slots["kind"].ask
    # a guess the message was read as, that the answers imply too, is still only offered
    state = forms.FormState()
    t = forms.turn(GEAR, state, "外接的那种，借用二十天", "zh", None, {"kind": Reading("显示器", sure=False, source="meaning")})
    assert t.decision is None and "kind" not in state.values and state.guesses["kind"] == "显示器"
    # read as one option, implied to be another: neither is offered
    state = forms.FormState()
    t = forms.turn(GEAR, state, "借用二十天", "zh", None, {"kind": Reading("工作手机", sure=False, source="meaning")})
    assert "kind" not in state.guesses and t.reply == GEAR.slots["kind"].ask
    # a guessed answer implies nothing: "三周" may be for another question
    state = forms.FormState()
    forms.turn(GEAR, state, "大概三周吧", "zh")
    assert "kind" not in state.guesses


class _Words:
    """A fake embedding: a text's vector counts the words of a small vocabulary in it, so that
    "不是公司手机" lands on 工作手机's words, as a small model's would."""

    VOCAB = ("手机", "显示", "屏幕", "笔记本", "电脑", "laptop")

    async def __call__(self, texts: list[str]) -> list[list[float]]:
        return [[float(t.count(w)) + (0.01 if i == 0 else 0.0) for i, w in enumerate(self.VOCAB)] for t in texts]


def test_meaning_never_reads_the_option_the_message_denies() -> None:
    m = Meaning(_Words())

    async def go(text: str) -> Any:
        return await m.read(GEAR, "kind", text)

    assert asyncio.run(go("不是公司手机")) is None
    got = asyncio.run(go("要个屏幕"))  # the same words, not denied: read, as a guess
    assert got is not None and got.value == "显示器" and not got.sure


def test_a_chinese_word_gets_the_english_of_its_parts_from_the_dictionary() -> None:
    from plusn.agents.glosses import glosses

    got = glosses(["被裁员", "个人参保", "没有工作", "本人", "laptop"])
    assert "to lay off employees" in got["被裁员"]  # 被 + 裁员: a lone character is skipped
    assert "ginseng" not in got.get("个人参保", [])  # 个人 is a word, so 人参 is no part of it
    assert "没有工作" not in got  # a negated word: its parts' English ("to work") would say the opposite
    assert "本人" not in got and "laptop" not in got  # only pronouns there; no Chinese here


def test_a_reply_with_a_yes_and_a_no_word_is_read_by_how_it_restates_the_question() -> None:
    fees = FormSpec.model_validate({"slots": {"unpaid": {"type": "boolean", "label": "未缴费用", "ask": "还有没有未缴的费用？"}}})
    for text, value in (("还有两笔费用没缴", True), ("有，还没缴", True), ("没有未缴的", False), ("没有，费用都缴了", False)):
        assert read(fees, text, "unpaid", "zh").found["unpaid"].value is value, text


def test_of_several_numbers_the_one_restating_the_question_answers_it() -> None:
    assert read(GEAR, "上次借了十天，这次要借用二十天", "days", "zh").found["days"].value == 20
    assert read(GEAR, "十天，上次是二十天", "days", "zh").found["days"].value == 10  # none restates it: the first
    # parts, then their sum: the sum answers a question about the whole
    household = FormSpec.model_validate({"slots": {"income": {"type": "integer", "label": "家庭月收入", "unit": "元",
                                                              "ask": "全家每月收入多少？", "min": 0}}})
    for text in ("我一个月三千，我爱人两千五，加起来五千五", "我三千，她两千五，一共5500吧",
                 "I make 3000 and my wife 2500, 5500 in total"):
        assert read(household, text, "income", "zh").found["income"].value == 5500, text
    # no sum of the parts before it, or a question about one part: the first number, as before
    assert read(household, "我三千，她两千五，一共一万", "income", "zh").found["income"].value == 3000
    own = FormSpec.model_validate({"slots": {"income": {"type": "integer", "label": "月收入", "unit": "元",
                                                        "ask": "您本人每月收入多少？", "min": 0}}})
    assert read(own, "我三千，我爱人两千五，加起来五千五", "income", "zh").found["income"].value == 3000
    per_head = FormSpec.model_validate({"slots": {"income": {"type": "integer", "label": "家庭人均月收入", "unit": "元",
                                                             "ask": "家庭人均每月收入多少？", "min": 0}}})
    assert read(per_head, "我三千，我老婆两千，加起来五千", "income", "zh").found["income"].value == 3000
    assert read(household, "上个月两千，这个月一千八，加起来三千八", "income", "zh").found["income"].value == 2000
    assert read(household, "我三千，她两千五，加起来五千五，其中一千是补贴，全家每月收入一共四千五", "income",
                "zh").found["income"].value == 4500  # a later sum says what the whole comes to


def test_what_a_reviewer_found_read_wrongly_is_read_safely() -> None:
    # a correction word corrects what follows it only for a slot that could take it
    assert read(GEAR, "入职三年了，其实是借用20天", "months", "zh").found["months"].value == 36
    # things counted after a correction word are no bare number to correct with
    state = forms.FormState()
    forms.turn(GEAR, state, "工作手机", "zh")
    forms.turn(GEAR, state, "入职半年", "zh")
    state.asked = None
    t = forms.turn(GEAR, state, "不对，我这有2份合同", "zh")
    assert state.values["months"] == 6 and not t.corrected
    # a bare number after a correction asks which is right rather than replacing the answer
    t = forms.turn(GEAR, state, "不对，是2", "zh")
    assert state.values["months"] == 6 and "哪个是对的" in (t.reply or "")
    # a yes or no said in passing needs its predicate: these say nothing of the approval
    for text in ("审批有点麻烦", "审批都在走流程", "审批下来了一半", "审批的流程我不懂"):
        assert "approved" not in read(GEAR, f"笔记本，{text}", None, "zh", {}, "kind").found, text
    # two amounts in 元: neither names the slot by itself, so neither is even a guess
    assert "price" not in read(GEAR, "笔记本，主机8000元，屏幕1500元", None, "zh", {}, "kind").found
    assert not read(GEAR, "如果超过2万块还能报吗", None, "zh", {}, "kind").found.get("price", Reading(0, False)).sure


def test_a_hesitating_mm_and_a_reply_opening_with_no_are_no_yes() -> None:
    assert "approved" not in laptop_then("嗯？").values
    state = forms.FormState()
    forms.turn(GEAR, state, "借用二十天", "zh")  # 显示器 offered for confirmation
    t = forms.turn(GEAR, state, "不是3周", "zh")
    assert "kind" not in state.values and state.denied == {"kind": ["显示器"]} and t.decision is None


def test_a_slots_own_word_with_a_potential_negative_after_it_says_no() -> None:
    trip = FormSpec.model_validate({"slots": {"approval": {"type": "boolean", "ask": "出发前审批了吗？",
                                                           "yes_words": ["审批通过"], "no_words": ["没审批"]}}})
    assert read(trip, "审批通过了", "approval", "zh").found["approval"].value is True
    assert read(trip, "审批通过不了", "approval", "zh").found["approval"].value is False  # 不 after the word
    assert read(trip, "国际出差，审批通过不了", None, "zh", {}).found["approval"].value is False


def test_a_word_with_what_is_yet_to_come_inside_is_not_the_word() -> None:
    leaving = FormSpec.model_validate({"slots": {"reason": {"type": "enum", "ask": "离职原因？", "options": {
        "非本人意愿": ["合同到期", "被辞退"], "本人意愿": ["自己辞职"]}}}})
    assert "reason" not in read(leaving, "合同快到期了", "reason", "zh").found  # not expired yet
    assert read(leaving, "合同已到期了", "reason", "zh").found["reason"].value == "非本人意愿"


def test_a_clause_that_denies_gives_no_vote_to_what_it_is_nearest() -> None:
    m = Meaning(_Words())
    # "手机" names no option (公司手机 does), so only the clause's own denial tells it apart
    got = asyncio.run(m.read(GEAR, "kind", "不是手机那种，要个屏幕"))
    assert got is not None and got.value == "显示器" and not got.sure
    assert asyncio.run(m.read(GEAR, "kind", "手机那种，要个屏幕")) is None  # two options: undecided



def test_a_reply_is_also_read_without_the_speaker_as_its_subject() -> None:
    from plusn.agents.meaning import units

    assert units("我是公司员工") == ["我是公司员工", "公司员工"]  # 我是 weighs as much as the rest
    assert units("我在滴滴上跑车，违章都处理了")[1:] == ["我在滴滴上跑车", "违章都处理了", "在滴滴上跑车"]
    assert units("我是不是该先备案") == ["我是不是该先备案", "是不是该先备案"]  # 是不是 asks: no copula
    assert units("我") == ["我"] and units("我们的车") == ["我们的车"]  # 我们的 is no subject



def test_a_clause_that_says_only_what_the_form_asks_about_votes_for_no_option() -> None:
    from plusn.agents.meaning import _says_more
    from plusn.agents.predicates import HINT

    asks = ["请问您要退的是哪类商品？（普通商品 / 生鲜食品 / 定制商品）", "包裹签收到现在有几天了？"]
    topic = frozenset("".join(HINT.sub("", a) for a in asks))
    for clause in ("想退", "能退吗", "我想退"):
        assert not _says_more(clause, topic), clause  # the form's own topic: near whichever option
    for clause in ("键盘用着手感不喜欢", "买的一箱橙子", "定制的", "I want a refund"):
        assert _says_more(clause, topic), clause  # the answers the hint lists are not the topic


def test_two_numbers_a_slot_could_hold_said_in_passing_are_neither_a_guess() -> None:
    # nothing ties either to the months asked later: the form asks rather than confirm the first
    assert "months" not in read(GEAR, "工作十年了，来这边才八个月", "kind", "zh").found
    got = read(GEAR, "来这边才八个月", "kind", "zh").found["months"]
    assert got.value == 8 and not got.sure  # one such number is still a guess to confirm


def test_a_one_that_counts_a_month_is_not_the_last_digit_of_the_number_before() -> None:
    units = GEAR.slots["price"].unit_words()
    assert [(q.value, q.unit) for q in quantities("两千一个月", units)] == [(2000, None)]  # 2,000 a month
    assert [(q.value, q.unit) for q in quantities("一千二一个月", units)] == [(1200, None)]
    assert [q.value for q in quantities("两千一", units)] == [2100]  # alone, 两千一 is 2,100
    assert [q.value for q in quantities("三十一天")] == [31] and [q.value for q in quantities("十一个月")] == [11]
    assert [q.value for q in quantities("住了一百一天")] == [110]  # only the 一 of 一个 counts


def test_an_age_in_years_and_months_is_one_number_of_months() -> None:
    months = {"岁": 12.0, "周岁": 12.0}  # a slot counting months that takes 岁 as twelve
    for text, value in (("一岁三个月", 15), ("两岁零两个月", 26), ("1岁3个月", 15)):
        assert [(q.value, q.unit) for q in quantities(text, months)] == [(value, "月")], text
    # to a slot counting 岁, or one that does not take 岁, the two stay apart
    assert [q.unit for q in quantities("72岁3个月", {"岁": 1.0})] == ["岁", "月"]
    assert [q.unit for q in quantities("6周岁零5个月")] == ["岁", "月"]


def test_an_aside_of_the_question_is_not_restated_by_a_reply() -> None:
    fee = FormSpec.model_validate({"slots": {"fee": {
        "type": "number", "label": "月托费", "ask": "每月托费多少元？（不含伙食费）", "unit": "元", "min": 0, "max": 50000,
        "aliases": ["托费"]}}, "tree": {"slot": "fee", "when": [{"if": "value < 1600", "then": {"decision": "按比例"}}],
                                        "default": {"decision": "全额"}}})
    # the 伙食费 of the reply names what the question leaves out, so the 托费 after it is the answer
    assert read(fee, "不对，一千五是伙食费，托费是两千四", "fee", "zh").found["fee"].value == 2400


def test_a_thousands_comma_or_a_decimal_point_splits_no_clause() -> None:
    got = read(GEAR, "about 1,200 yuan a month", "price", "zh").found
    assert got["price"].value == 1200 and "months" not in got  # "a month" is the rate of the 1,200
    assert clause_spans("1,200 yuan, thanks") == [(0, 10), (11, 18)]
    assert clause_spans("3.5万。好的") == [(0, 4), (5, 7)]


SHOP = FormSpec.model_validate({
    "slots": {
        "item": {"type": "enum", "label": "家电", "ask": "买的是什么家电？（冰箱 / 电视）", "options": {"冰箱": [], "电视": []}},
        "shop": {"type": "enum", "label": "购买渠道", "ask": "是在哪里买的？（实体店 / 网店）",
                 "options": {"实体店": ["国美", "门店", "线下", "线下门店"], "网店": ["京东", "网上"]}},
    },
    "tree": {"slot": "item", "cases": {"冰箱": {"slot": "shop", "cases": {"实体店": {"decision": "到店办"},
                                                                        "网店": {"decision": "网上办"}}},
                                       "电视": {"decision": "不补"}}},
})


def test_two_of_the_authors_words_of_an_option_together_are_the_authors_word() -> None:
    # 线下门店 is 线下 and 门店, so 国美门店 is a word plusn makes: not the specific kind, unless it is
    # two of the author's words of one option, as here
    got = read(SHOP, "冰箱是在国美门店买的", None, "zh").found
    assert got["shop"].value == "实体店" and got["shop"].sure


def test_a_correction_that_names_another_slot_leaves_the_number_of_the_question_asked() -> None:
    spec = FormSpec.model_validate({"slots": {
        "days": {"type": "integer", "label": "购买天数", "ask": "买了几天了？", "unit": "天", "min": 0, "max": 3650},
        "price": {"type": "number", "label": "成交价", "ask": "成交价多少元？", "unit": "元", "aliases": ["价格"],
                  "min": 1, "max": 200000}}})
    got = read(spec, "买了两个星期了。哦价格说错了，不是三千五，是三千八", "days", "zh").found
    assert got["days"].value == 14 and got["days"].sure  # the correction is the price's
    assert read(spec, "十五天，不对，是二十天", "days", "zh").found["days"].value == 20  # one of its own
    got = read(spec, "二十八天，不对，是三十五天，哦价格也说错了，三千八", "days", "zh").found
    assert got["days"].value == 35  # the correction before the price's is the days'
    assert read(spec, "十五天，不对，一共十六天", "days", "zh").found["days"].value == 16  # in its own unit
    got = read(spec, "二十天。哦价格说错了，是三千八", "days", "zh", {"price": 3500}).found
    assert got["days"].value == 20 and got["price"].value == 3800  # the days before it do not take the correction


INJURY = FormSpec.model_validate({"slots": {
    "days": {"type": "integer", "label": "受伤天数", "ask": "受伤到现在多少天了？", "unit": "天", "min": 0, "max": 7300},
    "fault": {"type": "boolean", "label": "事故责任", "ask": "您负主要责任吗？", "yes_words": ["主要责任", "负主要责任", "全部责任"],
              "no_words": ["次要责任", "同等责任", "无责任", "没有责任"]},
    "insured": {"type": "boolean", "label": "工伤保险", "ask": "单位交了工伤保险吗？", "yes_words": ["交工伤保险"],
                "no_words": ["没交工伤保险"]},
}})


def test_how_long_something_was_done_is_no_time_since_the_injury() -> None:
    for text in ("合同签了的，在这个公司干了三年了", "我爸在石材厂打磨了十几年石头", "我开了二十年车了"):
        assert "days" not in read(INJURY, text, None, "zh").found, text
    assert read(INJURY, "摔了三天了", None, "zh").found["days"].value == 3  # the time since, in passing
    assert read(INJURY, "伤了二十天腿还不能动", None, "zh").found["days"].value == 20  # no object that ends it
    assert "days" not in read(INJURY, "在这干了三年，七天前摔的", None, "zh").found  # the three years rival it
    residence = FormSpec.model_validate({"slots": {"months": {"type": "integer", "label": "居住时长", "ask": "在本市住了多久？",
                                                              "unit": "月", "min": 0, "max": 600}}})
    assert read(residence, "我在本市打工三年了", None, "zh").found["months"].value == 36  # months may measure the work
    tenure = FormSpec.model_validate({"slots": {"months": {"type": "integer", "label": "司龄", "ask": "您在本公司工作多久了？",
                                                           "unit": "月", "min": 0, "max": 600}}})
    assert read(tenure, "我在本公司干了三年了", None, "zh").found["months"].value == 36  # a slot about work


def test_a_word_of_the_author_that_qualifies_the_slots_verb_is_read_as_written() -> None:
    # 没有责任 makes 责任 a thing had or not; 次要责任 and 同等责任 still say no, as the author wrote
    for text, value in (("交警认定她是次要责任", False), ("同等责任吧", False), ("她负主要责任", True), ("没有责任", False)):
        assert read(INJURY, text, "fault", "zh").found["fault"].value is value, text


def test_a_negation_holds_across_the_one_a_thing_is_done_for() -> None:
    assert read(INJURY, "厂里没给我们交工伤保险", "insured", "zh").found["insured"].value is False
    assert read(INJURY, "给我们交工伤保险了", "insured", "zh").found["insured"].value is True
    assert read(INJURY, "公司不是给我们交了工伤保险嘛", "insured", "zh").found["insured"].value is True  # asks back
    assert read(INJURY, "要不给我们交工伤保险就麻烦了，还好交了", "insured", "zh").found["insured"].value is True  # if not


def test_an_author_word_that_says_the_verb_plainly_leaves_the_verb_reading() -> None:
    spec = FormSpec.model_validate({"slots": {"insured": {
        "type": "boolean", "label": "工伤保险", "ask": "单位交了工伤保险吗？", "yes_words": ["工伤保险交了", "五险都交了"],
        "no_words": ["没交工伤保险", "没交"]}}})
    # 五险都交了 says 交 plainly: "公积金没交" is another thing's no, as the verb's reading knows
    assert read(spec, "五险都交了，公积金没交", "insured", "zh").found["insured"].value is True
    assert read(spec, "好像是五险都交了吧", "insured", "zh").found["insured"].sure is False  # hedged


def test_a_correction_that_says_an_answer_held_again_answers_no_yes_no_question() -> None:
    # with 次要责任 held as no, "不对，是同等责任" means to correct that: its 不对 is no "no" to insurance
    got = read(INJURY, "不对，是同等责任", "insured", "zh", {"fault": False}).found
    assert "insured" not in got and got["fault"].value is False
    assert read(INJURY, "不对，没交工伤保险", "insured", "zh", {"fault": False}).found["insured"].value is False
