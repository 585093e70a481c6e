"""Reading a form of the tests' own (a parcel delivered late): a plain yes or no that opens a
reply, and an ordinal that counts nothing. Each test fails on the code before its rule; the cases
after "not" guard what the rule must leave as it was."""

from __future__ import annotations

from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec

PARCEL = FormSpec.model_validate({
    "slots": {
        "notified": {"type": "boolean", "label": "提前告知", "ask": "快递公司有没有提前通知您包裹会晚到？（是 / 否）",
                     "yes_words": ["提前通知了", "提前说了", "发了短信"], "no_words": ["没通知", "没有通知", "没说"]},
        "pending": {"type": "boolean", "label": "未处理的投诉", "ask": "还有没有没处理完的投诉？（是 / 否）",
                    "yes_words": ["还有投诉"], "no_words": ["都处理完了"]},
        "days": {"type": "number", "label": "晚到天数", "ask": "包裹比承诺的晚到了几天？", "unit": "天",
                 "min": 0, "max": 60},
    },
    "tree": {"slot": "notified", "cases": {
        "true": {"decision": "按约定处理"},
        "false": {"slot": "days", "when": [{"if": "value < 3", "then": {"decision": "致歉"}}],
                  "default": {"decision": "赔付运费"}}}},
})


def _found(text: str, asked: str | None = None) -> dict[str, object]:
    return {n: r.value for n, r in read(PARCEL, text, asked, "zh").found.items()}


def test_a_plain_no_that_opens_the_reply_answers_whatever_the_rest_restates() -> None:
    # "就是包裹到了才通知的" restates the question's 包裹 and 通知 and holds the 是 of 就是; the
    # reply said no first
    assert _found("没有，就是包裹到了才通知的", "notified")["notified"] is False
    assert _found("不是，就是快递到了才通知我", "notified")["notified"] is False
    assert _found("是，就是短信发得晚", "notified")["notified"] is True
    # not: a reply that opens with neither still reads by how it restates the question
    assert _found("还有两条没处理完", "pending")["pending"] is True


def test_an_ordinal_counts_no_days() -> None:
    # 第二天 is the next day, 第3天 the third: which day, never how many
    assert "days" not in _found("第二天才送到", "days")
    assert "days" not in _found("说好第3天送，结果没送", "days")
    assert _found("第二天也没到，一共晚了四天", "days")["days"] == 4
    # not: a count of days said plainly
    assert _found("晚了两天", "days")["days"] == 2
