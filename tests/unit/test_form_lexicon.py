"""Words an answer uses that no option lists, derived by method from the words the author gave:
words that point at a place (这边, here), a base said with another option's head (本区人 from
外区人), an English option word said alone and negated ("not local"), and the polarity of an
English reply to a Chinese yes/no question. A form of its own, with paraphrased answers; rules
only (no model)."""

from __future__ import annotations

import pytest

from plusn.agents import forms
from plusn.agents.answers import acknowledges
from plusn.agents.lexicon import heads, lexicon
from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec

# An elderly-care allowance: where the registration is, how the person lives, whether a pension is paid.
CARE = FormSpec.model_validate({
    "slots": {
        "where": {"type": "enum", "label": "户籍所在地", "ask": "老人的户籍在本区还是外区？",
                  "options": {"本区": ["本区户籍", "local resident"], "外区": ["外区户籍", "外区人", "non-local resident"]}},
        "living": {"type": "enum", "label": "居住情况", "ask": "老人是独居，还是和子女同住？",
                   "options": {"独居": ["一个人住", "独自居住"], "同住": ["和子女同住", "跟子女住"]}},
        "pension": {"type": "boolean", "label": "养老金", "ask": "老人是否领取养老金？（是 / 否）",
                    "yes_words": ["领养老金"], "no_words": ["没有养老金"]},
    },
    "tree": {"slot": "where", "cases": {
        "外区": {"decision": "请到户籍地申请"},
        "本区": {"slot": "living", "cases": {
            "同住": {"decision": "不予补贴"},
            "独居": {"slot": "pension", "cases": {"true": {"decision": "每月补贴二百元"},
                                                  "false": {"decision": "每月补贴五百元"}}}}}}},
})


def found(text: str, asked: str | None = None, expected: str | None = None) -> dict[str, tuple[object, bool]]:
    return {k: (r.value, r.sure) for k, r in read(CARE, text, asked, "zh", {}, expected).found.items()}


def test_heads_and_bases_are_read_off_the_options_words() -> None:
    ends, shared = heads({c: [w.lower() for w in ws] for c, ws in CARE.slots["where"].choices().items()})
    assert {"户籍", " resident", "人"} <= ends and shared == {"户籍", " resident"}
    words = lexicon(CARE.slots["where"]).words
    assert "本区人" in words["本区"] and "local" in words["本区"] and "non-local" in words["外区"]
    assert "这边" in words["本区"] and "别的地方" in words["外区"]
    assert not any(w in ("这边", "here") for ws in lexicon(CARE.slots["living"]).words.values() for w in ws)


@pytest.mark.parametrize(("text", "value"), [
    ("老人户籍不在这边", "外区"), ("户籍就在这里", "本区"), ("户籍在老家那边", "外区"),
    ("she is not a local resident", "外区"), ("she is a resident, but not local", "外区"),
    ("she's a local resident", "本区"),
])
def test_an_answer_in_words_no_option_lists_is_read_without_being_asked(text: str, value: str) -> None:
    assert found(text, expected="living").get("where") == (value, True)


def test_a_join_within_one_options_words_is_no_specific_word() -> None:
    # 本区人: the base of 本区 with the 人 of 外区人, another option's: the specific kind
    assert found("他是本区人，一个人住", expected="living").get("where") == ("本区", True)
    # 房贷 with the 款 of 还贷款, the same option's: 房贷款 is one word, and a mortgage loan not yet
    # granted is a purchase; said in passing it reads nothing
    home = FormSpec.model_validate({"slots": {"purpose": {"type": "enum", "ask": "用途？", "options": {
        "偿还房贷": ["偿还房贷", "还贷款", "还贷", "房贷"], "购房": ["购房", "付首付"]}}},
        "tree": {"slot": "purpose", "cases": {"偿还房贷": {"decision": "a"}, "购房": {"decision": "b"}}}})
    assert "房贷款" in lexicon(home.slots["purpose"]).derived
    assert "purpose" not in read(home, "我想用公积金，房贷款还没批下来", None, "zh", {}, None).found


def test_a_place_word_in_a_question_or_before_the_slots_word_is_no_answer() -> None:
    assert "where" not in found("老人户籍迁到这边需要什么材料", expected="living")
    assert "where" not in found("户籍的事情你们这里能办吗", expected="living")
    assert found("我这边想咨询一下户籍的问题", expected="living").get("where", (None, False))[1] is False
    assert found("我们在这打工", asked="where").get("where", (None, False))[1] is False  # 我们这, loosely


def test_a_word_that_points_is_weak() -> None:
    assert "where" not in found("我这边想问一下补贴的事", expected="living")  # no word names the slot
    assert "where" not in found("she works at a local shop", expected="living")
    assert found("这边", asked="where")["where"] == ("本区", False)  # only answers the question: a guess
    assert found("not from here", asked="where")["where"] == ("外区", False)
    assert found("local", asked="where")["where"] == ("本区", False)  # a base of "local resident", said alone
    assert found("she is a resident and local", asked="where")["where"] == ("本区", True)  # named: sure


def test_a_guessed_place_is_confirmed_before_the_decision() -> None:
    state = forms.FormState()
    t = forms.turn(CARE, state, "就这边的", "zh")  # answers the first question, with no word naming it
    # a guess, said back with the next question (an implicit confirmation)
    assert t.decision is None and "本区" in (t.reply or "") and state.guesses == {"where": "本区"}
    t = forms.turn(CARE, state, "一个人住", "zh")  # the answer to that question confirms it
    assert state.values == {"where": "本区", "living": "独居"} and t.asked == "pension"
    t = forms.turn(CARE, state, "没有养老金", "zh")
    assert t.decision is not None and t.decision["decision"] == "每月补贴五百元"


@pytest.mark.parametrize(("text", "value"), [
    ("she hasn't got one", False), ("we never applied for it", False), ("she gets one every month", True),
])
def test_an_english_reply_to_a_chinese_yes_no_question_is_read_by_its_polarity(text: str, value: bool) -> None:
    assert found(text, asked="pension")["pension"] == (value, False)  # a guess, confirmed first
    assert "pension" not in found("what is a pension?", asked="pension")
    assert "pension" not in found("I don't know", asked="pension")
    # a statement of a quantity is most often another question's answer, and its polarity misleads
    for text in ("our household income is about 7,000 yuan a month", "she stopped getting it 3 months ago"):
        assert "pension" not in found(text, asked="pension"), text


# A second form of its own, for the verbs people use: a gym membership, ended by whom.
GYM = FormSpec.model_validate({
    "slots": {
        "ended": {"type": "enum", "label": "终止原因", "ask": "会员卡是您自己停的，还是被俱乐部停的？",
                  "options": {"自己停卡": ["主动停卡", "自己不续了"], "被停卡": ["被取消", "被封号"]}},
        "months": {"type": "number", "label": "剩余月数", "ask": "还剩几个月？", "unit": "月", "min": 0, "max": 60},
    },
    "tree": {"slot": "ended", "cases": {"自己停卡": {"decision": "不退费"},
                                        "被停卡": {"slot": "months", "when": [{"if": "value >= 1", "then": {"decision": "按月退费"}}],
                                                   "default": {"decision": "不退费"}}}},
})


@pytest.mark.parametrize(("text", "value"), [
    ("俱乐部把我的卡取消了", "被停卡"),  # 被取消 said without its passive marker
    ("主动地停卡", "自己停卡"),  # one character inside a word of three or more
    ("是我主动去停的卡", None),  # two inside: no longer the word
    ("自己没不续了", None),  # a negator inside never counts
])
def test_a_word_said_with_one_more_inside_or_without_its_passive_marker(text: str, value: str | None) -> None:
    got = read(GYM, text, "ended", "zh").found.get("ended")
    assert (got.value if got is not None else None) == value
    assert "停卡" not in lexicon(GYM.slots["ended"]).words["被停卡"]  # 停卡 is also in 自己停卡


@pytest.mark.parametrize(("text", "months"), [("two and a half years", 30), ("2 and a half months", 2.5),
                                              ("a year and a half", 18), ("三个半月", 3.5),
                                              ("2 and a half", 2.5), ("3 and a half, I think", 3.5)])
def test_a_half_after_the_number_or_after_the_unit(text: str, months: float) -> None:
    assert read(GYM, text, "months", "zh").found["months"].value == pytest.approx(months)


@pytest.mark.parametrize(("text", "ack"), [("对", True), ("好的，谢谢", True), ("ok thanks!", True), ("对的", True),
                                           ("那改签呢？", False), ("不是", False), ("是本市的", False), ("的", False)])
def test_what_takes_a_decision_as_given(text: str, ack: bool) -> None:
    assert acknowledges(text) is ack


def test_an_answer_to_another_question_is_kept_and_not_called_invalid() -> None:
    state = forms.FormState()
    forms.turn(GYM, state, "你好", "zh")
    t = forms.turn(GYM, state, "还剩三个月", "zh")  # answers the months question before the first
    # a guess, and 自己停卡 decides without asking months: no branch is implied, the question again
    assert t.asked == "ended" and "不符合要求" not in (t.reply or "") and state.guesses == {"months": 3}
    assert "3" in (t.reply or "") and state.noted == ["months"]  # said back with the question
    t = forms.turn(GYM, state, "被俱乐部取消了", "zh")  # answered: the number said in passing is confirmed
    assert t.confirmed == {"months": 3} and t.decision is not None and t.decision["decision"] == "按月退费"


def test_a_correction_whose_slot_is_a_guess_is_taken_in_its_unit_and_a_mention_is_not() -> None:
    state = forms.FormState()
    forms.turn(GYM, state, "被俱乐部取消了", "zh")
    t = forms.turn(GYM, state, "还剩三个月", "zh")
    assert t.decision is not None and t.decision["decision"] == "按月退费"
    state.asked = None
    # in another unit, no word naming its slot, but a correction and no other slot it could be for
    t = forms.turn(GYM, state, "不对，其实只有两周", "zh")
    assert t.decision is not None and t.decision["decision"] == "不退费" and "结论有变化" in t.decision["notes"][-1]
    assert abs(state.values["months"] - 14 / 30) < 1e-9
    state = forms.FormState()
    forms.turn(GYM, state, "被俱乐部取消了", "zh")
    forms.turn(GYM, state, "还剩三个月", "zh")
    t = forms.turn(GYM, state, "还有半个月的课没上", "zh")  # no word of correction: not taken
    assert state.values["months"] == 3 and "哪个是对的" not in (t.reply or "")


def test_a_guess_never_overturns_an_answer_by_itself() -> None:
    """A number with no word naming its slot is a guess: in a question it may be another case
    ("如果只剩半个月，也能退吗，对不对？"), and the form asks which is right before taking it."""
    def after_three_months(text: str) -> tuple[forms.FormState, forms.Turn]:
        state = forms.FormState()
        forms.turn(GYM, state, "被俱乐部取消了", "zh")
        forms.turn(GYM, state, "还剩三个月", "zh")
        state.asked = None
        return state, forms.turn(GYM, state, text, "zh")

    # 对不对 asks, and 其实 alone ("in fact") is no correction word: the answer stands, no question
    for text in ("如果只剩五个月，也能退吗，对不对？", "其实我想问，朋友的卡还剩五个月能退吗"):
        state, t = after_three_months(text)
        assert state.values["months"] == 3 and not t.corrected and "哪个是对的" not in (t.reply or ""), text
    for text in ("不对，我想问朋友的卡还剩五个月能退吗", "actually 5 months, can he get a refund?"):
        state, t = after_three_months(text)
        assert state.values["months"] == 3 and not t.corrected, text
        assert t.decision is None and "哪个是对的" in (t.reply or ""), text
    t = forms.turn(GYM, state, "五个月", "zh")
    assert state.values["months"] == 5 and t.decision is not None
    # stated, in the slot's own unit, and no other slot reads it: taken, and said
    state, t = after_three_months("不好意思，其实是五个月")
    assert t.corrected == {"months": (3, 5)} and t.decision is not None and state.values["months"] == 5


def test_a_rounded_value_is_shown_as_rounded() -> None:
    from plusn.agents.answers import show

    # 52 weeks in years: "1" would read as a whole year where the decision sees less than one
    assert show(52 * 7 / 365, "zh") == "约0.997" and show(52 * 7 / 365, "en") == "about 0.997"
    assert show(2 / 3, "en") == "about 0.67" and show(0.5, "zh") == "0.5" and show(3.0, "zh") == "3"
