"""Reading forms of the tests' own (a night-shift allowance, a child's place): a year of the
calendar, time still to come, a number said beside the yes that gates its slot, a question
beside a statement, and an age said as one. Each test fails on the code before its rule; the cases
after "not" guard what the rule must leave as it was."""

from __future__ import annotations

from plusn.agents.quantities import quantities
from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec

NIGHTS = FormSpec.model_validate({
    "slots": {
        "night": {"type": "boolean", "label": "夜班", "ask": "您是否值夜班？（是 / 否）",
                  "yes_words": ["值夜班", "上夜班", "夜班岗位", "通宵班"], "no_words": ["只上白班", "不上夜班"]},
        "night_years": {"type": "number", "label": "夜班年限", "ask": "夜班累计上了多少年？", "unit": "年",
                        "min": 0, "max": 45, "aliases": ["夜班年限", "夜班上了"]},
        "service": {"type": "number", "label": "工龄", "ask": "您的工龄是多少年？", "unit": "年",
                    "min": 0, "max": 45, "aliases": ["工龄", "参加工作"]},
        "age": {"type": "number", "label": "年龄", "ask": "您今年多大？", "unit": "岁", "min": 40, "max": 70,
                "aliases": ["年龄", "今年"]},
    },
    "tree": {"slot": "night", "cases": {
        "true": {"slot": "night_years", "when": [{"if": "value >= 5", "then": {"decision": "发放夜班津贴"}}],
                 "default": {"decision": "夜班年限不足"}},
        "false": {"slot": "service", "when": [{"if": "value >= 30", "then": {"decision": "发放工龄津贴"}}],
                  "default": {"slot": "age", "when": [{"if": "value >= 55", "then": {"decision": "转岗"}}],
                              "default": {"decision": "不予发放"}}}}},
})


def _read(text: str, asked: str | None = None) -> dict[str, tuple[object, bool]]:
    return {n: (r.value, r.sure) for n, r in read(NIGHTS, text, asked, "zh").found.items()}


def test_a_year_of_the_calendar_is_no_count_of_years() -> None:
    for year in ("九二年", "零八年", "一九九二年", "1992年", "08年", "九几年", "零几年"):
        assert quantities(f"{year}开始上的班") == [], year
    # 九二年 is 1992, not two years: the years of service are the thirty said after it
    assert _read("九二年参加工作的，工龄三十年了")["service"] == (30, True)
    assert "service" not in _read("零几年参加工作的", "service")
    # nor is the month after a year of the calendar a count of months (一八年三月 is March 2018)
    assert quantities("一八年三月进的厂") == [] and quantities("08年3月") == []
    # not: a count of one or the next (两三年, 七八年), a count with 十, a date's month after a year
    assert [(q.low, q.high) for q in quantities("上了七八年夜班")] == [(7, 8)]
    assert [q.value for q in quantities("干了十二年")] == [12]
    assert [q.value for q in quantities("两三年")] == [2]


def test_time_still_to_come_is_no_count_of_what_was_done() -> None:
    # 还得再干两年 and 再上三年 are years ahead, not the years of service or of nights
    assert "service" not in _read("工龄还得再干两年才够", "service")
    assert "night_years" not in _read("领导说夜班还要再上三年", "night_years")
    assert "service" not in _read("还差两年")
    # nor is what it leads to: "还差两年就满三十年了" is not thirty years
    for text in ("还差两年满三十年", "再干两年就干满三十年了", "还得再上两年班才够三十年", "还差两个来月满三十年"):
        assert "service" not in _read(text, "service"), text
    # not: years done ("工龄两年了"), a verb of no going on (再请两天: the leave asked for), or time
    # to come asked for
    assert _read("工龄两年了", "service")["service"] == (2, True)
    assert _read("工龄再就是两年", "service")["service"] == (2, True)
    leave = FormSpec.model_validate({"slots": {"days": {"type": "number", "ask": "请几天假？", "unit": "天"}}})
    assert read(leave, "还要再请三天", "days", "zh").found["days"].value == 3
    left = FormSpec.model_validate({"slots": {"left": {"type": "number", "ask": "还要多少年才能退休？", "unit": "年"}}})
    assert read(left, "还得再干两年", "left", "zh").found["left"].value == 2


def test_a_number_beside_the_yes_that_gates_its_slot_is_that_slot_s() -> None:
    # the nights' years are asked only after a yes to nights: a duration said in the same clause as
    # that yes (通宵班, a word the nights' years are not named by) is theirs, not the years of service
    assert _read("在急诊科上通宵班有十一年了") == {"night": (True, True), "night_years": (11, True)}
    # not: a number the clause names another slot for, or one in a clause of its own
    found = _read("一直值夜班，工龄十一年")
    assert found["service"] == (11, True) and "night_years" not in found
    found = _read("值夜班的，干了十一年")
    assert found.get("night_years", (None, False))[1] is False
    # nor the time since leaving it, or at another time: "离开通宵班十一年了" is no years of nights
    for text in ("上过通宵班，离开通宵班十一年了", "上过通宵班，调走十一年了", "上通宵班前在白班干了十一年"):
        assert _read(text).get("night_years", (None, False))[1] is False, text


def test_a_number_is_not_for_a_slot_behind_a_yes_no_one_said() -> None:
    # before anyone said they work nights, "十一年了" is the years of service, not of nights
    found = _read("一直没断过，十一年了")
    assert "night_years" not in found and found["service"][0] == 11
    # not: once the form holds that yes, either may be meant (both guesses, to be asked about)
    held = {n: r.value for n, r in read(NIGHTS, "一直没断过，十一年了", None, "zh", {"night": True}).found.items()}
    assert held == {"night_years": 11, "service": 11}


def test_a_question_of_the_case_leaves_a_statement_beside_it_standing() -> None:
    # "听说上夜班的有补贴？" asks of the rule; "我在急诊上夜班" beside it still says yes
    assert _read("我在急诊上夜班，听说上夜班的有补贴？")["night"] == (True, True)
    # not: a question alone says nothing, nor one beside a statement without the slot's words
    assert "night" not in _read("上夜班的有补贴吗？")
    assert "night" not in _read("上夜班的有补贴吗？我在急诊科")
    # not: a statement that may be of someone else, heard or planned
    for text in ("上夜班的有补贴吗？我老公上夜班", "上夜班的有补贴吗？听说我们科都上夜班", "上夜班有补贴吗？我打算上夜班",
                 "上夜班的有补贴吗？主任说我上夜班"):
        assert "night" not in _read(text), text


KID = FormSpec.model_validate({"slots": {
    "order": {"type": "enum", "label": "孩次", "ask": "这是第几个孩子？（老大 / 老二）",
              "options": {"老大": ["头胎"], "老二": ["二胎"]}},
    "months": {"type": "number", "label": "月龄", "ask": "现在多大了？（几个月或几岁）", "unit": "月",
               "units": {"岁": 12, "周岁": 12}, "min": 0, "max": 72},
    "fee": {"type": "number", "label": "月费", "ask": "每月费用多少元？", "unit": "元"},
}})


def test_an_age_said_as_one_names_the_slot_that_takes_ages() -> None:
    # 两岁三个月, 八个月大: an age, and the only slot that takes ages in 岁 is the child's
    def found(text: str, asked: str | None = None) -> dict[str, tuple[object, bool]]:
        return {n: (r.value, r.sure) for n, r in read(KID, text, asked, "zh").found.items()}
    assert found("宝宝两岁三个月")["months"] == (27, True)
    assert found("是老二，八个月大", "order") == {"order": ("老二", True), "months": (8, True)}
    # not: an age the user says of themselves, a duration that is no age, or a case supposed
    assert found("我今年五岁")["months"][1] is False
    assert "months" not in found("还差两个月三岁", "months")  # time to come, and what it leads to
    assert found("送托八个月了")["months"][1] is False
    assert found("如果宝宝两岁能领吗")["months"][1] is False
    # nor a difference, an age to come, or an age in a message of two children or of another's
    for text in ("宝宝比他表哥小两岁", "宝宝九月份满三岁", "等宝宝三岁了再送", "老二刚出生，老大三岁了", "邻居家孩子三岁",
                 "宝宝在托班，他哥哥五岁了", "宝宝三岁那年送的"):
        assert found(text)["months"][1] is False, text

