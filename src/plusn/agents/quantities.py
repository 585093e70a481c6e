"""Numbers and durations as people write them: 8, 1,234, 3.5万, 两千五, 十个月, 一年半, 半年, 一周.

A quantity is a number with the unit written after it, if any. A slot that counts in one unit
(months, days) reads every duration in that unit: 一年半 is 18 months, 一周 is 7 days, 两年 is
24 months. Years and months convert exactly (12), as do weeks and days (7); across the two, a
month is 30 days, which is how such rules are usually counted.

People often give a bound rather than a number: 不到一年, 二十多天, 超过三个月, 30天以内, less
than a year. A quantity carries the interval its words allow (:mod:`.bounds` reads the closed
class of bound words); an exact number is the interval of one point.

A small parser rather than a dependency: the numeral packages on PyPI convert numerals but not
durations or halves (一年半, 两个半月), and the everyday forms fit in a page.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .bounds import bound
from .quantity import Quantity
from .tenths import tenths
from .utterance import clause_of, clause_spans

_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNIT = {"十": 10, "百": 100, "千": 1000}
_EN = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
       "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
       "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
       "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
# thirty-three, forty five: a ten and a unit
_EN_TENS = r"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)[-\s](?:one|two|three|four|five|six|seven|eight|nine)"
_SCALE = {"万": 10_000, "w": 10_000, "W": 10_000, "千": 1_000, "k": 1_000, "K": 1_000, "百": 100}
_ARABIC = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![eE][+-]?\d)"
_CHINESE = r"[零〇一二两三四五六七八九十百千万]+(?:点[零〇一二三四五六七八九]+)?"
_NUMBER = re.compile(rf"(?<![\d.A-Za-z])(?:(?P<ar>{_ARABIC})\s*(?P<sc>万|千|百|[kKwW](?![A-Za-z]))?|(?P<cn>{_CHINESE})"
                     rf"|(?P<en>\b(?:{_EN_TENS}|{'|'.join(_EN)})\b))", re.I)
# Duration words, longest first, and their length in days (the common ground of conversion).
DURATIONS = {"个星期": 7, "个礼拜": 7, "星期": 7, "礼拜": 7, "个月": 30, "小时": 1 / 24, "周": 7, "月": 30,
             "年": 365, "天": 1, "日": 1, "years": 365, "year": 365, "months": 30, "month": 30, "weeks": 7,
             "week": 7, "days": 1, "day": 1, "yrs": 365, "yr": 365}
_CANON = {"个星期": "周", "个礼拜": "周", "星期": "周", "礼拜": "周", "个月": "月", "years": "年", "year": "年",
          "yrs": "年", "yr": "年", "months": "月", "month": "月", "weeks": "周", "week": "周", "days": "天",
          "day": "天", "日": "天"}
UNITS = ("年", "月", "周", "天")  # the units a slot can count durations in
# Words said for one unit that is no duration: a slot counting in 元 reads 块 and 块钱 as 元.
SAME_UNIT = (("元", "块钱", "块", "圆", "人民币", "rmb", "yuan", "cny"), ("公里", "千米", "km"))
# 去年十月, 3月12号: a month of the calendar, not a count of months
# a character after a lone numeral that makes a word of it: a Chinese one that is no unit, measure
# word, numeral or "some" (多, 几, 来, 余, 半)
_IN_WORD = re.compile(r"[\u4e00-\u9fff](?<![个份人次件张条位家台笔本辆套项口趟回遍倍成岁层顿单批种样号点"
                      r"一二三四五六七八九十两零〇百千万亿多几来余半吧啊呀呢了的左以到至或])")  # not 上下: 七上八下
_ORDINAL = re.compile(r"(?:第|周|星期|礼拜|初)\s*$")
# a day named by its order and an hour of it: 第二天早上, 第3天下午
_AT_AN_HOUR = re.compile(r"\s*[天日]\s*(?:一早|早上|早晨|清早|大早|上午|中午|下午|傍晚|晚上|夜里|凌晨|半夜)")
# an hour of the clock: 10点, 六点多, 八点半, 七点钟 (not the 点 of a decimal, 一点五)
_O_CLOCK = re.compile(r"\s*点(?![\d零〇一二三四五六七八九两])")
_HOLIDAYS = ("五一", "十一")
_MONTH_OF_YEAR = re.compile(r"\s*(?:1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])\s*月")
# a year of the calendar: 1992年, 08年, 一九九二年, 九二年, 零几年 (a count says 十: 十二年; 两三年, 七八年
# and 三五年 are counts of one or the other)
_CALENDAR_YEAR = re.compile(r"(?:(?:19|20)\d\d|0\d|[零〇一二三四五六七八九]{4}|(?P<two>[零〇一二三四五六七八九]{2})"
                            r"|[零〇一二三四五六七八九]几)\s*年(?![级纪龄代气])")
_UNIT_IN_WORD = re.compile(r"[级纪龄代气]")  # after 年 or 天, these make another word (年级, 年纪, 天气)
_DATE_BEFORE = re.compile(r"(?:[去今前明]年|\d{4}\s*年|0\d\s*年|[一二三四五六七八九〇零]{4}年|[一二三四五六七八九〇零]{2}年)\s*$")
_DATE_AFTER = re.compile(r"\s*(?:(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*[号日]|[号日份底初末]|中旬|上旬|下旬)")
_DAY_OF_MONTH = re.compile(r"月\s*$")  # the 12 of 3月12号
_JOIN = re.compile(r"\s*(?:零|又|and|,)?\s*", re.I)  # 一年零两个月, 1年3个月, a year and two months
EXACT = [{"年": 12, "月": 1}, {"周": 7, "天": 1}]  # pairs that convert without the 30-day month
_HALF = re.compile(r"半\s*(?:个)?\s*|half\s+(?:an?\s+)?", re.I)  # 半年, 半个月, half a year
_AND_A_HALF = re.compile(r"\s*\band\s+a\s+half\b", re.I)


def chinese_number(s: str) -> float | None:
    """三 → 3, 十二 → 12, 两千五百 → 2500, 三万五 → 35000, 三点五 → 3.5 (the everyday forms)."""
    if not s:
        return None
    whole, _, frac = s.partition("点")
    total, section, digit, last_unit = 0, 0, None, 1
    zero = False  # a 零 since the last place word: 一百零五 is 105, not 一百五's 150
    for ch in whole:
        if ch in _DIGIT:
            zero = zero or _DIGIT[ch] == 0
            digit = _DIGIT[ch]
        elif ch in _UNIT:
            section += (1 if digit is None else digit) * _UNIT[ch]
            digit, last_unit, zero = None, _UNIT[ch], False
        elif ch == "万":
            total += (section + (digit or 0)) * 10_000
            section, digit, last_unit, zero = 0, None, 10_000, False
    if digit is not None and not zero and last_unit >= 100 and section % last_unit == 0:
        digit *= last_unit // 10  # 两千五 is 2500, 三万五 is 35000: a lone last digit is the next place down
    value = float(total + section + (digit or 0))
    if frac:
        value += float("0." + "".join(str(_DIGIT[c]) for c in frac))
    return value


# People counted with a measure word: 三个人, 两名员工, 四个师傅, 一个小姑娘 are so many 人 (a
# closed class of words for people, as a slot counting 人 hears them; 孩子 is left out, a part of
# a household and never all of it). Which group they are is another matter: see Quantity.counted
_PEOPLE = r"[大小老]?(?:员工|职工|工人|师傅|伙计|帮手|帮工|小工|店员|姑娘|小伙子?|阿姨|大姐|大哥|徒弟|学徒|人手|人)"
_PERSON = re.compile(rf"[个名位]\s*{_PEOPLE}")
# None of them: 没招人, 没有雇员工, 一个都没雇
NO_PEOPLE = re.compile(rf"(?:没有?|无)(?:[雇招请聘用找][了过到]?)?{_PEOPLE}|一个(?:人|员工)?[都也]没(?:有|[雇招请聘用找])")
SCALE_WORDS = ("万", "千", "百")  # the Chinese scale words, which a slot may take for its unit (万 of 万元)


def _unit_after(text: str, end: int, words: dict[str, float]) -> tuple[str | None, int]:
    """The unit word right after a number (a space between is fine) and where it ends; to a slot
    counting 人, a measure word and a word for people (三个人, 两名员工) say the unit."""
    rest = text[end:]
    stripped = rest.lstrip()
    at = end + len(rest) - len(stripped)
    if "人" in words and (person := _PERSON.match(stripped)) is not None:
        return "人", at + person.end()
    for word in sorted(words, key=len, reverse=True):
        if stripped[: len(word)].lower() == word.lower() and \
                not (word.isascii() and stripped[len(word): len(word) + 1].isalpha()):
            return word, at + len(word)
    return None, end


def quantities(text: str, units: dict[str, float] | None = None) -> list[Quantity]:
    """Every quantity in the text, in order: its number, the unit after it (a duration, or one of
    ``units``, a slot's own words), and its span. 一年半 is 1.5 年; 半年 is 0.5 年."""
    words: dict[str, float] = {**DURATIONS, **(units or {})}
    out: list[Quantity] = []
    read_to = 0  # where the last number read ends ("2千零50" is one number, not 2千 and 50)
    for m in _NUMBER.finditer(text):
        head = None if m.start() < read_to else _number(m, text, words)
        if head is None:
            continue
        value, end, forced, span = head
        read_to = end
        if text[end: end + 2] == "个半":  # 两个半月
            value, end = value + 0.5, end + 2
        elif (half := _AND_A_HALF.match(text, end)) is not None:
            value, end = value + 0.5, half.end()  # two and a half (years): the half, unit or not
        about = _about_at(text, end, value, words)  # 十来个, 三十来天, 三个来月: about so many
        end += about
        more = 0 if about else _more_at(text, end)  # 二十多天: above the number, below its next step
        step = _step(value) * (_JUST_OVER if text.startswith("出头", end) else 1.0) if more else 0.0
        end += more
        if (more or about) and text[end: end + 1] in ("万", "千", "百") and text[end] not in words:
            scale = _SCALE[text[end]]
            if more and value >= scale:  # 一千几百, 两万多千: so many of a place below the number's own
                value, step, end = value + scale, 9 * scale, end + 1
            else:  # 10多万: 100,000 to 200,000; 十来万: about 100,000
                value, step, end = value * scale, step * scale, end + 1
        word, stop = _unit_after(text, end, words)
        if word is None and forced is not None:
            word, stop = forced, end  # 三万五 to a slot in 万: 3.5 of it
        if word == "块" and value == 1 and text[m.start() - 1: m.start()] in _TOGETHER_BEFORE and m.start() > 0 \
                and not _MONEY_AFTER.match(text, stop):
            continue  # 住一块, 在一块, 住一块五年: together, no 1 元 (在一块五左右 is 1.5 元)
        if word == "周" and text.startswith("岁", stop):
            word, stop = "岁", stop + 1  # 十五周岁: an age in full years, no weeks
        if m.group("en") is not None and word is None and value < 13:
            continue  # "a", "one" or "two" without a unit is no quantity ("thirty-three" is one)
        if word is not None:
            tail = text[stop:]
            if tail.startswith("半"):  # 一年半 (一年半多: more than that, below the next whole unit)
                value, stop = value + 0.5, stop + 1
                if not step and (more := _more_at(text, stop)):
                    step, stop = 0.5, stop + more
            elif (half := _AND_A_HALF.match(tail)) is not None:  # a year and a half
                value, stop = value + 0.5, stop + half.end()
            elif not step and (more := _more_at(text, stop)):  # 一年多: one more of the unit at most
                step, stop = _JUST_OVER if text.startswith("出头", stop) else 1.0, stop + more
        if word in ("年", "天") and _UNIT_IN_WORD.match(text, stop):
            continue  # 一年级, 三年级: a grade; 年纪, 天气: the unit's character begins another word
        q = Quantity(value, _CANON.get(word.lower(), word) if word else None, m.start(), stop,
                     counted=word == "人" and _PERSON.match(text[end:].lstrip()) is not None)
        if q.unit == "月" and (_DATE_BEFORE.search(text, 0, m.start()) or _DATE_AFTER.match(text, stop)) \
                and text[end: stop].strip() == "月":
            continue  # 去年十月, 3月12号: a date (十个月 is a count)
        if text[stop: stop + 1] == "号" or (q.unit == "天" and text[end: stop].strip() == "日"
                                             and _DAY_OF_MONTH.search(text, 0, m.start())):
            continue  # 12号, 6月18日: a day of the month
        out.append(_bounded(text, _spread(q, step, bool(about), span)))
    for m in _HALF.finditer(text):
        word, stop = _unit_after(text, m.end(), words)
        if text[:m.start()].endswith(("老", "好")) and text.startswith("半天", m.start()) \
                and not text.startswith("半天假", m.start()):
            continue  # 老半天, 好半天: a long while, no half a day (请好半天假 is one)
        if word is not None and not any(q.start <= m.start() < q.end for q in out):
            part = Quantity(0.5, _CANON.get(word.lower(), word), m.start(), stop)
            if (more := _more_at(text, stop)):  # 半年多: more than half, below a whole one
                part = replace(part, end=stop + more, low=0.5, high=1.0, high_in=False)
            out.append(_bounded(text, part))
    return _compound(text, tenths(text, sorted(out, key=lambda q: q.start)), words)  # 一米八 is 1.8


def _calendar_year(text: str, at: int) -> bool:
    """Whether a year of the calendar starts at ``at`` ("九二年开始交的"; 二三年三月 is March 2023)."""
    m = _CALENDAR_YEAR.match(text, at)
    two = m.group("two") if m is not None else None
    return m is not None and not (two and (_two_numbers(two) or two == "三五") and not _MONTH_OF_YEAR.match(text, m.end()))


def _own_scale(cn: str, start: int, end: int, words: dict[str, float]) -> tuple[str, int, str | None]:
    """A Chinese numeral whose scale word (万, 千) is one of the slot's own units: "二十万" to a
    slot counting in 万元 is 20 of it, its 万 the unit after the number; "三万五" is 3.5, with
    the unit forced. Returns the numeral to read, where it ends, and the forced unit if any."""
    for scale in SCALE_WORDS:
        if scale in words and scale in cn and cn != scale:
            if cn.endswith(scale) and cn.count(scale) == 1:
                return cn[:-1], start + len(cn) - 1, None
            return cn, end, scale
    return cn, end, None


_TOGETHER_BEFORE = "住在放搁走玩凑聚坐到跟和"
_MONEY_AFTER = re.compile(r"钱|[\d零〇一二两三四五六七八九十]+(?![\d零〇一二两三四五六七八九十]*\s*(?:[年月天周个岁多]|星期|礼拜))")
# A day named by how long ago it was: the days since it, for a question of time elapsed
_DAYS_AGO = {"大前天": 3, "前天": 2, "前儿": 2, "昨天": 1, "昨儿": 1, "昨晚": 1, "昨日": 1, "今天": 0, "今儿": 0,
             "今早": 0, "今日": 0, "yesterday": 1, "today": 0}
_AGO = re.compile("|".join(sorted(_DAYS_AGO, key=len, reverse=True)), re.I)
ELAPSED = re.compile(r"到现在|至今|多久了|多长时间了|几天了|多少天了|how long|how many days", re.I)


def days_ago(text: str, cues: list[str], asked: bool) -> list[Quantity]:
    """The days since a day named by how long ago it was ("前天签收的" is 2 days, "今天上午刚收到"
    0), when it is the time of the event: its clause names the slot (``cues``), says nothing else
    of that day ("今天才来问", "快递昨天还在路上", "昨天打开的"), and the message names no other time
    ("三月份离职的，今天拿到的离职证明"). Read only where the question asks how long it has been, in days;
    ``asked``: that question was just asked, and a clause that says nothing but the day and a verb
    made of the slot's own words names the event ("今天上午刚到的" to a slot read by 到货; not "昨天发货的")."""
    out = []
    spans = clause_spans(text)
    for m in _AGO.finditer(text):
        cs, ce = clause_of(spans, m.start())
        clause = text[cs:ce].lower()
        if _NOT_THE_EVENT.search(clause) or not (any(c.lower() in clause for c in cues) or
                                                 (asked and _only_the_event(clause, m.group().lower(), cues))) or \
                _OTHER_TIME.search(text[:m.start()] + " " + text[m.end():]):
            continue  # "昨天打开的": another event; "三月份离职的，今天拿到的离职证明": another time
        out.append(Quantity(float(_DAYS_AGO[m.group().lower()]), "天", m.start(), m.end()))
    return out


_PART_OF_DAY = re.compile(r"上午|下午|中午|早上|晚上|傍晚|刚刚|刚|[的了啊吧呀\s，。！,.!]")


def _only_the_event(clause: str, day: str, cues: list[str]) -> bool:
    """Whether a clause says only the day and a verb all of whose characters are the slot's own."""
    rest = _PART_OF_DAY.sub("", clause.replace(day, "", 1))
    own = set("".join(cues).lower())
    return bool(rest) and all(c in own for c in rest)


_OTHER_TIME = re.compile(r"[年月周号]|星期|礼拜|双十一|双11|\b(?:week|month|year)", re.I)
_NOT_THE_EVENT = re.compile(r"[第是才还没未不]|去[办查问]|\bis\b|\bnot\b|th\b")


_AGE_YEARS = ("岁", "周岁")  # an age's years, before its months: 一岁三个月 is 15 月


def _compound(text: str, found: list[Quantity], words: dict[str, float]) -> list[Quantity]:
    """A duration said in two units, the larger first, as one: 一年零两个月 is 14 月, 两周三天 17 天,
    一岁三个月 15 月; and a range as its interval: 一千五到两千 is 1,500 to 2,000."""
    out: list[Quantity] = []
    for q in found:
        prev = out[-1] if out else None
        if prev is not None and not prev.bounded and prev.unit in (None, q.unit) \
                and prev.value < q.interval()[0] and _RANGE.fullmatch(text[prev.end:q.start]):
            # "一千五到两千", "3到5天", "一千八到两千二左右": a range, weighed as an interval like any bound
            out[-1] = replace(q, value=prev.value, start=prev.start, low=prev.value, high=q.interval()[1],
                              low_in=True, high_in=q.high_in)
            continue
        # (an age's years join its months only for a slot that counts months and takes 岁 as twelve)
        big = "年" if prev is not None and prev.unit in _AGE_YEARS and q.unit == "月" and words.get(prev.unit) == 12 \
            else prev.unit if prev else None
        if prev is not None and not prev.bounded and big in DURATIONS and q.unit in DURATIONS \
                and DURATIONS[big] > DURATIONS[q.unit] and _JOIN.fullmatch(text[prev.end:q.start]) \
                and (factor := _factor(big, q.unit, {})) is not None:
            shift = prev.value * factor
            out[-1] = replace(q, value=q.value + shift, start=prev.start,
                              low=None if q.low is None else q.low + shift, high=None if q.high is None else q.high + shift)
            continue
        out.append(q)
    return out


_RANGE = re.compile(r"\s*(?:到|至|~|～)\s*")
_ZERO_REST = re.compile(r"零\s*(\d+|[一二两三四五六七八九十百]+)([百十]?)")
# a lone digit after a place word, not a count or a number of its own ("2千5个人", "3千5天")
_NEXT_PLACE = re.compile(r"(\d)(?![\d.,])(?!\s*(?:[个份人次件张条位家台笔本辆套项口天月年周岁号日点]|小时|星期|礼拜))")
# 一个 and a time or person after a number: the 一 counts it ("两千一个月" is 2,000 a month)
_COUNTED_ONE = re.compile(r"\s*个(?:月|星期|礼拜|人)")  # (一百一天 may be 110 days: only 一个 counts)
_PLACES = {"十": 10, "百": 100}  # the places below a scale word a 零 may skip to ("1万零5百")
_MORE = re.compile(r"(?:个)?[多几](?![少久大于])|出头")  # 二十多, 两个多月, 二十几天, 一年出头; not 多少, 多久


def _bounded(text: str, q: Quantity) -> Quantity:
    """The quantity with the interval its bound words allow (:mod:`.bounds`), if any."""
    b = bound(text, q.start, q.end, q.value, *q.interval())
    if b is None:
        return q
    return replace(q, start=b.start, end=b.end, low=b.low, high=b.high, low_in=b.low_in, high_in=b.high_in)


def _number(m: re.Match[str], text: str, words: dict[str, float]) -> tuple[float, int, str | None, tuple[float, float] | None] | None:
    """The number a match of _NUMBER says: its value, where it ends, the slot's own scale word it
    is said in (三万五 to a slot in 万: forced), and the two numbers of 七八; None where the
    numeral is no number (a scale word alone, 一共, 三亚, 第一, 五一, the "a" of "half a year")."""
    end, forced, span = m.end(), None, None
    if (text[: m.start()].rstrip().endswith("第") and _AT_AN_HOUR.match(text, m.end())) or _O_CLOCK.match(text, m.end()) \
            or _calendar_year(text, m.start()):
        # 第二天早上, 晚上10点: a moment (第39周, 第4年 count what has passed; 一点五 is 1.5); 九二年: a year
        return None
    if m.group("ar") is not None:
        sc = m.group("sc") or ""
        if sc in words:
            sc, end = "", m.start("sc")  # "20万" to a slot counting in 万: 20 of its unit
        value = float(m.group("ar").replace(",", "")) * _SCALE.get(sc, 1)
        rest = _ZERO_REST.match(text, end) if sc in ("万", "千", "百") else None
        down = _NEXT_PLACE.match(text, end) if sc in ("万", "千", "百") else None
        if rest is not None:  # "2千零50": the rest below the place, after its 零
            low = float(rest.group(1)) if rest.group(1).isdigit() else chinese_number(rest.group(1)) or 0.0
            low *= _PLACES.get(rest.group(2), 1)  # 1万零5百
            if low < _SCALE[sc] / 10:
                value, end = value + low, rest.end()
        elif down is not None:  # "2千5", "1万2": a lone digit is the next place down
            value, end = value + int(down.group(1)) * _SCALE[sc] / 10, down.end()
        return value, end, None, None
    if m.group("cn") is not None:
        cn = m.group("cn")
        if cn.endswith("一") and len(cn) >= 3 and cn[-2] not in "十零〇" and any(c in "百千万" for c in cn[:-1]) \
                and _COUNTED_ONE.match(text, end):
            cn, end = cn[:-1], end - 1  # 两千一个月, 一千二一个月: 2,000 and 1,200 a month, not 2,100 and 1,100
        if cn == "十" and text[: m.start()].endswith("几"):
            return None  # 几十: a few tens, no number (not ten)
        if cn[0] in "万千" or (cn[0] == "百" and not cn.startswith("百万")) or (cn == "零" and re.match(r"\s*\d", text[m.end():])):
            # a scale word first is no number (万, 万万没想到, 万一, 千万别), but 百万 is a million;
            # 一年零6个月: 零 joins two
            return None
        cn, end, forced = _own_scale(cn, m.start(), end, words)
        unitless = _unit_after(text, end, words)[0] is None and forced is None and text.strip() != cn
        one = cn == "一" and not text.startswith(("个", "多"), end)  # 一个半月, 一个多月 are numbers
        if unitless and (one or (len(cn) == 1 and _IN_WORD.match(text, end))
                         or _ORDINAL.search(text, 0, m.start()) or cn in _HOLIDAYS):
            # 一共, 一直, 三亚, 五险一金, 十堰: a numeral inside a word; 第一次, 周五, 初三: an
            # order or a day; 五一, 十一: holidays; none is a number (一年, 三个, 两千 are)
            return None
        value = (chinese_number(cn) or 0.0) / (_SCALE[forced] if forced else 1)
        span = _two_numbers(cn)  # 七八个月, 三四十: one or the next
        return (-value if text[: m.start()].rstrip().endswith("负") else value), end, forced, span
    if re.search(r"half\s+$", text[: m.start()], re.I):
        return None  # the "a" of "half a year" (read below)
    return float(sum(_EN[w] for w in re.split(r"[-\s]+", m.group("en").lower()))), end, None, None


def _spread(q: Quantity, step: float, about: bool, span: tuple[float, float] | None) -> Quantity:
    """The interval the number's own words give: 二十多 (``step``: up to the next), 三十来 (about:
    a tenth either way, and at least one, so 六个来月 may be five or seven), 七八 (``span``: the
    first to the second; q.value is the second, divided by a scale word of the slot's unit)."""
    if step:
        return replace(q, low=q.value, high=q.value + step, high_in=False)
    if about:
        width = max(q.value * _ABOUT_WIDTH, 1.0)
        return replace(q, low=q.value - width, high=q.value + width)
    if span is not None:
        first = span[0] * q.value / span[1]
        return replace(q, value=first, low=first, high=q.value)
    return q


_TWO = re.compile(r"^(.*?)([一两二三四五六七八九])([两二三四五六七八九])([十百千万]?)$")


def _two_numbers(cn: str) -> tuple[float, float] | None:
    """The two numbers of a numeral that says one or the next (七八 is 7 or 8, 十七八 17 or 18,
    三四十 30 or 40, 一两 1 or 2), or None."""
    m = _TWO.match(cn)
    if m is None or _DIGIT[m.group(3)] != _DIGIT[m.group(2)] + 1 or (m.group(1) and not m.group(1).endswith("十")):
        return None
    a = chinese_number(m.group(1) + m.group(2) + m.group(4))
    b = chinese_number(m.group(1) + m.group(3) + m.group(4))
    return (a, b) if a is not None and b is not None else None


_ABOUT = re.compile(r"个?来")
_ABOUT_WIDTH = 0.1  # 三十来天 is thirty give or take a few, as "about" is read (bounds._NEAR)


def _about_at(text: str, at: int, value: float, words: dict[str, float]) -> int:
    """The length of an "about" 来 at ``at``, or 0: after a round number (十来, 二十来) or with its
    measure word (三个来月), and only with a unit or measure word after it (三个来回 is no count,
    我们三个来的 no "about")."""
    m = _ABOUT.match(text, at)
    if m is None or not value or (not m.group().startswith("个") and value % 10):
        return 0
    after = m.end()
    return m.end() - at if _unit_after(text, after, words)[0] is not None or \
        re.match(r"[个份人次件张条位家台笔本辆套项万千百](?![来回])", text[after:after + 1]) else 0


_JUST_OVER = 0.5  # 出头 is a little over: 三十出头 is 30 up to 35, 一千出头 1,000 up to 1,500 (多: up to 40, 2,000)


def _more_at(text: str, at: int) -> int:
    """The length of an "and some" word at ``at`` (二十多, 一年多, 三十出头), or 0."""
    m = _MORE.match(text, at)
    return m.end() - at if m else 0


def _step(value: float) -> float:
    """The place an "and some" counts in: 二十多 is below 30, 一百多 below 200, 十多 below 20."""
    if not value or not float(value).is_integer():
        return 1.0
    step, n = 1, int(abs(value))
    while n % 10 == 0:
        step, n = step * 10, n // 10
    return float(step)


def _factor(have: str | None, unit: str | None, units: dict[str, float]) -> float | None:
    """What a number said in ``have`` is multiplied by to be said in ``unit``, or None."""
    if have is None:
        return 1.0
    for word, factor in units.items():
        if _CANON.get(word, word) == have:
            return factor
    if unit is None:
        return None if units else 1.0  # a slot that names no unit takes the number as said
    target = _CANON.get(unit, unit)
    if target == have:
        return 1.0
    for pair in EXACT:
        if have in pair and target in pair:
            return pair[have] / pair[target]
    if have in _CANON.values() or have in DURATIONS:
        days, want = DURATIONS.get(have), DURATIONS.get(target)
        if days is not None and want is not None:
            return days / want
    return None


def convert(q: Quantity, unit: str | None, units: dict[str, float] | None = None) -> float | None:
    """The quantity in ``unit`` (a slot's unit), or None when it cannot be said in it. A
    slot's own ``units`` (word → factor) come first; a bare number is taken as said in ``unit``."""
    factor = _factor(q.unit, unit, units or {})
    return None if factor is None else q.value * factor


def convert_quantity(q: Quantity, unit: str | None, units: dict[str, float] | None = None) -> Quantity | None:
    """The quantity with its interval in ``unit`` (不到一年 in months is below 12), or None."""
    factor = _factor(q.unit, unit, units or {})
    if factor is None:
        return None
    scale = (lambda x: None if x is None else x * factor)  # noqa: E731 - every unit factor is positive
    return replace(q, value=q.value * factor, low=scale(q.low), high=scale(q.high),
                   unit=_CANON.get(unit, unit) if unit and q.unit else q.unit)


def canonical_unit(unit: str) -> str:
    """A unit as the parser names it: "days" and 日 are 天, 个月 is 月; any other word stays."""
    return _CANON.get(unit.lower(), _CANON.get(unit, unit))


def unit_words(unit: str | None, units: dict[str, float]) -> dict[str, float]:
    """The words a slot's numbers may be said in beside the durations: its own ``units``, and
    for a unit that is no duration (元, 公里, 张), the unit and the words said for it, factor 1."""
    if unit is None or unit in UNITS:
        return units
    same = next((group for group in SAME_UNIT if unit.lower() in group), (unit,))
    return {**dict.fromkeys((unit, *same), 1.0), **units}


def slot_unit(units: dict[str, float]) -> str | None:
    """The unit a slot counts in, from its ``units``: the word whose factor is 1, a duration first
    ({年: 12, 个月: 1} counts months), else the first other ({万元: 1, 万: 1} counts 万元)."""
    ones = [_CANON.get(word, word) for word, factor in units.items() if factor == 1]
    return next((u for u in ones if u in UNITS), ones[0] if ones else None)
