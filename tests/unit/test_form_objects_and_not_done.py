"""Reading forms of the tests' own (a club's membership renewal): a verb whose object is left
out (签好了, 没欠), a time of not doing, and a correction that names the answer it takes back.
(A request that answers nothing by meaning is tested in test_form_answers_by_method.py, beside
its counting model.) Each test fails on the code before its rule; the cases after "not" guard
what the rule must leave as it was."""

from __future__ import annotations

from typing import Any

from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec

CLUB = FormSpec.model_validate({
    "slots": {
        "plan": {"type": "enum", "label": "会员类型", "ask": "您要续的是哪种会员卡？（年卡 / 季卡 / 次卡）",
                 "options": {"年卡": ["年卡", "全年卡"], "季卡": ["季卡", "三个月卡"], "次卡": ["次卡", "计次卡"]}},
        "signed": {"type": "boolean", "label": "续约协议", "ask": "续约协议签字了吗？",
                   "yes_words": ["签字了", "已签字"], "no_words": ["没签字", "还没签字"]},
        "owes": {"type": "boolean", "label": "欠费情况", "ask": "会员账户目前有没有欠费？",
                 "yes_words": ["欠费了", "欠着"], "no_words": ["没欠费", "不欠费"]},
        "locker": {"type": "boolean", "label": "退还柜子", "ask": "之前租的储物柜退了吗？",
                   "yes_words": ["退了", "退掉了"], "no_words": ["没退", "还没退"]},
        "paid": {"type": "integer", "label": "连续缴费时长", "ask": "会费已经连续交了多长时间？", "unit": "个月",
                 "min": 0, "max": 240, "aliases": ["交会费", "缴费"]},
        "stay": {"type": "integer", "label": "居住时长", "ask": "您在本地住了多久？", "unit": "个月",
                 "min": 0, "max": 600, "aliases": ["住了"]},
        "room": {"type": "number", "label": "储物间面积", "ask": "要租的储物间多大（平方米）？", "unit": "平方米",
                 "units": {"平": 1, "平米": 1}, "min": 1, "max": 50, "aliases": ["储物间"]},
    },
    "tree": {"slot": "signed", "cases": {"false": {"decision": "先签协议"},
                                         "true": {"slot": "owes", "cases": {"true": {"decision": "先补缴"},
                                                                            "false": {"decision": "可以续卡"}}}}},
})


def _read(text: str, asked: str | None = None, values: dict[str, Any] | None = None) -> dict[str, tuple[object, bool]]:
    return {n: (r.value, r.sure) for n, r in read(CLUB, text, asked, "zh", values).found.items()}


def test_a_verb_whose_object_is_left_out_is_still_the_slots() -> None:
    assert _read("签好了", "signed")["signed"] == (True, True)  # 签字, its 字 left out
    assert _read("没欠", "owes")["owes"] == (False, True)  # 欠费
    assert _read("从来没欠过", "owes")["owes"] == (False, True)  # never owed: not now either
    assert _read("还欠着呢", "owes")["owes"] == (True, True)
    assert _read("柜子上个月刚退掉", "locker")["locker"] == (True, True)  # a result after the verb: done
    # not: a verb with another object ("签证"), a wish, or an owing that was once
    assert "signed" not in _read("签证还没下来", "signed")
    assert _read("以前欠过", "owes").get("owes") != (True, True)
    assert _read("柜子要退掉", "locker").get("locker") != (True, True)
    # and beside more, or of a time before, only a guess: what else is said may take it back
    for text, slot in (("签了，还差个章", "signed"), ("签好了，章要下周才能盖", "signed"), ("没欠，断过一个月", "owes"),
                       ("没欠过，就是上个月忘了交", "owes"), ("以前没欠过", "owes")):
        assert not _read(text, slot).get(slot, (None, False))[1], text


def test_a_time_of_not_doing_is_no_time_of_doing() -> None:
    for text in ("两个月没交了", "最近两个月忘了交会费", "断缴了三个月"):
        assert _read(text, "paid").get("paid", (None,))[0] is None, text
    # not: a break denied ("三年没断过" is three years paid), a clause of its own, a stop after the
    # time paid, a negator of another verb, or a bound
    assert _read("三年没断过", "paid")["paid"] == (36, True)
    assert _read("一直没停过，交了三年", "paid")["paid"] == (36, True)
    assert _read("交了三年就停了", "paid")["paid"] == (36, True)
    assert _read("交了四年没换过地方", "paid")["paid"] == (48, True)
    assert _read("住了两年没回过老家", "stay")["stay"] == (24, True)
    assert _read("没满两年", "paid")["paid"][0] < 24
    assert "paid" in _read("还没交满一年", "paid")  # a bound, not a time of not paying


def test_a_correction_that_names_the_answer_it_takes_back_corrects_that_slot() -> None:
    held = {"stay": 8}
    assert _read("哎呀说错了，不是八个月，是两个月", None, held) == {"stay": (2, True)}
    assert _read("说错了，不是三平，是五平", None, {"room": 3})["room"] == (5, True)  # in the slot's own unit word
    # not: without a word of correction, where the number is still only a guess for either slot
    assert _read("不是八个月，是两个月", None, held).get("stay") != (2, True)
    # nor where what follows is no number in the same unit right after, or its clause names another
    # slot: "她72了" is an age, not 72 months
    assert _read("不对，不是八个月，刚过去没几天，她72了", None, held).get("stay") != (72, True)
    assert _read("说错了，不是八个月，缴费两个月", None, held).get("stay") != (2, True)
    # nor where the number denied is held by no slot, or by two
    assert _read("说错了，不是五个月，是两个月", None, held).get("stay") != (2, True)
    assert _read("说错了，不是八个月，是两个月", None, {"stay": 8, "paid": 8}).get("stay") != (2, True)
