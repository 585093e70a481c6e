"""Reading a form of the tests' own (a repair under warranty): how far a negator reaches, a
thing's time over, and an English "no" of another slot's words. Each test fails on the code
before its rule; the cases after "not" guard what the rule must leave as it was."""

from __future__ import annotations

from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec

REPAIR = FormSpec.model_validate({
    "slots": {
        "action": {"type": "enum", "label": "处理方式", "ask": "您希望怎么处理？（退货 / 换货 / 维修）",
                   "options": {"退货": ["退掉", "退款"], "换货": ["换新", "换一台"], "维修": ["修理", "返修"]}},
        "warranty": {"type": "boolean", "label": "保修期", "ask": "产品还在保修期内吗？（是 / 否）",
                     "yes_words": ["在保修期", "还在保修期", "保修期内"],
                     "no_words": ["过了保修期", "保修期已过", "不在保修期", "出保了"]},
        "stalled": {"type": "boolean", "label": "商家拖延", "ask": "商家是不是一直拖着不给处理？（是 / 否）",
                    "yes_words": ["不给处理", "没处理", "不处理", "拖着"], "no_words": ["处理了", "及时处理", "正常处理"]},
        "receipt": {"type": "boolean", "label": "购买凭证", "ask": "您有购买凭证吗？（是 / 否）",
                    "yes_words": ["有发票", "有凭证", "have a receipt"],
                    "no_words": ["没发票", "没有凭证", "no receipt", "no invoice"]},
    },
    "tree": {"slot": "action", "cases": {
        "退货": {"decision": "退货"}, "换货": {"decision": "换货"},
        "维修": {"slot": "warranty", "cases": {
            "false": {"decision": "付费维修"},
            "true": {"slot": "stalled", "cases": {
                "true": {"decision": "投诉"},
                "false": {"slot": "receipt", "cases": {"true": {"decision": "免费维修"},
                                                       "false": {"decision": "补开凭证"}}}}}}}}},
})


def _found(text: str, asked: str | None = None) -> dict[str, object]:
    return {n: r.value for n, r in read(REPAIR, text, asked, "zh").found.items()}


def test_a_negator_reaches_no_further_than_the_word_that_links_what_happened_next() -> None:
    # 不 of 修不好 and 没 of 没修好 deny the mending, not what was done then
    assert _found("修了两次都修不好就退掉了")["action"] == "退货"
    assert _found("一直没修好，才决定退款的")["action"] == "退货"
    assert _found("不想退掉，想换新")["action"] == "换货"  # (a negator before the word still denies it)
    # a condition did not happen: its 就 ends no negator's reach
    assert "action" not in _found("不修好就退掉，还没想好")


def test_a_things_time_over_reads_the_way_the_authors_words_say_over() -> None:
    # 保修期 is "warranty period" in the dictionary: a thing whose time passes
    # over, the way the author's own words of it say over (过了保修期, 保修期已过: no words)
    assert _found("保修期早就过了", "warranty")["warranty"] is False
    assert _found("保修期还没过就坏了", "warranty")["warranty"] is True  # not over: still in it
    assert _found("保修期一年，早过了", "warranty")["warranty"] is False  # its length, then over
    assert "warranty" not in _found("保修期两年", "warranty")  # how long it lasts: asked again
    assert _found("还在保修期", "warranty")["warranty"] is True
    assert _found("保修期内", "warranty")["warranty"] is True


def test_an_english_no_of_another_slots_words_is_no_answer_to_the_question() -> None:
    found = _found("No receipt, the screen just went black one day", "stalled")
    assert found.get("receipt") is False and "stalled" not in found
    assert _found("No, they fixed it the same day", "stalled")["stalled"] is False  # a no that answers
