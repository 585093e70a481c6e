"""Reading a form of the tests' own (a parcel delivered late): a plain no that opens a reply, a
day named by its order, an option with nothing to do with it, a word with a direction inside it,
and the words a question is named by. Each test fails on the code before its rule; the cases
after "not" guard what the rule must leave as it was."""

from __future__ import annotations

from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec

PARCEL = FormSpec.model_validate({
    "slots": {
        "notified": {"type": "boolean", "label": "提前告知", "ask": "快递公司有没有提前通知您包裹会晚到？（是 / 否）",
                     "yes_words": ["提前通知了", "提前说了", "发了短信"],
                     "no_words": ["没通知", "没有通知", "没说", "到了门口才知道", "到门口才知道"]},
        "pending": {"type": "boolean", "label": "未处理的投诉", "ask": "还有没有没处理完的投诉？（是 / 否）",
                    "yes_words": ["还有投诉"], "no_words": ["都处理完了"]},
        "days": {"type": "number", "label": "晚到天数", "ask": "包裹比承诺的晚到了几天？", "unit": "天",
                 "min": 0, "max": 60, "aliases": ["晚到", "晚了"]},
        "cause": {"type": "enum", "label": "延误原因", "ask": "延误是什么原因？（天气 / 爆仓 / 地址错误）",
                  "options": {"天气": ["下雪", "暴雨"], "爆仓": ["分拣中心爆仓", "件太多"], "地址错误": ["地址写错"]}},
        "signed": {"type": "boolean", "label": "按时签收", "ask": "快递送到时您在家签收了吗？（是 / 否）",
                   "yes_words": ["签收了", "签了"], "no_words": ["来晚了", "没签收"]},
        "outcome": {"type": "enum", "label": "包裹去向", "ask": "包裹现在在哪？（已签收 / 退回）",
                    "options": {"已签收": ["收到了"], "退回": ["被退回", "退回了"]}},
    },
    "tree": {"slot": "notified", "cases": {
        "true": {"decision": "按约定处理"},
        "false": {"slot": "days", "when": [{"if": "value < 3", "then": {"decision": "致歉"}}],
                  "default": {"decision": "赔付运费"}}}},
})


def _found(text: str, asked: str | None = None) -> dict[str, object]:
    return {n: r.value for n, r in read(PARCEL, text, asked, "zh").found.items()}


def test_a_plain_no_then_just_the_question_restated_is_read_neither_way() -> None:
    # "就是包裹到了才通知的" restates the question's 包裹 and 通知, a yes by the restatement, after a
    # plain no: the two disagree (it was told, but late), and the question comes again
    assert "notified" not in _found("没有，就是包裹到了才通知的", "notified")
    assert "notified" not in _found("不是，就是快递到了才通知我", "notified")
    # not: a reply that opens with neither still reads by how it restates the question, and a
    # plain yes opener is a yes
    assert _found("还有两条没处理完", "pending")["pending"] is True
    assert _found("是，就是短信发得晚", "notified")["notified"] is True


def test_a_day_named_by_its_order_and_an_hour_counts_no_days() -> None:
    # 第二天早上 is the next morning, 第3天下午 the third day's afternoon: a moment, not how many
    assert "days" not in _found("第二天早上才送到", "days")
    assert "days" not in _found("说好第3天下午送，结果没送", "days")
    assert _found("第二天早上也没到，一共晚了四天", "days")["days"] == 4
    # not: a count of days said plainly, or an order that counts what has passed (第五天 of waiting)
    assert _found("晚了两天", "days")["days"] == 2
    assert _found("今天是第五天了", "days")["days"] == 5


def test_an_option_said_to_have_nothing_to_do_with_it_is_denied() -> None:
    # 跟天气没关系 denies the weather as the cause, and a later mention of the weather
    # ("天气好得很") does not bring it back
    found = _found("说是分拣中心爆仓了，跟天气没关系，那天天气好得很", "cause")
    assert found["cause"] == "爆仓"
    assert "cause" not in _found("跟天气没关系", "cause")  # (of three causes, two are left)
    # not: a relation said, or a negator that denies nothing of it
    assert _found("跟天气有关系", "cause")["cause"] == "天气"


def test_no_complement_of_direction_stands_inside_a_word_before_its_done() -> None:
    # 原来晚到了 holds 来晚了 with 到 before its 了: 晚到 is arriving late, another verb
    assert "signed" not in _found("原来晚到了三天", "signed")
    assert _found("快递员来晚了", "signed")["signed"] is False  # the word itself
    # not: another character inside ("来得晚了"), or one before the 了 that says how it was done
    assert _found("快递员来得晚了", "signed")["signed"] is False
    assert _found("早就签收过了", "signed")["signed"] is True


def test_what_two_no_words_share_names_nothing() -> None:
    # 门口 is shared by two no words: with them it says no; alone it does not name the question,
    # so a clause with it that restates the question's 包裹 and 到 answers nothing
    assert "notified" not in _found("到了门口才发现包裹晚到了")
    assert "notified" not in _found("我们到了门口才发现包裹放在了快递柜")
    assert _found("到了门口才知道", "notified")["notified"] is False  # (the no word itself)
    # not: a part a yes word and a no word share names it ("通知"), and is read as ever
    assert _found("没有通知", "notified")["notified"] is False


def test_a_plain_no_before_a_case_supposed_answers_it() -> None:
    # the case supposed (要是提前通知了) says only why; the 没有 before it answers, as a guess
    r = read(PARCEL, "没有啊，要是提前通知了我就不会白等一天了", "notified", "zh").found["notified"]
    assert (r.value, r.sure) == (False, False)
    # not: a case supposed alone, or after a yes, most often a regret ("是啊，要是…多好")
    assert "notified" not in _found("要是提前通知了我就不会白等一天了", "notified")
    assert "notified" not in _found("是啊，要是提前通知了该多好", "notified")


def test_a_long_while_is_no_half_a_day() -> None:
    # 老半天, 好半天: "ages", not twelve hours
    assert "days" not in _found("等了老半天", "days")
    assert "days" not in _found("好半天才送到", "days")
    # not: half a day said plainly
    assert _found("晚了半天", "days")["days"] == 0.5


def test_an_hour_of_the_clock_counts_no_hours() -> None:
    # 晚上10点 and 六点多 say when, not how long; the count said with them is the answer
    hours = FormSpec.model_validate({
        "slots": {"delay": {"type": "number", "label": "延误时长", "ask": "晚了几个小时？", "unit": "小时",
                            "units": {"个小时": 1, "钟头": 1, "个钟头": 1}, "min": 0, "max": 72}},
        "tree": {"slot": "delay", "when": [{"if": "value < 4", "then": {"decision": "不补偿"}}],
                 "default": {"decision": "补偿"}}})
    assert "delay" not in read(hours, "原定晚上10点，第二天早上6点才起飞", "delay", "zh").found
    assert "delay" not in read(hours, "8点", "delay", "zh").found
    assert read(hours, "从中午十二点等到六点多，得有六个钟头", "delay", "zh").found["delay"].value == 6
    # not: a decimal said with 点, or hours said plainly
    assert read(hours, "一点五个小时", "delay", "zh").found["delay"].value == 1.5
    assert read(hours, "晚了三个小时", "delay", "zh").found["delay"].value == 3
