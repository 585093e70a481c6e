"""Replies that answer something else than what was asked, on a leave form of its own: a loose
number passing over a confirmation, a question restated before it is asked, a duration in
another slot's unit, a quantity said on its own after the clause that names it, 满 of a count
reached, and a clause opened by 不是."""

from __future__ import annotations

import pytest

from plusn.agents import forms
from plusn.agents.predicates import echoed
from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec
from plusn.agents.utterance import Reading

LEAVE = FormSpec.model_validate({
    "slots": {
        "kind": {"type": "enum", "label": "假期类型", "ask": "请问您要请哪种假？（年假 / 病假 / 事假）",
                 "options": {"年假": ["年休假"], "病假": ["生病", "住院"], "事假": ["私事", "家里有事"]}},
        "days": {"type": "number", "label": "请假天数", "ask": "您需要请几天？", "unit": "天", "min": 0.5, "max": 90,
                 "aliases": ["请"]},
        "tenure": {"type": "integer", "label": "司龄", "ask": "您入职多久了？", "unit": "月", "min": 0, "max": 600,
                   "aliases": ["入职"]},
        "pending": {"type": "boolean", "label": "未交接的工作", "ask": "手上还有没有未交接的工作？"},
        "note": {"type": "boolean", "label": "病假条", "ask": "能提供医院开的病假条吗？"},
    },
    "tree": {"slot": "kind", "cases": {
        "年假": {"slot": "tenure", "when": [{"if": "value < 12", "then": {"decision": "不符合年假条件"}},
                                            {"if": "value < 120", "then": {
                                                "slot": "days", "when": [{"if": "value <= 5", "then": {"decision": "批准"}}],
                                                "default": {"decision": "超出额度"}}}],
                 "default": {"decision": "批准"}},
        "病假": {"slot": "days", "when": [{"if": "value <= 1", "then": {"decision": "批准"}}],
                 "default": {"slot": "note", "cases": {"true": {"decision": "批准"}, "false": {"decision": "需病假证明"}}}},
        "事假": {"slot": "pending", "cases": {"true": {"decision": "先交接"}, "false": {"decision": "批准"}}}}},
})


def test_a_number_too_loose_to_keep_still_passes_over_a_confirmation() -> None:
    state = forms.FormState()
    t = forms.turn(LEAVE, state, "想休息几天", "zh", meaning={"kind": Reading("年假", sure=False, source="meaning")})
    assert t.asked == "tenure" and state.noted == ["kind"]  # the guess said back with the next question
    t = forms.turn(LEAVE, state, "大概一年左右", "zh")  # answers the next question, too loosely to decide on
    assert t.confirmed == {"kind": "年假"} and t.asked == "tenure" and "tenure" in state.vague
    state = forms.FormState()
    forms.turn(LEAVE, state, "想休息几天", "zh", meaning={"kind": Reading("年假", sure=False, source="meaning")})
    t = forms.turn(LEAVE, state, "我也说不准，大概一年左右吧", "zh")  # unsure of itself: agrees to nothing
    assert not t.confirmed and "kind" not in state.values


def test_a_clause_restating_the_question_answers_it_before_it_is_asked() -> None:
    def said(text: str) -> bool | None:
        r = read(LEAVE, text, "days", "zh").found.get("pending")
        return None if r is None else r.value

    assert said("我是事假，手上的工作已经交接了") is False  # restates 交接 of 未交接: done, so none pending
    assert said("事假，还有工作没交接") is True  # the question is negated: 没交接 is a yes
    assert said("事假，有一项工作交接了，还有一项没交接") is None  # both ways: nothing certain
    assert said("事假，工作交接了一半") is None  # done in part is neither
    assert said("工作交接要走什么流程？") is None  # a question restates to ask
    assert said("事假，手上没有未交接的工作了") is False  # two negations cancel
    assert said("事假，工作交接正在办") is None  # under way: neither
    # a restatement is no predicate the rules know: a guess ("不用我安排" is no "not arranged")
    assert read(LEAVE, "事假，工作交接同事说不用我处理", "days", "zh").found["pending"].sure is False


def test_a_gloss_in_brackets_restates_the_question_and_a_hint_does_not() -> None:
    ask = "车辆名下还有没有未处理的交通违法（违章）？"
    assert echoed(ask, "违章已经处理了") is False
    assert echoed("有没有未处理的罚单？（是 / 否）", "是否都行") is None  # the hint restates nothing


def test_a_duration_another_slot_counts_in_is_not_converted_into_a_coarser_asked_one() -> None:
    got = read(LEAVE, "八天", "tenure", "zh").found
    assert "tenure" not in got and got["days"].value == 8  # not 0 months: the days slot's number
    got = read(LEAVE, "两个月", "days", "zh").found
    assert got["days"].value == 60 and got["days"].sure  # a finer unit holds it: the answer
    assert read(LEAVE, "一年半", "tenure", "zh").found["tenure"].value == 18
    # converted to a whole number it cannot hold: only a guess
    assert read(LEAVE, "三周", "tenure", "zh").found["tenure"].sure is False
    assert read(LEAVE, "25周", "tenure", "zh").found["tenure"].sure is False  # 5.8 months is no 6


def test_a_quantity_on_its_own_takes_no_word_from_an_earlier_clause() -> None:
    # "上个月请过，两天" and "还没正式离职，提前通知期，30天": the word of an earlier clause may be
    # said of something else, so a quantity on its own is a guess to confirm
    got = read(LEAVE, "你好，我想请几天年假，下周一到周三，三天", None, "zh").found
    assert got["days"].value == 3 and not got["days"].sure and got["kind"].value == "年假"
    got = read(LEAVE, "我想请年假出去旅游，七天，入职三年多了", None, "zh").found
    assert got["tenure"].span == (36, 47) and got["days"].value == 7  # not 0 months of service


@pytest.mark.parametrize(("text", "span"), [("我工作满两年了", (24, 35)), ("入职刚满半年", (6, 11)),
                                            ("入职还没满一年", (0, 11)), ("入职快满一年了", (11, 11)),
                                            ("入职满一年以上了", (12, 600))])
def test_a_count_reached_is_that_count_and_short_of_the_next(text: str, span: tuple[float, float]) -> None:
    r = read(LEAVE, text, "tenure", "zh").found["tenure"]
    assert r.span == span


def test_a_count_reached_decides_where_the_next_one_would_not_cross_a_threshold() -> None:
    state = forms.FormState()
    forms.turn(LEAVE, state, "请年假三天", "zh")
    t = forms.turn(LEAVE, state, "我入职满两年了", "zh")  # 24 to 35 months: under ten years either way
    assert t.decision is not None and t.decision["decision"] == "批准"


def test_a_clause_opened_by_bu_shi_denies_and_naming_another_option_corrects() -> None:
    got = read(LEAVE, "不是我自己生病，是家里有事", "days", "zh", {"kind": "病假"}).found
    assert got["kind"].value == "事假"
    # the denial runs up to the 是 that says what is, and a question denies nothing
    assert read(LEAVE, "不是年假是病假", "kind", "zh").found["kind"].value == "病假"
    assert read(LEAVE, "不是听说公司的年假可以随时请吗？我要请年休假", "kind", "zh").found["kind"].value == "年假"
    state = forms.FormState()
    forms.turn(LEAVE, state, "我住院了要请假", "zh")
    assert state.values["kind"] == "病假"
    t = forms.turn(LEAVE, state, "不是我自己住院，是事假", "zh")
    assert t.corrected == {"kind": ("病假", "事假")} and state.values["kind"] == "事假"


@pytest.mark.parametrize(("text", "value"), [
    ("病假三天，病假条弄丢了", False),  # lost, though it restates the question
    ("病假三天，病假条没来得及开", False), ("病假三天，病假条没办", False),  # 没 before a doing of it
    ("病假三天，病假条没带在身上", None),  # 没 before another verb says something else
    ("病假三天，病假条正在办", None),  # under way
])
def test_a_yes_or_no_said_in_passing_reads_its_predicate(text: str, value: bool | None) -> None:
    r = read(LEAVE, text, "kind", "zh").found.get("note")
    assert (None if r is None or not r.sure else r.value) is value


def test_a_numeral_inside_a_word_is_no_number_and_an_option_names_no_count() -> None:
    assert read(LEAVE, "年假想去三亚玩，五险一金都交了", None, "zh").found == {"kind": Reading("年假")}
    # 年休假 says the branch tenure is asked under, not that a bare number is the tenure
    got = read(LEAVE, "年休假的话我是5", None, "zh").found
    assert "tenure" not in got or not got["tenure"].sure


def test_a_bare_number_after_a_correction_asks_which_is_right() -> None:
    state = forms.FormState(values={"kind": "年假", "tenure": 24})
    t = forms.turn(LEAVE, state, "不对，我说错了，老家是3线城市的", "zh")  # no number of this form
    assert not t.corrected and state.values["tenure"] == 24
    # even where only one slot counts a number, a bare one after 不对 may be of something else
    one = FormSpec.model_validate({"slots": {"age": LEAVE.slots["tenure"].model_dump(exclude_unset=True)},
                                   "tree": {"slot": "age", "when": [{"if": "value < 12", "then": {"decision": "新员工"}}],
                                            "default": {"decision": "老员工"}}})
    state = forms.FormState(values={"age": 24})
    t = forms.turn(one, state, "不对，我车是2手的", "zh")
    assert not t.corrected and state.values["age"] == 24


def test_a_one_character_yes_opens_a_reply_only_with_a_break_after_it() -> None:
    state = forms.FormState(values={"kind": "病假", "days": 3}, asked="note")
    forms.turn(LEAVE, state, "是在社区医院看的", "zh")  # where, not yes
    assert "note" not in state.values
    forms.turn(LEAVE, state, "是，社区医院开的", "zh")
    assert state.values["note"] is True


def test_an_unsure_reply_passes_over_no_confirmation() -> None:
    state = forms.FormState()
    forms.turn(LEAVE, state, "想休息几天", "zh", meaning={"kind": Reading("年假", sure=False, source="meaning")})
    t = forms.turn(LEAVE, state, "不好说，反正入职两年了", "zh")
    assert not t.confirmed and "kind" not in state.values


def test_of_what_is_not_done_a_doing_is_only_a_guess_and_a_count_of_things_is_no_number() -> None:
    # "有没有未交接的工作？": 搞定, 还没去办 say it the other way round from 有 and 没有
    for text in ("请两天事假，手上的工作都搞定了", "请两天事假，工作还没去办交接"):
        r = read(LEAVE, text, None, "zh").found.get("pending")
        assert r is None or not r.sure
    assert read(LEAVE, "没有", "pending", "zh").found["pending"] == Reading(False)
    got = read(LEAVE, "我发烧了，这是今年第一次请病假，请到下周一", None, "zh").found
    assert "days" not in got  # 第一次, 周一: an order and a day
    assert "days" not in read(LEAVE, "我们三个人一起请的", None, "zh").found


def test_still_doing_is_under_way_and_one_and_a_half_is_a_number() -> None:
    state = forms.FormState(values={"kind": "病假", "days": 3}, asked="note")
    forms.turn(LEAVE, state, "病假条还在医院开", "zh")  # still being written: ask again
    assert "note" not in state.values and "note" not in state.guesses
    assert read(LEAVE, "病假条还在我这", "note", "zh").found["note"].value is True  # still had
    assert read(LEAVE, "一个半月", "days", "zh").found["days"].value == 45
    assert "days" not in read(LEAVE, "心里七上八下的", "days", "zh").found


def test_not_a_single_one_is_a_plain_no_and_asks_nothing() -> None:
    def said(text: str, asked: str = "pending") -> bool | None:
        r = read(LEAVE, text, asked, "zh").found.get(asked)
        return None if r is None else r.value

    assert said("一项都没有") is False  # an emphatic none, as short as 没有
    assert said("工作一件也没有") is False  # after the slot's own word
    assert said("什么都没有") is False  # 什么 before 都 asks nothing
    assert said("病假条一张都没有", "note") is False
    assert said("手头的活儿一件都没交给别人") is None  # no emphatic none: 没 of another verb, in a long reply
    # none of something else says nothing of the slot ("no problem at all" is no "no note")
    assert said("问题一个都没有", "note") is None and said("时间一点都没有") is None
    assert said("任何问题都没有", "note") is None
    assert read(LEAVE, "什么时候能批？", "pending", "zh").asking  # 什么 still asks
    assert read(LEAVE, "为什么都要病假条", "note", "zh").asking  # and so does 为什么 before 都


def test_a_no_that_opens_a_correction_of_another_answer_does_not_deny_a_confirmation() -> None:
    state = forms.FormState()
    forms.turn(LEAVE, state, "家里有点情况，想请两天", "zh", meaning={"kind": Reading("事假", sure=False, source="meaning")})
    # (the next question asks yes or no: the guess is asked about on its own, not said back with it)
    assert state.confirming and state.values["days"] == 2
    t = forms.turn(LEAVE, state, "哦不对，说错了，是三天不是两天", "zh")  # the no may be of the days only
    assert t.corrected == {"days": (2, 3)} and not t.confirmed and state.confirming and t.asked == "kind"
    assert state.guesses == {"kind": "事假"} and not state.denied  # neither taken nor denied: asked again
    state = forms.FormState()
    forms.turn(LEAVE, state, "家里有点情况，想请两天", "zh", meaning={"kind": Reading("事假", sure=False, source="meaning")})
    t = forms.turn(LEAVE, state, "不对，不是事假，请三天", "zh")  # denies the guess too
    assert t.corrected == {"days": (2, 3)} and state.denied == {"kind": ["事假"]} and "kind" not in state.values
    state = forms.FormState()
    forms.turn(LEAVE, state, "家里有点情况，想请两天", "zh", meaning={"kind": Reading("事假", sure=False, source="meaning")})
    t = forms.turn(LEAVE, state, "不对", "zh")  # a no and nothing else: the guess is denied
    assert "kind" not in state.values and state.denied == {"kind": ["事假"]}


def test_a_subject_between_the_thing_named_and_its_predicate_still_says_it() -> None:
    def said(text: str) -> bool | None:
        r = read(LEAVE, text, "kind", "zh").found.get("note")
        return None if r is None else r.value

    assert said("病假，病假条我们有的") is True  # "as for the note, we have it"
    assert said("病假，病假条我没有") is False
    r = read(LEAVE, "病假，病假条我觉得开不开都行", "kind", "zh").found.get("note")
    assert r is None or not r.sure  # no predicate of having: nothing certain
    for text in ("病假，请三天，病假条我有两个问题", "病假，请三天，病假条我有时间再去开"):
        r = read(LEAVE, text, "kind", "zh").found.get("note")
        assert r is None or not r.sure, text  # 有 of something else, after a subject: nothing certain


CLAIM = FormSpec.model_validate({
    "slots": {
        "amount": {"type": "number", "label": "费用", "ask": "一共花了多少钱？", "unit": "元", "min": 0, "max": 10000000},
        "days": {"type": "integer", "label": "住院天数", "ask": "住院几天？", "unit": "天", "min": 1, "max": 365},
    },
    "tree": {"slot": "amount", "when": [{"if": "value < 50000", "then": {"slot": "days", "when": [
        {"if": "value <= 3", "then": {"decision": "门诊报销"}}], "default": {"decision": "住院报销"}}}],
        "default": {"decision": "专家审核"}},
})


def test_a_bare_number_after_a_correction_corrects_the_one_slot_whose_range_holds_it() -> None:
    def after(*texts: str) -> tuple[forms.FormState, forms.Turn]:
        state = forms.FormState(asked="amount")
        t = forms.Turn()
        for text in texts:
            t = forms.turn(CLAIM, state, text, "zh")
        return state, t

    state, t = after("花了八万", "不对不对，我刚翻了下单子，是十二万多")  # no day count is that large
    assert "amount" in t.corrected and state.values["amount"] >= 120000 and state.conflict is None
    state, t = after("花了八万", "不对，是两百")  # days could be 200 too: which is right?
    assert not t.corrected and state.conflict == 200 and state.values["amount"] == 80000
    state, t = after("花了八万", "不对，我在12123上查的")  # a number inside something else: not taken
    assert not t.corrected and state.values["amount"] == 80000
    state, t = after("花了八万", "看错了，是自费部分，两万")  # a part of it: which is right?
    assert not t.corrected and state.values["amount"] == 80000


def test_其实才_corrects_as_其实是_does() -> None:
    state = forms.FormState(asked="amount")
    forms.turn(CLAIM, state, "花了两万", "zh")
    forms.turn(CLAIM, state, "住了五天", "zh")
    t = forms.turn(CLAIM, state, "等下，我看了下单子，其实才住了三天", "zh")
    assert t.corrected == {"days": (5, 3)} and t.decision is not None and t.decision["decision"] == "门诊报销"


ALLOWANCE = FormSpec.model_validate({
    "slots": {
        "home": {"type": "boolean", "label": "自有住房", "ask": "名下有没有自有住房？",
                 "yes_words": ["有自有住房", "有房"], "no_words": ["无房"]},
        "insured": {"type": "boolean", "label": "社保", "ask": "是否在缴纳社保？",
                    "yes_words": ["在交社保"], "no_words": ["断缴"]},
    },
    "tree": {"slot": "home", "cases": {"true": {"decision": "不予补贴"}, "false": {
        "slot": "insured", "cases": {"true": {"decision": "可以申领"}, "false": {"decision": "先交社保"}}}}},
})


def test_a_negator_before_the_authors_own_yes_word_says_no() -> None:
    def said(text: str, asked: str = "home") -> bool | None:
        r = read(ALLOWANCE, text, asked, "zh").found.get(asked)
        return None if r is None else r.value

    assert said("没有自有住房") is False  # the yes word 有自有住房, after 没
    assert said("有自有住房") is True
    assert said("不是无房") is True  # a no word negated
    assert said("不是在交社保，是断缴了", "insured") is False


def test_a_yes_or_no_taken_back_in_the_same_message_is_what_the_correction_says() -> None:
    def said(text: str) -> bool | None:
        r = read(ALLOWANCE, text, "insured", "zh").found.get("insured")
        return None if r is None else r.value

    assert said("好像断缴了……不对，在交社保") is True
    assert said("社保好像断缴了……不对，我刚看了下app，单位上个月开始交了") is None  # nothing certain
    assert said("不对，断缴了") is False  # a correction word that opens the reply takes nothing back
    assert said("断缴了，我没记错，是真的") is False  # a correction word denied takes nothing back
    r = read(ALLOWANCE, "无房，其实是租的，房子是房东的", "home", "zh").found["home"]
    assert r.value is False  # 其实是 says more, takes nothing back
    assert said("在交社保，其实是断缴了") is False  # ...unless what follows says it in the author's words
    assert said("是的，应该是没有") is False  # or as plainly as a short reply
    assert said("在交社保，不对，应该是断缴了") is False  # the last correction word decides
    assert said("在交社保，其实没断缴") is True  # 其实没: the 没 is what it says
    r = read(ALLOWANCE, "我其实没有房子", "home", "zh").found["home"]
    assert r.value is False
    for text in ("没有，应该是没错", "没有，应该是对的", "无房，其实就是租的"):  # agreeing, or saying more
        assert read(ALLOWANCE, text, "home", "zh").found["home"].value is False, text
    for text in ("有房，应该是没有贷款", "有的，应该是没卖"):  # a no of something else
        assert read(ALLOWANCE, text, "home", "zh").found["home"].value is True, text
    for text, value in (("有房，其实是没有", False), ("没有，应该是有一套", True), ("没有，其实只有一套", True),
                        ("有房，更正：没有", False)):  # a bare yes or no, a count at most
        assert read(ALLOWANCE, text, "home", "zh").found["home"].value is value, text


def test_a_count_after_有_says_yes() -> None:
    def said(text: str) -> bool | None:
        r = read(ALLOWANCE, text, "home", "zh").found.get("home")
        return None if r is None else r.value

    assert said("有一套") is True  # some, counted
    for text in ("有一套，已经卖了", "有一套住房，已经卖了"):
        r = read(ALLOWANCE, text, "home", "zh").found["home"]
        assert r.value is True and not r.sure, text  # what follows may take it back: a guess
    assert said("有一个问题想问") is None  # a count of something else
    assert said("正在买房") is None  # under way: neither


def test_a_number_in_its_own_unit_is_a_guess_when_asked_supposed_an_example_or_of_another_time() -> None:
    aged = FormSpec.model_validate({"slots": {
        "degree": {"type": "enum", "ask": "学历？", "options": {"本科": [], "硕士": []}},
        "age": {"type": "integer", "label": "年龄", "ask": "多大了？", "unit": "岁", "min": 18, "max": 70}}})
    for text in ("硕士，明年就36岁了，还能申请吗", "硕士，比如说41岁，还能领吗", "我硕士毕业，37岁能领吗",
                 "硕士，如果我36岁的话就不能申请了吧", "硕士，今年35，下个月就满36岁了", "Master's, next year I'll be 36"):
        r = read(aged, text, "degree", "zh").found.get("age")
        assert r is None or not r.sure, text  # maybe another case than now
    # a question in another clause asks about the case the message states; 今年 is now beside 之前
    for text in ("我硕士毕业，今年37岁", "我硕士毕业，37岁，能领吗", "硕士，27岁，在本市没房子，能领租房补贴吗",
                 "我是硕士，之前在外地，今年33岁"):
        assert read(aged, text, "degree", "zh").found["age"].sure, text
    r = read(aged, "硕士，我同事41岁，我能领吗", "degree", "zh").found.get("age")
    assert r is None or not r.sure  # another person's
    child = FormSpec.model_validate({"slots": {
        "grade": {"type": "enum", "ask": "上几年级？", "options": {"小学": [], "初中": []}},
        "age": {"type": "integer", "label": "孩子年龄", "ask": "孩子几岁了？", "unit": "岁", "min": 3, "max": 18}}})
    assert read(child, "我儿子7岁，要上小学", "grade", "zh").found["age"].sure  # the slot is about a child


def test_starting_over_is_asked_for_not_mentioned() -> None:
    from plusn.agents.answers import starts_over

    for text in ("重新开始", "重新开始，帮我朋友问：他离职了", "从头开始吧", "可以重新开始吗", "重新问一下"):
        assert starts_over(text), text
    for text in ("不用重新开始", "说错了，是外地户籍，不需要重新开始吧", "公积金要从头开始交吗", "换了工作重新开始交呢",
                 "we don't need to start over"):
        assert not starts_over(text), text


def test_a_take_back_that_says_nothing_plainly_leaves_a_guess_and_a_question_answers_nothing() -> None:
    r = read(ALLOWANCE, "有房，不对，不是我的，是我老婆的", "home", "zh").found.get("home")
    assert r is None or not r.sure  # what it says instead is no bare yes or no
    assert "home" not in read(ALLOWANCE, "有房，不对，是不是要算我老婆的", "home", "zh").found


def test_a_correction_whose_clause_names_something_else_first_is_not_read_for_this_slot() -> None:
    r = read(ALLOWANCE, "断缴了，另外房子改成有", "insured", "zh").found["insured"]
    assert r.value is False  # 改成有 is of the house


@pytest.mark.parametrize(("text", "value"), [
    ("有房，其实没有房贷了", True), ("有房，不对，没有，不对不对，有的", True), ("没有房，更正一下，有", True),
    ("没有房，应该是有才对", True), ("没有房，其实有一套", True)])
def test_what_a_correction_says_plainly(text: str, value: bool) -> None:
    assert read(ALLOWANCE, text, "home", "zh").found["home"].value is value


ELDER = FormSpec.model_validate({"slots": {
    "hukou": {"type": "enum", "label": "老人户籍", "ask": "老人是本市户籍吗？", "options": {"本市": ["本地"], "外地": []}},
    "age": {"type": "integer", "label": "老人年龄", "ask": "老人今年多大？", "unit": "岁", "min": 0, "max": 120},
    "alone": {"type": "boolean", "label": "独居", "ask": "老人是否独居？", "yes_words": ["一个人住"], "no_words": ["不是一个人住"]},
    "income": {"type": "number", "label": "老人月收入", "ask": "老人每月收入多少元？", "unit": "元", "min": 0, "max": 100000}}})


@pytest.mark.parametrize(("text", "age"), [("我爸七十五了，本地户口", 75), ("我妈本地的，今年七十", 70),
                                           ("我爸本地户口，七十出头", 70), ("帮我奶奶问，她今年都八十二了", 82)])
def test_an_age_needs_no_sui_after_this_year_or_the_person(text: str, age: int) -> None:
    r = read(ELDER, text, None, "zh").found["age"]
    assert r.value == age and r.sure  # the slot is about the elder: 我爸 is whom it asks about


def test_the_users_own_age_is_not_the_age_of_whom_the_slot_asks_about() -> None:
    assert "age" not in read(ELDER, "想帮我爸问问，他本地户口，我今年四十五，一直是我在照顾他", None, "zh").found
    aged = FormSpec.model_validate({"slots": {
        "age": {"type": "integer", "label": "年龄", "ask": "您今年多大？", "unit": "岁", "min": 18, "max": 70}}})
    got = read(aged, "我爸今年六十，我今年28", None, "zh").found["age"]
    assert got.value == 28 and got.sure
    assert "age" not in read(aged, "我是来投靠我儿子的，我儿子三十五了", None, "zh").found


def test_a_count_of_people_is_no_age_and_together_is_no_money() -> None:
    got = read(ELDER, "我妈一个人住在老房子里", None, "zh").found
    assert "age" not in got and got["alone"].value is True
    got = read(ELDER, "不是一个人住，跟我姑姑一家住一块", "alone", "zh").found
    assert "income" not in got and got["alone"].value is False
    assert "income" not in read(ELDER, "不是，和儿子住一块五年多了", "alone", "zh").found  # five years together
    # 老人, in every question, names none of them: "老人快九十了" is no income
    assert "income" not in read(ELDER, "老人快九十了", None, "zh").found


# A form of its own: a pet licence, with an age in months the author lets people give in 岁, and
# yes/no questions whose own words name other things.
PET = FormSpec.model_validate({"slots": {
    "age": {"type": "number", "label": "犬龄", "ask": "狗多大了？", "unit": "月", "units": {"岁": 12}, "min": 0, "max": 300},
    "shot": {"type": "boolean", "label": "疫苗", "ask": "今年打过疫苗吗？", "yes_words": ["打过疫苗"], "no_words": ["没打疫苗"]},
    "home": {"type": "boolean", "label": "住所", "ask": "您有固定住所吗？", "yes_words": ["自己的房子", "租房备案了", "合同备案了"],
             "no_words": ["借住", "租房没备案"]},
    "fixed": {"type": "boolean", "label": "绝育", "ask": "做过绝育吗？", "yes_words": ["做过绝育"], "no_words": ["没做绝育"]}}})


def test_a_yes_or_no_inside_another_questions_own_words_is_not_this_ones() -> None:
    got = read(PET, "没做绝育", "shot", "zh").found
    assert "shot" not in got and got["fixed"].value is False  # its 没 is the other question's no
    assert read(PET, "没打", "shot", "zh").found["shot"].value is False


def test_a_bare_no_taken_back_at_once_before_another_slots_words_says_nothing_of_this_one() -> None:
    got = read(PET, "no… 哦不对，说错了，去年就做过绝育了", "home", "zh").found
    assert "home" not in got and got["fixed"].value is True
    assert read(PET, "没有，不对，有的", "home", "zh").found["home"].value is True  # taken back and said again


def test_a_duration_guessed_for_another_slot_does_not_block_the_answer_but_a_restated_answer_does() -> None:
    got = read(PET, "我妈住她自己的房子，住了二十多年了", "home", "zh", {"age": 8}).found
    assert got["home"].value is True and got["home"].sure and not got["age"].sure
    # "不是，…" beside another answer restated is said of that one: no no to the question asked
    assert "fixed" not in read(PET, "不是，差不多两岁", "fixed", "zh", {"age": 8}).found
    # nor is a yes beside a number in the other slot's own unit: it may correct that one
    assert "fixed" not in read(PET, "三个月了，做过", "fixed", "zh", {"age": 8}).found
