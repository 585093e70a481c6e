"""Guesses said back with the next question (an implicit confirmation), and the replies that
review found it must not misread: a no said of what was said back, a yes/no question, a
correction in reply to "which is right?", a 呢 question, forgetting as not doing, "short of".
On a bike-rental form of the tests' own."""

from __future__ import annotations

from plusn.agents import forms
from plusn.agents.quantities import quantities
from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec
from plusn.agents.utterance import Reading

BIKES = FormSpec.model_validate({
    "slots": {
        "kind": {"type": "enum", "label": "车型", "ask": "您要租哪种车？（单车 / 电动车）",
                 "options": {"单车": ["自行车"], "电动车": ["电瓶车"]}},
        "days": {"type": "number", "label": "租期（天）", "ask": "您要租几天？", "unit": "天", "min": 1, "max": 60},
        "age": {"type": "integer", "label": "年龄", "ask": "您今年多大？", "unit": "岁", "min": 10, "max": 90},
        "registered": {"type": "boolean", "label": "实名登记", "ask": "您是否已经完成实名登记？（是 / 否）",
                       "yes_words": ["已登记", "登记了"], "no_words": ["没登记", "未登记"]},
    },
    "tree": {"slot": "kind", "cases": {
        "单车": {"slot": "days", "when": [{"if": "value <= 7", "then": {"decision": "可以租"}}],
                 "default": {"decision": "需押金"}},
        "电动车": {"slot": "age", "when": [{"if": "value < 16", "then": {"decision": "不可租"}}],
                   "default": {"slot": "registered", "cases": {"true": {"decision": "可以租"},
                                                              "false": {"decision": "先登记"}}}}}},
})


def _guess_kind(state: forms.FormState, text: str) -> forms.Turn:
    return forms.turn(BIKES, state, text, "zh", meaning={"kind": Reading("电动车", sure=False, source="meaning")})


def test_a_guess_is_said_back_with_the_next_question_and_its_answer_confirms_it() -> None:
    state = forms.FormState()
    t = _guess_kind(state, "想租个骑着不累的")
    assert t.asked == "age" and "我记下的是：车型 电动车" in (t.reply or "") and state.noted == ["kind"]
    t = forms.turn(BIKES, state, "25岁", "zh")
    assert t.confirmed == {"kind": "电动车"} and t.asked == "registered"


def test_a_no_said_of_what_was_said_back_is_no_answer_to_the_question() -> None:
    state = forms.FormState()
    _guess_kind(state, "想租个骑着不累的")
    t = forms.turn(BIKES, state, "不对，25", "zh")  # said of what was said back, not of the age asked
    assert "kind" not in state.values and "kind" not in state.guesses and "age" not in state.values
    assert t.asked == "kind"  # asked again, on its own
    state = forms.FormState()
    _guess_kind(state, "想租个骑着不累的")
    t = forms.turn(BIKES, state, "不对，是单车", "zh")  # the value it gives what was said back is taken
    assert state.values["kind"] == "单车" and "age" not in state.values and t.asked == "days"
    state = forms.FormState()
    _guess_kind(state, "想租个骑着不累的")
    t = forms.turn(BIKES, state, "对", "zh")  # a plain yes is said of what was said back
    assert state.values["kind"] == "电动车" and t.asked == "age" and not t.rejected
    state = forms.FormState()
    _guess_kind(state, "想租个骑着不累的")
    t = forms.turn(BIKES, state, "不是很大，十五岁", "zh")  # a no in its own words answers the question
    assert state.values.get("age") == 15 and "kind" not in state.values
    state = forms.FormState()
    _guess_kind(state, "想租个骑着不累的")
    forms.turn(BIKES, state, "不是", "zh")  # a bare no drops the guess, and the age is not 不是
    assert "kind" not in state.values and "kind" not in state.guesses and "age" not in state.values


def test_before_a_yes_no_question_a_guess_is_asked_about_on_its_own() -> None:
    state = forms.FormState()
    state.values, state.guesses = {"kind": "电动车"}, {"age": 25}
    t = forms.turn(BIKES, state, None, "zh")
    assert state.confirming and t.asked == "age" and "对吗" in (t.reply or "") and not state.noted


def _two_guesses() -> tuple[forms.FormState, forms.Turn]:
    """Two guesses before a yes/no question: both are asked about in one question."""
    state = forms.FormState()
    state.guesses = {"kind": "电动车", "age": 25}
    return state, forms.turn(BIKES, state, None, "zh")


def test_guesses_before_a_yes_no_question_are_asked_about_together() -> None:
    state, t = _two_guesses()
    assert t.reply == "您是说车型：电动车；年龄：25岁，对吗？（是 / 否）" and t.asked == "kind"
    t = forms.turn(BIKES, state, "对", "zh")  # a yes confirms both
    assert state.values == {"kind": "电动车", "age": 25} and t.asked == "registered"
    state, _ = _two_guesses()
    t = forms.turn(BIKES, state, "已经登记了", "zh")  # passed over for the next answer: both hold
    assert t.decision is not None and t.decision["decision"] == "可以租"
    assert t.confirmed == {"kind": "电动车", "age": 25}
    state, _ = _two_guesses()
    t = forms.turn(BIKES, state, "不对", "zh")  # a no takes both back: each is asked again
    assert not state.values and not state.guesses and t.asked == "kind"
    state, _ = _two_guesses()
    t = forms.turn(BIKES, state, "不对，我16岁", "zh")  # the value it gives one of them is taken
    assert state.values.get("age") == 16 and "age" not in state.guesses
    state, _ = _two_guesses()
    forms.turn(BIKES, state, "不对，是单车", "zh")  # what a no says of the guess asked about is taken
    assert state.values.get("kind") == "单车" and "age" not in state.guesses
    state, _ = _two_guesses()
    forms.turn(BIKES, state, "不对，我说错了，是十六岁", "zh")  # and of another one, read as ever:
    assert state.values.get("age") == 16 and "kind" not in state.values  # the no is said of that one,
    assert state.guesses.get("kind") == "电动车" and not state.denied  # and the first is asked again
    state, _ = _two_guesses()
    forms.turn(BIKES, state, "对，不过不是25岁", "zh")  # a yes with a but: the first guess only
    assert state.values == {"kind": "电动车"} and "age" in state.guesses
    state = forms.FormState(values={"registered": False}, guesses={"kind": "电动车", "age": 25})
    forms.turn(BIKES, state, None, "zh")
    t = forms.turn(BIKES, state, "不对，已经登记了", "zh")  # a no that corrects another answer held
    assert state.values["registered"] is True and state.guesses == {"kind": "电动车", "age": 25}
    assert t.asked == "kind" and "年龄：25岁" in (t.reply or "")  # they are asked about again
    state, _ = _two_guesses()
    forms.turn(BIKES, state, "没有", "zh")  # a bare no takes them all back, whatever its word
    assert not state.guesses and not state.values
    t = forms.turn(BIKES, forms.FormState(guesses={"kind": "电动车", "age": 25}), None, "en")  # in English too
    assert t.reply == "Do you mean 车型: 电动车; 年龄: 25? (yes / no)"


def test_a_correction_in_reply_to_which_is_right_keeps_the_answer_it_names() -> None:
    state = forms.FormState()
    forms.turn(BIKES, state, "单车", "zh")
    t = forms.turn(BIKES, state, "租3天，朋友租的是电动车", "zh")  # said in passing: which is right?
    assert state.conflict == "电动车" and "哪个是对的" in (t.reply or "")
    t = forms.turn(BIKES, state, "说错了，是单车，电动车是我朋友的", "zh")  # 说错了 of the later mention
    assert state.values["kind"] == "单车" and t.decision is not None and t.decision["decision"] == "可以租"


def test_questions_ending_in_ne_ask_and_forgetting_is_not_doing() -> None:
    for text in ("登记了没有呢", "有没有登记呢"):
        r = read(BIKES, text, "registered", "zh").found.get("registered")
        assert r is None or not r.sure
    for text in ("忘了登记", "单位拒绝登记", "合同忘了去登记"):
        r = read(BIKES, text, "registered", "zh").found.get("registered")
        assert r is None or r.value is False


def test_short_of_a_number_is_below_it() -> None:
    q = quantities("还差几天才到6个月")[0]
    assert q.high == 6 and not q.high_in


def test_neither_fast_nor_a_trip_is_short_of_a_number() -> None:
    for text, value in (("很快16天就办完回来了", 16), ("出差满16天", 16)):
        q = quantities(text)[0]
        assert q.value == value and (q.high is None or q.high > value)  # never below it
    q = quantities("快半年了")[0]
    assert q.high == 0.5 and not q.high_in


def test_what_comes_before_a_correction_word_is_what_it_takes_back() -> None:
    got = read(BIKES, "3天，5天那个说错了", None, "zh", {"kind": "单车", "days": 3})
    assert got.found.get("days") is None or got.found["days"].value == 3


def test_which_is_right_of_two_values_said_plainly_passed_over_for_another_answer_leaves_neither() -> None:
    state = forms.FormState()
    for text in ("电动车", "25岁"):
        forms.turn(BIKES, state, text, "zh")
    t = forms.turn(BIKES, state, "已登记，自行车", "zh")
    assert t.asked == "kind" and "哪个是对的" in (t.reply or "")
    t = forms.turn(BIKES, state, "租五天", "zh")  # neither value decides: the question comes again
    assert t.decision is None and "kind" not in state.values


def test_a_no_of_another_question_neither_denies_a_guess_asked_about_nor_confirms_it() -> None:
    state = forms.FormState()
    t = _guess_kind(state, "25岁，想租个骑着不累的")
    assert "您是说车型：电动车，对吗？" in (t.reply or "")
    t = forms.turn(BIKES, state, "没有登记", "zh")  # the no runs on into the registration's word
    assert "您是说车型：电动车，对吗？" in (t.reply or "") and state.values["registered"] is False
    assert "kind" not in state.denied and "kind" not in state.values
    t = forms.turn(BIKES, state, "是", "zh")
    assert t.decision is not None and t.decision["decision"] == "先登记"
    state = forms.FormState()
    _guess_kind(state, "25岁，想租个骑着不累的")
    forms.turn(BIKES, state, "没有登记", "zh")
    t = forms.turn(BIKES, state, "不是", "zh")  # asked again, it may still be denied
    assert "kind" not in state.values and "kind" not in state.guesses and t.asked == "kind"
    state = forms.FormState()
    _guess_kind(state, "25岁，想租个骑着不累的")
    forms.turn(BIKES, state, "没有登记", "zh")
    t = forms.turn(BIKES, state, "租五天", "zh")  # asked again and passed over again, with no no: confirmed
    assert t.confirmed == {"kind": "电动车"} and t.decision is not None and t.decision["decision"] == "先登记"
    # one that also says what it is instead, in words not read, may have denied it: only a yes confirms
    state = forms.FormState()
    _guess_kind(state, "25岁，想租个骑着不累的")
    forms.turn(BIKES, state, "没有登记，其实是那种要自己蹬的", "zh")
    t = forms.turn(BIKES, state, "租五天", "zh")
    assert "kind" not in state.values and "您是说车型：电动车，对吗？" in (t.reply or "")
    # and so does one that says more, unread, with no no in it; saying the no again is no more
    for more, confirmed in (("我们那种脚蹬的", False), ("从来都没有", True)):
        state = forms.FormState()
        _guess_kind(state, "25岁，想租个骑着不累的")
        forms.turn(BIKES, state, f"没有登记，{more}", "zh")
        forms.turn(BIKES, state, "租五天", "zh")
        assert ("kind" in state.values) is confirmed, more


def test_a_reply_that_names_the_slot_said_back_and_reads_no_value_for_it_passes_nothing_over() -> None:
    state = forms.FormState()
    _guess_kind(state, "想租个骑着不累的")
    t = forms.turn(BIKES, state, "25岁，车型不是这个", "zh")  # the age is kept, the car type asked again
    assert "kind" not in state.values and state.values.get("age") == 25 and t.asked == "kind"
    state = forms.FormState()
    _guess_kind(state, "25岁，想租个骑着不累的")
    forms.turn(BIKES, state, "没有，是自行车", "zh")  # a plain no, then the answer
    assert state.values["kind"] == "单车"


def test_a_thing_remembered_is_no_correction_word() -> None:
    # "我想起来了" brings back another person's fact or an addition as often as a correction (a
    # review of a draft that took it as one found 29 wrong decisions): a different value asks
    # which is right, and a number added replaces nothing
    for text in ("我想起来了，我朋友租的是电动车", "哦我想起来了，租的是电动车"):
        state = forms.FormState()
        for said in ("单车", "3天"):
            forms.turn(BIKES, state, said, "zh")
        t = forms.turn(BIKES, state, text, "zh")
        assert state.values["kind"] == "单车" and not t.corrected and "哪个是对的" in (t.reply or ""), text
    state = forms.FormState()
    for said in ("单车", "3天", "刚想起来，还要多租两天"):
        forms.turn(BIKES, state, said, "zh")
    assert state.values["days"] == 3


def test_a_taking_back_reply_that_is_only_a_number_in_its_unit_corrects_what_was_said_back() -> None:
    def said_back(reply: str) -> forms.FormState:
        state = forms.FormState()
        t = forms.turn(BIKES, state, "想租十天", "zh")
        assert t.asked == "kind" and state.noted == ["days"]  # 10 days in passing: said back with the question
        forms.turn(BIKES, state, reply, "zh")
        return state

    for reply in ("不对，是五天", "不对不对，是五天"):
        state = said_back(reply)
        assert state.values["days"] == 5 and "days" not in state.guesses, reply  # the user's own correction
    # anything beside the number may say whose it is or what it counts: not taken
    for reply in ("不是，十天是我朋友租的，我租五天", "不对，我看了下，是租五天", "不对，是五天，也可能是八天",
                  "不对，我骑车骑了5天"):
        state = said_back(reply)
        assert "days" not in state.values and "days" not in state.guesses, reply
    # a bound may hold the guess it takes back, a date is no duration, a 吧 hedges: the guess goes
    for reply in ("不是，是十来天", "不对，五六天吧", "不对，是15日", "不对，五天吧", "不对吧"):
        state = said_back(reply)
        assert "days" not in state.values and "days" not in state.guesses, reply


INJURY = FormSpec.model_validate({"slots": {
    "kind": {"type": "enum", "label": "受伤情形", "ask": "是怎么受的伤？（工作中 / 上下班路上）",
             "options": {"工作中": ["干活时"], "上下班路上": ["上班路上"]}},
    "days": {"type": "integer", "label": "受伤天数", "ask": "受伤到现在多少天了？", "unit": "天", "min": 0, "max": 7300},
    "insured": {"type": "boolean", "label": "工伤保险", "ask": "单位交了工伤保险吗？", "yes_words": ["交了工伤保险"],
                "no_words": ["没交工伤保险"]}},
    "tree": {"slot": "kind", "cases": {"上下班路上": {"decision": "另办"}, "工作中": {
        "slot": "days", "when": [{"if": "value <= 30", "then": {"slot": "insured", "cases": {
            "true": {"decision": "基金支付"}, "false": {"decision": "单位支付"}}}}], "default": {"decision": "超时"}}}}})


def test_which_is_right_passed_over_drops_an_answer_that_was_only_passed_over() -> None:
    state = forms.FormState()
    forms.turn(INJURY, state, "想问工伤的事，十天了", "zh")  # 10 days, a guess said back
    forms.turn(INJURY, state, "工作中", "zh")  # the question answered: the 10 days passed over
    t = forms.turn(INJURY, state, "到今天刚好二十天", "zh")  # another guess: which is right?
    assert state.conflict == 20 and "哪个是对的" in (t.reply or "")
    t = forms.turn(INJURY, state, "交了工伤保险", "zh")  # passed over again: neither decides
    assert t.decision is None and "days" not in state.values and t.asked == "days"
