"""Reading forms of the tests' own (a library card's renewal): a count said
to be none, about a round number of ten thousand, what is said now against what was said of
before, a correction inside one message, a unit's tenth said after it (一米八), and a thing counted
in the slot's measure word. Each test fails on the code before its rule; the cases after "not"
guard what the rule must leave as it was."""

from __future__ import annotations

from plusn.agents.quantities import quantities
from plusn.agents.recognize import read
from plusn.agents.spec import FormSpec

LIBRARY = FormSpec.model_validate({
    "slots": {
        "overdue": {"type": "integer", "label": "逾期图书", "ask": "现在有几本书逾期没还？没有请说“没有”。",
                    "unit": "本", "min": 0, "max": 50, "aliases": ["逾期", "超期", "没还", "逾期未还"]},
        "fines": {"type": "integer", "label": "违约次数", "ask": "这一年里损坏或丢失过几次图书？", "unit": "次",
                  "min": 0, "max": 20, "aliases": ["损坏", "丢失", "弄丢", "弄坏"]},
        "deposit": {"type": "number", "label": "押金", "ask": "办证时交了多少押金（元）？", "unit": "元",
                    "min": 0, "max": 500000, "aliases": ["押金"]},
        "share": {"type": "number", "label": "借阅排名", "ask": "您的借阅量排在读者中的前百分之多少？", "unit": "%",
                  "min": 0, "max": 100, "aliases": ["排名", "排在", "借阅量"]},
        "card": {"type": "boolean", "label": "读者证", "ask": "您是否已经办好了读者证？（是 / 否）",
                 "yes_words": ["有读者证", "办好了读者证", "读者证办好了", "有证"],
                 "no_words": ["没有读者证", "没办读者证", "没证", "读者证没办"]},
        "tier": {"type": "enum", "label": "读者类别", "ask": "您是哪类读者？（成人 / 学生 / 老年）",
                 "options": {"成人": ["成人", "成年人", "上班族"], "学生": ["学生", "在校生", "读书"],
                             "老年": ["老年", "老人", "退休"]}},
        "owed": {"type": "integer", "label": "欠费月数", "ask": "欠了几个月的年费？", "unit": "个月", "min": 0,
                 "max": 60, "aliases": ["欠费", "欠了"]},
        "left": {"type": "integer", "label": "剩余月数", "ask": "读者证还有几个月到期？", "unit": "个月", "min": 0,
                 "max": 60, "aliases": ["到期", "还剩"]},
        "shelf": {"type": "number", "label": "书架长度", "ask": "要借的书架有多长（米）？", "unit": "米", "min": 0,
                  "max": 10, "aliases": ["书架", "长度"]},
    },
    "tree": {"slot": "card", "cases": {
        "true": {"slot": "overdue", "when": [{"if": "value == 0", "then": {"decision": "可以续借"}}],
                 "default": {"decision": "请先归还逾期图书"}},
        "false": {"decision": "请先办证"}}},
})


def _read(text: str, asked: str | None = None) -> dict[str, tuple[object, bool]]:
    return {n: (r.value, r.sure) for n, r in read(LIBRARY, text, asked, "zh").found.items()}


def test_a_count_said_to_be_none_is_zero() -> None:
    # one and a no after it, with or without 都 ("not a single one")
    for text in ("一本没逾期", "一本都没逾期", "借的书一本也没超期", "这一年一次都没弄丢过"):
        found = _read(text)
        assert (0, True) in found.values(), text
    # a no of the thing counted, in the slot's own word or the start of one, asked or not
    for text in ("没有逾期", "我从来没超期过", "没逾期，都按时还了"):
        assert _read(text)["overdue"] == (0, True), text
    # not beside a clause that says the thing happened or counts some ("没有逾期……就是超期了一本")
    for text in ("没逾期，就是有一本超期了", "没有逾期……就是超期了一本", "没逾期，就是两本没还"):
        assert _read(text, "overdue").get("overdue") != (0, True), text
    # (but a clause of someone else's, a topic, a time before, or what a correction takes back is
    # no such clause, and a plain no that opens the reply answers whatever it says it has)
    for text in ("逾期的话，超期了一本……哦不对，那是我同学的，我自己一本都没逾期", "我一本都没逾期，我女儿逾期了两本",
                 "以前逾期过一本，去年就还了，现在一本都没逾期", "没有，就借了这一本"):
        assert _read(text, "overdue")["overdue"] == (0, True), text
    # and "一本都没有" beside a clause that says some is no count of one either
    assert _read("一本都没有，就是有一本超期了", "overdue").get("overdue") != (0, True)
    # asked, a bare no answers how many ("没有请说“没有”")
    assert _read("没有", "overdue")["overdue"] == (0, True)
    assert _read("没有啊", "fines")["fines"] == (0, True)
    # not: one said with 有 before it ("有一本没还" is one not returned), a negator that begins the
    # slot's own word ("一本没还", "没还的有两本" count what is not returned), someone else's count,
    # a bare no unasked, or a count of time ("一年没交" is a year)
    assert _read("有一本没还", "overdue")["overdue"] == (1, True)
    assert _read("一本没还", "overdue")["overdue"] == (1, True)
    assert "overdue" not in _read("我女儿一本都没逾期")
    assert "overdue" not in _read("没有")
    assert "fines" not in _read("我一年没来了")


def test_about_a_round_number_of_ten_thousand_is_that_many() -> None:
    [q] = quantities("十来万")
    assert q.value == 100_000 and (q.low, q.high) == (90_000, 110_000)
    assert _read("押金交了十来万块", "deposit")["deposit"][0] == 100_000
    # and a count asked is no 10 of it
    assert "overdue" not in _read("一年下来十来万吧", "overdue")
    # not: about a number of things (二十来个), or some above (十几万)
    assert [(q.value, q.low, q.high) for q in quantities("二十来个")] == [(20, 18, 22)]
    assert [(q.low, q.high) for q in quantities("十几万")] == [(100_000, 200_000)]


def test_what_is_said_now_is_read_over_what_was_before_as_a_guess() -> None:
    said = "排名的话刚开始的时候是前百分之六十，后来多借了些，现在是前百分之四十左右"
    assert _read(said, "share")["share"][0] == 40
    # a guess: the question may ask of the time before
    assert _read("以前押金是三百，现在是一百", "deposit")["deposit"] == (100, False)
    # neither, where the question asks of a time before (either may be meant): the question comes again
    last_year = FormSpec.model_validate({"slots": {"rank": {"type": "number", "label": "排名", "unit": "%", "min": 0,
                                                            "max": 100, "ask": "去年借阅量排在前百分之多少？"}},
                                         "tree": {"slot": "rank", "default": {"decision": "好"}}})
    assert "rank" not in read(last_year, "以前前百分之三十，现在前百分之五十五", "rank", "zh").found
    assert "rank" not in read(last_year, "去年前百分之三十，现在前百分之五十五", "rank", "zh").found
    # not: what now adds to or changes by ("现在又…", "现在涨了…"), or numbers with no time before now
    assert _read("以前交了三百押金，现在又交了一百", "deposit")["deposit"][0] != 100
    assert _read("以前押金三百，现在涨了一百", "deposit")["deposit"][0] != 100
    assert _read("押金三百，现在不知道还退不退", "deposit")["deposit"] == (300, True)


def test_a_correction_inside_one_message_takes_what_follows_it() -> None:
    # a yes/no: the slot's own words after the correction, though another slot's word is there too
    assert _read("没办读者证……哦不对，上个月办好了读者证，押金也交了", "card")["card"] == (True, True)
    # an option: the one said after the correction, where the message names two
    assert _read("我是上班族……哦不对，我去年退休了，现在算老年了", "tier")["tier"] == ("老年", True)
    assert _read("我是上班族……哦不对，我去年退休了，现在算老年了")["tier"] == ("老年", True)
    assert _read("学生……不对，是成人，我之前是学生", "tier")["tier"] == ("成人", True)  # 之前: another time
    # not: two options after the correction, a plan after it, or someone else's
    assert "tier" not in _read("成人，不对，我儿子是学生", "tier")
    assert "tier" not in _read("学生……不对，是成人，也算学生", "tier")
    assert "tier" not in _read("学生，不对，我准备明年退休", "tier")


def test_a_state_going_on_with_zhe_ne_is_no_question() -> None:
    assert _read("没有读者证……哦不对，我有证的，一直在用着呢", "card")["card"] == (True, True)
    # not: 呢 that asks
    assert _read("有证的话怎么续借呢", "card").get("card") is None


def test_a_count_in_the_slots_measure_word_with_another_thing_after_it_counts_that_thing() -> None:
    # "一本小说" is a novel, "两本杂志" magazines: not the count of overdue books, unasked
    assert "overdue" not in _read("我借了一本小说，想续借")
    assert "overdue" not in _read("手上有两本杂志")
    assert "overdue" not in _read("我没有逾期（隔壁邻居倒是有两本）")
    # not: the slot's own thing after it, its word before it ("逾期了一本小说"), or nothing
    assert _read("有一本逾期了")["overdue"] == (1, True)
    assert _read("逾期了一本小说")["overdue"] == (1, True)
    assert _read("两本", "overdue")["overdue"] == (2, True)
    # a none said after the household's word: "家里没逾期的书"
    assert _read("我们家没逾期")["overdue"] == (0, True)


def test_a_number_with_its_units_tenth_after_it_is_one_number() -> None:
    for said, value in (("一米八", 1.8), ("五米三", 5.3), ("两块五", 2.5)):
        [q] = quantities(said, {"米": 1, "块": 1})
        assert q.value == value, said
    [q] = quantities("五米三左右", {"米": 1})
    assert (q.value, q.low, q.high) == (5.3, 5.27, 5.33)
    assert _read("一米八", "shelf")["shelf"] == (1.8, True)
    # not: a digit before another unit or numeral, or a unit that is not said so
    assert [(q.value, q.unit) for q in quantities("三块八毛", {"块": 1})][:1] == [(3, "块")]
    assert [q.value for q in quantities("一年三个月")] == [15]
    assert [q.value for q in quantities("一米七五", {"米": 1})][:1] == [1]


def test_a_correction_of_a_number_in_a_unit_two_slots_count_in_takes_what_follows() -> None:
    assert _read("欠了两个月，哦不对，应该是五个月了", "owed")["owed"] == (5, True)
