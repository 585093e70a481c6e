"""A yes/no slot's own verb, learned from its author's words and said back in words no list holds
("会费一直交着", "还没去办"); a count said in another slot's unit; the "per" of a rate; an option
said with the slot's word against one said in passing; and the rules' yes or no against an answer
already given. On a club-membership form of the tests' own."""

from __future__ import annotations

import pytest

from plusn.agents import forms
from plusn.agents.cues import cue_words
from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec
from plusn.agents.verbs import verbs

CLUB = FormSpec.model_validate({
    "slots": {
        "origin": {"type": "enum", "label": "会员籍贯", "ask": "您是本地会员还是外地会员？",
                   "options": {"本地会员": ["本地", "本地人"], "外地会员": ["外地", "外地人"]}},
        "dues": {"type": "boolean", "label": "会费", "ask": "您目前是否按月缴纳会费？（是 / 否）",
                 "yes_words": ["在交会费", "交了会费", "已缴纳"], "no_words": ["没交会费", "未缴纳", "还没交"]},
        "card": {"type": "boolean", "label": "门禁卡", "ask": "门禁卡办了吗？（是 / 否）",
                 "yes_words": ["办了门禁卡", "已办门禁卡"], "no_words": ["没办门禁卡", "还没办"]},
        "months": {"type": "integer", "label": "入会月数", "ask": "您入会多少个月了？", "unit": "月", "min": 0, "max": 600},
        "family": {"type": "integer", "label": "家庭人数", "ask": "家里几口人一起入会？", "unit": "人", "units": {"口": 1},
                   "min": 1, "max": 20},
        "fee": {"type": "number", "label": "月收入", "ask": "您月收入大约多少元？", "unit": "元", "min": 0, "max": 1000000},
    },
    "tree": {"slot": "dues", "cases": {
        "false": {"decision": "请先缴纳会费"},
        "true": {"slot": "card", "cases": {"false": {"decision": "请先办门禁卡"}, "true": {"decision": "可以入场"}}}}},
})


def _said(text: str, slot: str, asked: str | None) -> bool | None:
    r = read(CLUB, text, asked, "zh").found.get(slot)
    return None if r is None or not r.sure else r.value


def test_the_verb_is_learned_from_words_that_hold_it_both_ways() -> None:
    dues = CLUB.slots["dues"]
    found, nouns = verbs(dues.yes_words, dues.no_words, cue_words(CLUB, "dues"))
    assert {(v.word, v.plain, v.ongoing) for v in found} == {("交", True, True), ("缴纳", True, False)}
    assert "会费" in nouns and not any("交" in n for n in nouns)  # the thing paid is no verb
    card = CLUB.slots["card"]
    found, _ = verbs(card.yes_words, card.no_words, cue_words(CLUB, "card"))
    assert found == ()  # 办 is "do" of anything (合同办好了 says nothing of a filing): no slot's own verb
    found, _ = verbs(["开了证明", "已开证明"], ["没开证明", "还没开"], ["证明"])
    assert [(v.word, v.ongoing) for v in found] == [("开", False)]  # a thing done, not an activity
    # a noun had is no verb: 没有X against 有X says nothing of doing
    assert verbs(["有会员卡"], ["没有会员卡"], ["会员卡"])[0] == ()


@pytest.mark.parametrize(("text", "value"), [
    ("交着呢", True), ("交的", True), ("会费一直在交", True), ("会费还在交", True), ("入会当月就开始交了", True),
    ("交了三年了", True), ("会费才交了两个月", True),
    ("还没交", False), ("公司没给交", False), ("会费不在这边交", False), ("交不起", False),
    ("要交了", None), ("以前交过", None), ("交通不方便", None), ("交了没？", None),
    ("如果交的话", None), ("先审核才给交", None),
])
def test_a_reply_that_says_the_verb_answers_the_question(text: str, value: bool | None) -> None:
    assert _said(text, "dues", "dues") is value


@pytest.mark.parametrize(("text", "value"), [
    ("办好了", True), ("门禁卡早就办了", True), ("还没去办", False),
    ("正在办", None),  # a thing done, said under way: neither
    ("没有提前去办", False),  # a negator further off is left to the plain 没有 that opens the reply
])
def test_a_thing_done_is_done_only_when_said_done(text: str, value: bool | None) -> None:
    assert _said(text, "card", "card") is value


def test_said_in_passing_the_verb_counts_only_with_the_slot_named() -> None:
    assert _said("会费一直交着，门禁卡还没办", "dues", None) is True
    assert _said("会费一直交着，门禁卡还没办", "card", None) is False
    assert _said("房租一直交着", "dues", None) is None  # the verb said of something else


def test_a_count_in_another_slots_unit_is_that_slots() -> None:
    got = read(CLUB, "我们家两口人", "months", "zh")
    assert got.found["family"].value == 2 and "months" not in got.found


def test_the_one_of_a_rate_is_no_duration() -> None:
    for text in ("一个月收入三千左右", "about 3000 yuan a month"):
        assert "months" not in read(CLUB, text, "fee", "zh").found
    assert read(CLUB, "入会一个月", "months", "zh").found["months"].value == 1


def test_an_option_said_with_the_slots_word_wins_over_one_said_in_passing() -> None:
    got = read(CLUB, "外地会员，在本地上班三年了", "origin", "zh")
    assert got.found["origin"].value == "外地会员"
    assert "origin" not in read(CLUB, "本地人，也算半个外地人", "origin", "zh").found  # both said as the kind


def test_the_rules_guess_against_an_answer_the_user_gave_is_not_taken() -> None:
    state = forms.FormState()
    forms.turn(CLUB, state, "会费在交", "zh")
    t = forms.turn(CLUB, state, "门禁卡办了", "zh")
    assert t.decision is not None and t.decision["decision"] == "可以入场"
    t = forms.turn(CLUB, state, "我老婆的门禁卡还没办", "zh")  # said of someone else: not taken
    assert state.values["card"] is True


def test_a_correction_names_the_answer_it_corrects_beside_the_new_one() -> None:
    values = {"origin": "本地会员", "months": 39}
    got = read(CLUB, "哦我说错了，我是外地会员，本地那是我老婆", None, "zh", values)
    assert got.found["origin"].value == "外地会员"  # 本地 is the answer being corrected
    got = read(CLUB, "说错了，入会是四十一个月，三十九个月是我老婆的", None, "zh", values)
    assert got.found["months"].value == 41
    # without a correction word the two options say nothing certain
    assert "origin" not in read(CLUB, "我是外地会员，本地会员是我老婆", None, "zh", values).found


@pytest.mark.parametrize("text", [
    "交过，后来没通过",  # another clause takes it back
    "办了，还没拿到", "办了两年，去年到期了",
    "会费在老家交的",  # another place
    "我老婆在交",  # another person
    "单位说帮我交", "打算这两天交", "录取了就交", "事后补的会费", "不用交",  # not said done
    "还没，在哪交呢",  # a question, whatever its 呢
])
def test_the_verb_is_no_certain_yes_where_the_reply_says_more(text: str) -> None:
    r = read(CLUB, text, "dues", "zh").found.get("dues")
    assert r is None or not r.sure or r.value is False


def test_a_hedged_verb_is_a_guess_and_a_closing_ne_of_a_statement_asks_nothing() -> None:
    r = read(CLUB, "好像在交吧", "dues", "zh").found["dues"]
    assert r.value is True and not r.sure
    for text in ("没有呢", "没呢", "还没交呢"):
        assert _said(text, "dues", "dues") is False


def test_a_compound_duration_with_digits_and_the_place_something_is_done() -> None:
    assert read(CLUB, "一年零6个月", "months", "zh").found["months"].value == 18
    got = read(CLUB, "外地会员，在本地上班三年了", "origin", "zh")  # 本地 is only where they work
    assert got.found["origin"].value == "外地会员"
    for text in ("外地的，老公是本地会员", "本地的，以前是外地会员"):  # said of someone else, or of before
        assert "origin" not in read(CLUB, text, "origin", "zh").found


@pytest.mark.parametrize("text", [
    "交了，换工作后停了", "交了两年，上个月断了",  # stopped: the yes taken back
    "补交的会费",  # made up later
    "交了，正在审核", "会费交了，还在走流程",  # something still under way
])
def test_a_yes_taken_back_leaves_the_reply_unread(text: str) -> None:
    r = read(CLUB, text, "dues", "zh").found.get("dues")
    assert r is None or r.value is False or not r.sure


def test_another_slots_own_word_takes_nothing_back() -> None:
    # the 没 of 没办门禁卡 is said of the card: the dues are paid
    assert _said("没办门禁卡，会费交着", "dues", "dues") is True


def test_the_amount_of_a_rate_is_no_count_of_months() -> None:
    got = read(CLUB, "刚来一个月工资才300", "months", "zh")
    assert "months" not in got.found


@pytest.mark.parametrize("asked", [None, "card"])
def test_the_authors_word_of_a_yes_is_no_certain_yes_when_a_later_clause_takes_it_back(asked: str | None) -> None:
    # "有房子，不过已经卖了": the words of a yes, then a clause that loses it
    for text in ("办了门禁卡，不过已经丢了", "已办门禁卡，后来又退回去了"):
        assert _said(text, "card", asked) is None, text
    # a clause before it, of something else, takes nothing back ("合同到期后没找到工作，现在在领")
    assert _said("会费没什么问题，办了门禁卡", "card", asked) is True
    assert _said("办了门禁卡，会费在交", "card", asked) is True


def test_the_authors_word_of_what_was_before_a_now_is_no_answer() -> None:
    # "以前有房，现在没了": what is now answers, in the slot's own words, as a guess to confirm
    assert _said("以前办了门禁卡，现在没了", "card", None) is None
    r = read(CLUB, "以前办了门禁卡，现在没办门禁卡了", "card", "zh").found["card"]
    assert r.value is False and not r.sure
    # "以前有居住证，现在没过期": the 没 of another verb says nothing of having one now
    assert read(CLUB, "以前办了门禁卡，现在没过期", "card", "zh").found.get("card") is None
    assert _said("以前没办门禁卡，现在办了", "card", "card") is None


def test_a_double_negative_or_no_need_is_no_plain_answer() -> None:
    for text in ("没什么不能办的", "不用办门禁卡了吧", "不需要办门禁卡", "之前没办门禁卡，现在不用办了吧"):
        assert read(CLUB, text, "card", "zh").found.get("card") is None, text
    # a plain answer first stands: "没有，不用担心", "登记过了，不用再登记了吧"
    assert _said("没有，不用担心", "card", "card") is False
    assert _said("办了门禁卡，不用再办了吧", "card", "card") is True
    # of the author's words, only the one negated twice says nothing ("没啥不合适的，质量问题")
    issue = FormSpec.model_validate({"slots": {"issue": {"type": "boolean", "label": "质量问题", "ask": "有质量问题吗？",
                                                         "yes_words": ["质量问题"], "no_words": ["不合适", "买错了"]}}})
    assert read(issue, "没啥不合适的，是质量问题，开线了", "issue", "zh").found["issue"].value is True
    assert read(issue, "没什么不合适的，就是买错了", "issue", "zh").found["issue"].value is False


def test_a_take_back_is_a_loss_not_a_loss_denied() -> None:
    assert _said("办了门禁卡，没过期", "card", "card") is True
    assert _said("办了门禁卡，不过过期了", "card", "card") is None
    assert _said("以前办了门禁卡现在丢了", "card", "card") is None  # past and now in one clause


def test_a_copula_with_more_after_it_is_no_yes() -> None:
    # "房子是租的": 是 says what the thing is; "门禁卡是物业给的" no yes either
    for text in ("门禁卡是物业那边管的", "是物业那边管的"):
        assert _said(text, "card", "card") is None, text
    assert _said("门禁卡是有的", "card", "card") is True
    assert _said("是的，门禁卡有", "card", "card") is True


@pytest.mark.parametrize(("text", "value"), [("门禁卡也办了", True), ("门禁卡早就弄好了", True), ("门禁卡要办了", None),
                                             ("门禁卡没了", False), ("门禁卡快办下来了", None)])
def test_a_predicate_with_its_le_says_done_or_lost(text: str, value: bool | None) -> None:
    from plusn.agents.predicates import completed

    assert completed(text, 3) is value


def test_a_day_named_by_how_long_ago_it_was_counts_days_only_where_time_elapsed_is_asked() -> None:
    parcel = FormSpec.model_validate({"slots": {
        "since": {"type": "integer", "label": "到货天数", "ask": "包裹到了几天了？", "unit": "天", "min": 0, "max": 365,
                  "aliases": ["到货", "收到"]},
        "leave": {"type": "number", "label": "请假天数", "ask": "您要请几天？", "unit": "天", "min": 0.5, "max": 30}}})
    for text, days in (("前天收到的", 2), ("大前天收到的", 3), ("今天上午刚收到", 0), ("昨天下午到货的", 1),
                       ("到今天75天", 75), ("我昨天去查了，到货十天了", 10)):
        assert read(parcel, text, "since", "zh").found["since"].value == days, text
    assert read(parcel, "昨天收到的，想退", None, "zh").found["since"].sure  # named by its word
    # asked, the question names the event: "今天上午刚到的" needs no word of its own (unasked, it does)
    assert read(parcel, "今天上午刚到的", "since", "zh").found["since"].value == 0
    assert "since" not in read(parcel, "今天上午刚到的", None, "zh").found
    # a day that is not the time of the event: the day of asking, a day on the way
    for text in ("上个月到的，今天才来问", "还没收到，快递昨天还在路上", "上个月收到的，昨天打开的", "昨天发货的",
                 "三月份到货的，今天拿到的收到的发票"):
        assert read(parcel, text, "since", "zh").found.get("since") is None, text
    # a question of how many, not how long ago: 昨天 is no count of days
    assert "leave" not in read(parcel, "昨天就想请了", "leave", "zh").found


def test_a_no_of_any_negates_the_authors_word_and_asks_nothing() -> None:
    # "没啥质量问题", "没什么质量问题": 啥 and 什么 after 没 are "any", no question and no yes
    club = FormSpec.model_validate({"slots": {"issue": {"type": "boolean", "label": "质量问题", "ask": "有质量问题吗？",
                                                        "yes_words": ["质量问题", "坏了"], "no_words": ["没坏"]}}})
    for text in ("没啥质量问题", "没什么质量问题，就是不想要了", "没有什么质量问题"):
        r = read(club, text, "issue", "zh").found["issue"]
        assert r.value is False and r.sure, text
    assert "issue" not in read(club, "有什么质量问题", "issue", "zh").found


def test_a_correction_after_a_quantity_in_another_slots_unit_corrects_that_one() -> None:
    # "两百多块吧，哦不对，三百出头": not a new number of months
    state = forms.FormState()
    state.values["months"] = 1
    got = read(CLUB, "两百多块吧，哦不对，是三百出头", "dues", "zh", state.values)
    assert "months" not in got.found
    assert read(CLUB, "五个月，哦不对，是四", "dues", "zh", state.values).found["months"].value == 4


def test_an_amounts_shorthand_is_no_count_of_months() -> None:
    # "1.8k" to "how many months?" is the income said early, not 1800 months
    assert "months" not in read(CLUB, "1.8k", "months", "zh").found
    assert read(CLUB, "1.8k", "fee", "zh").found["fee"].value == 1800


def test_a_thing_now_done_updates_a_no() -> None:
    # "出生证明今天已经办好了" after "还没开": the facts changed, no contradiction to ask about
    def run(*texts: str) -> forms.FormState:
        state = forms.FormState()
        for text in texts:
            forms.turn(CLUB, state, text, "zh")
        return state

    state = run("会费在交", "门禁卡还没办", "刚去物业问了，门禁卡今天已经办好了")
    assert state.values["card"] is True and state.conflict is None
    # no word of time, a thing made up later, a contrast or another time: which is right?
    for text in ("门禁卡办好了", "现在已经补办了门禁卡", "门禁卡已经办好了，不过是别人的", "去年办好了门禁卡，现在已经办好了",
                 "我想起来了，门禁卡上个月办好了"):
        state = run("会费在交", "门禁卡还没办", text)
        assert state.values["card"] is False and state.conflict is True, text


def test_no_update_where_the_question_asks_what_was_done_before() -> None:
    # "就医之前有没有办理备案？" — "现在已经办了备案": too late for that visit; which is right?
    filed = FormSpec.model_validate({"slots": {
        "filed": {"type": "boolean", "label": "备案", "ask": "就医之前有没有办理备案？", "yes_words": ["备案了"], "no_words": ["没有备案"]}},
        "tree": {"slot": "filed", "cases": {"true": {"decision": "可直接结算"}, "false": {"decision": "需手工报销"}}}})
    state = forms.FormState()
    forms.turn(filed, state, "没有备案", "zh")
    forms.turn(filed, state, "现在已经备案了", "zh")
    assert state.values["filed"] is False and state.conflict is True


def test_mei_before_a_noun_is_the_authors_meiyou() -> None:
    # "没罚单" is "没有罚单" (as 没房 is 没有房): the author's no word, certain even where the
    # question asks of what is not done, which makes 没 before a verb only a guess
    tickets = FormSpec.model_validate({"slots": {"tickets": {
        "type": "boolean", "label": "未处理的罚单", "ask": "还有没有未处理的罚单？",
        "yes_words": ["有罚单"], "no_words": ["没有罚单"]}}})
    for text in ("没罚单", "车没罚单"):
        r = read(tickets, text, "tickets", "zh").found["tickets"]
        assert r.value is False and r.sure, text
    assert read(tickets, "有罚单", "tickets", "zh").found["tickets"].value is True
    # only where the word ends: "没房贷" is no "没有房"
    house = FormSpec.model_validate({"slots": {"house": {
        "type": "boolean", "label": "住房", "ask": "您名下有住房吗？", "yes_words": ["有房"], "no_words": ["没有房"]}}})
    got = read(house, "没房贷", None, "zh").found.get("house")
    assert got is None or not got.sure


LEASE = FormSpec.model_validate({
    "slots": {
        "filed": {"type": "boolean", "label": "住所", "ask": "您的住所是否已备案？（是 / 否）",
                  "yes_words": ["租房备案了", "合同备案了"], "no_words": ["租房没备案"]},
        "months": {"type": "integer", "label": "居住月数", "ask": "您住了多少个月？", "unit": "月", "min": 0, "max": 600},
    },
    "tree": {"slot": "filed", "cases": {"false": {"decision": "请先备案"}, "true": {"decision": "可以办理"}}},
})


def test_a_word_in_a_nouns_place_names_the_slot_and_what_is_to_come_is_no_yes() -> None:
    def said(text: str, asked: str | None) -> bool | None:
        r = read(LEASE, text, asked, "zh").found.get("filed")
        return None if r is None or not r.sure else r.value

    # 合同 stands where 租房, which names the slot, stands before its verb: it names the slot too
    _, nouns = verbs(LEASE.slots["filed"].yes_words, LEASE.slots["filed"].no_words, cue_words(LEASE, "filed"))
    assert "合同" in nouns
    assert "已经" not in verbs(["已经接种", "接种了疫苗"], ["没接种"], ["疫苗"])[1]  # an adverb is no thing
    assert said("合同上周就已经备案好了", None) is True
    assert said("租房备案了?", "filed") is None and said("合同备案了？", "filed") is None  # asked back, by its mark
    assert said("这算租房备案了吧？", "filed") is True  # a belief put for agreement
    for text in ("合同备案了吗，我也不清楚", "租房备案了吗,不知道", "租房备案了呢，我问问"):  # a question before a comma
        assert said(text, "filed") is None, text
    # a report is no certain yes (reading one as done was taken back after reviews: hearsay,
    # another's thing, doubt said after it); a question mark asks
    for text in ("房东说下周帮我备案", "他说合同要下周才能备案", "房东说合同可以备案", "听说已经备案了", "说不定已经备案了",
                 "已经备案了？", "中介说已经在帮我备案"):
        assert said(text, "filed") is not True, text
    # a modal after what is still to come is no yes word where the question asks what is done:
    # "残疾证要下个月才能拿到" once read a sure yes
    for text in ("下个月才能备案", "住所要等下周才可以办好", "合同要下个月才能备案"):
        r = read(LEASE, text, "filed", "zh").found.get("filed")
        assert r is None, (text, r)
    assert said("能", "filed") is True and said("可以", "filed") is True
    # where it asks what one can do, or will, a time to come answers ("明天能提供")
    can = FormSpec.model_validate({**LEASE.model_dump(), "slots": {**LEASE.model_dump()["slots"], "filed": {
        **LEASE.model_dump()["slots"]["filed"], "ask": "您能提供备案证明吗？（是 / 否）"}}})
    assert read(can, "备案证明明天能提供", "filed", "zh").found["filed"].value is True


def test_a_count_with_the_measure_word_kou_is_no_amount() -> None:
    # "两口子都上班，一个人差不多五千多块" once read a monthly income of 2 元
    pay = FormSpec.model_validate({"slots": {
        "income": {"type": "number", "label": "人均月收入", "ask": "您家人均月收入多少元？", "unit": "元", "min": 0, "max": 100000},
        "months": {"type": "integer", "label": "居住月数", "ask": "住了几个月？", "unit": "月", "min": 0, "max": 600}},
        "tree": {"slot": "income", "when": [{"if": "value <= 2000", "then": {"decision": "可以"}}], "default": {"decision": "不可以"}}})
    assert read(pay, "两口子都上班，一个人五千多块", "income", "zh").found["income"].value == 5000
    assert read(pay, "3口人，一个月五千", "income", "zh").found["income"].value == 5000
