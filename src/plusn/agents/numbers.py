"""A number slot's answer in a message: the quantity said for it, in its unit and range.

A quantity counts for a slot that is asked, or that a cue word names in its clause; one said in
the slot's own unit that no other slot counts in (3000元) names its slot by itself; a duration in
a unit the slot reads, with no cue, is only a guess, to be confirmed, and is left to another slot
that counts in a unit nearer it ("三周" to the slot counting days, not the one counting years).
"不是五天" is not the answer, and after a correction ("十八个月，哦不对，是八个月") what follows is.
A bounded quantity (不到一年, 二十多天) is read with its interval: ``span`` holds its ends just
inside, in the slot's unit and range, and ``said`` the user's words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import replace

from .activity import durations_done, how_long_done, not_done, to_come
from .ages import age_said, an_age, english_age, unsaid_years, years_first
from .answers import Invalid, validate, words
from .corrected import ME, attributed, corrected, disowns, in_its_own_unit, names_the_slot, the_users, then_and_now
from .counts import bare_count, counted, plain_count
from .cues import cue_words, names_another
from .kin import whose
from .nones import counts_another, nones
from .quantities import (
    DURATIONS,
    ELAPSED,
    EXACT,
    NO_PEOPLE,
    SAME_UNIT,
    SCALE_WORDS,
    UNITS,
    convert_quantity,
    days_ago,
    quantities,
)
from .quantity import Quantity
from .spec import FormSpec, Slot
from .utterance import (
    ASKING,
    MEASURE,
    OCCASIONS,
    OTHER_CASE,
    PER_HEAD,
    SOMEONE_ELSE,
    SUM,
    SUPPOSE,
    THIS_TIME,
    WHOLE,
    Reading,
    clause_of,
    clause_spans,
    correction_at,
    grams,
    topic_of,
)


def read_number(spec: FormSpec, name: str, text: str, asked: bool, lang: str, confirming: bool = False,
                correcting: bool = False, old: float | None = None) -> Reading | None:
    """The slot's number in the text (see the module's docstring). ``confirming``: the question
    asked to confirm this slot's value; ``correcting``: the text corrects an earlier answer and
    this slot is the only number answered so far, so a bare number may be for it (a guess);
    ``old``: the slot's answer, when the text holds a correction word ("说错了，是四十一，三十九
    是我老婆的岁数": the number it had is what is corrected, not the new one)."""
    slot = spec.slots[name]
    unit, said_in, spans, cues, low = slot.counts_in(), slot.unit_words(), clause_spans(text), _naming(spec, name), text.lower()
    fix = correction_at(text)  # "十八个月，哦不对，是八个月": after a correction, what follows it is the answer
    guess: Reading | None = None
    first: Reading | None = None  # the first number of an asked slot, if none restates the question
    ask = grams(_ASIDE.sub("", slot.ask))  # the question's words, not what it leaves out
    found = _quantities(slot, text, spans, cues, asked)
    disowned = old is not None and fix >= 0 and disowns(spec, name, text, found, old)
    named = old is not None and disowned and names_the_slot(spec, name, text, found, old)  # else a unit is needed
    fix, timed = (fix, -1) if fix >= 0 else (then_and_now(text, found, slot),) * 2  # "以前三千，现在两千": now's, a guess
    found = [] if timed < -1 else found  # (corrected.AMBIGUOUS) of a time before asked, then and now: ask again
    parts: list[tuple[float, float]] = []  # the numbers read before, as intervals
    rivals = [] if asked else durations_done(slot, cues, low, found, spans)  # none of another's; "干了三年"
    correcting = correcting and not (fix >= 0 and _before_in_other_unit(spec, name, text, fix))  # 两百多块，哦不对
    for said in _after_fix(spec, name, text, found, fix):
        q = convert_quantity(said, unit, said_in)
        if q is None or _not_the_answer(spec, name, text, said, found, q.value, old, spans, asked):
            continue
        q = _between_whole(slot, q, said)
        if said.unit is None and MEASURE.match(text, said.end) and (correcting or not asked or unit is not None) \
                and not bare_count(slot, text, said, asked or any(c in low for c in cues)):
            # "我有两个问题", "三个人去的", "出差了两次": things counted, not this slot's number
            # (only a count with no unit, asked, may be: "几个孩子？" "两个")
            continue
        cs, ce = clause_of(spans, q.start)
        cued = any(c in low[cs:ce] for c in cues)
        if not (asked or cued or correcting or (said.unit is not None and unit is not None and said.unit not in SCALE_WORDS)):
            # a bare number, a duration for a slot that counts no duration, or a scale word that is
            # the slot's unit ("打工一年挣五万" to a form that asks for an investment in 万元)
            continue
        span = inside(slot, q) if q.bounded else None
        try:
            if q.bounded and span is None:
                raise Invalid(words(lang)["number"])  # the bound leaves the slot's range
            value = validate(slot, q.value if span is None else _point(slot, q, span), lang)
        except Invalid:
            continue
        if disowned and attributed(text, said):
            continue  # "不对，六十八是我老伴的岁数": the answer held is someone else's, not the user's
        converted = said.unit is not None and said.unit != q.unit and said_in.get(said.unit) != 1.0
        if converted and not cued and _counted_by_other(spec, name, said, low) and \
                (confirming or not asked or (_coarser(unit, said.unit, spec, name) and not unsaid_years(text, said))):
            # "三周" said in passing, or to "您是说缴费年限：4，对吗？", where another slot counts
            # days; "八天" even to "how many months?", when another slot counts in days itself
            # (but "七个多月" to "how many weeks?" is the answer: a finer unit holds it)
            continue
        of_another = SOMEONE_ELSE.search(text[cs:q.start]) is not None and not about_another(slot)
        own = not of_another and _stated_own(spec, name, text, said, found, converted, spans)
        whole = _whole(slot, text, said, q.value, cued, converted, spans, cues) and timed < 0
        mine = disowned and (named or bool(said.unit)) and the_users(slot, text, (cs, ce), q.start, about_another(slot))
        r = Reading(value, sure=(asked or cued or own or mine) and whole, said=text[q.start:q.end].strip() if span else None, span=span,
                    converted=converted, at=said.start,
                    bare=of_another or not (asked or cued or said.unit or (_said_alone(text, said, spans) and
                                                                           _alone_in_range(spec, name, q.value))))
        if r.sure and not asked:
            return r
        if r.sure:  # asked: of several numbers, the one in the clause that restates the question, or sums
            if cued or len(grams(text[cs:ce]) & ask) >= 2 or _sums(slot, text, (cs, ce), parts, r, cues):
                return r
            first = first or r
        aside = of_another or (about_another(slot) and ME.search(text, cs, q.start + 1) is not None)  # "老人八十岁，我五十岁"
        if not asked and not aside and _rivalled(value, span, rivals):
            return None  # two numbers the slot could hold, neither tied to it ("开了二十年车了，这辆车才买了一年半")
        rivals += [] if aside else [span or (value, value)]
        guess = guess or r
        parts.append(span or (value, value))
    return first or guess


def _stated_own(spec: FormSpec, name: str, text: str, said: Quantity, found: list[Quantity], converted: bool,
                spans: list[tuple[int, int]]) -> bool:
    """Whether the number says by itself that it is the slot's: in a unit no other slot takes, or
    an age, the only number in that unit, and of the case stated. In a question ("36岁能领吗"), a
    case supposed ("如果我36岁的话"), an example or another time ("明年就36岁了") it may be of
    another case; a question in another clause ("今年27岁，…，能领吗") asks about the case stated."""
    cs, ce = clause_of(spans, said.start)
    ts, te = topic_of(spans, said.start)
    said_in = spec.slots[name].unit_words()
    return (_own_unit(spec, name, said, converted) or an_age(spec, name, text, said, spans)) and \
        not ASKING.search(text[cs:ce]) and not SUPPOSE.search(text) and \
        not (OTHER_CASE.search(text[ts:te]) and not THIS_TIME.search(text[cs:ce])) and \
        sum(q2.unit == said.unit or q2.unit in said_in for q2 in found) == 1


def holds(slot: Slot, text: str, lang: str) -> bool:
    """Whether a quantity the text says could be the slot's: in a unit it reads, inside its range
    ("一千二左右" could be an income, never an age or a head count)."""
    for said in quantities(text):
        q = convert_quantity(said, slot.counts_in(), slot.unit_words())
        if q is None:
            continue
        if q.bounded:
            if inside(slot, q) is not None:
                return True
            continue
        try:
            validate(slot, q.value, lang)
        except Invalid:
            continue
        return True
    return False


def _sums(slot: Slot, text: str, clause: tuple[int, int], parts: list[tuple[float, float]], r: Reading,
          cues: list[str]) -> bool:
    """Whether ``r`` is said as the sum of the numbers before it ("我三千多，我爱人两千五，加起来
    五千五六") and answers a question about a whole (全家每月总收入): a sum word in its clause, two
    parts or more, and a value their sum can make (each part within its bound, give or take a
    tenth for a rounded total). "这次请三天，今年一共请过五天" is no sum of its parts; "您的月收入"
    asks for one part and "家庭人均月收入" for an average; parts of different times ("上个月两千，
    这个月一千八，加起来三千八") make no month's amount: there the first number still answers. A
    later sum ("…，加起来三千二，其中酒店超标了，能报的一共两千六") or a later clause naming the slot
    with a number ("房租一千，水电两百，一共一千二，收入是三千") says what the answer is. Only
    amounts are summed: of days or people, a part may not count ("开会三天，自己又玩了两天，一共五天")."""
    asks, unit = " ".join([slot.label or "", slot.ask]), slot.counts_in()
    if len(parts) < 2 or not SUM.search(text, *clause) or SUM.search(text, clause[1]) or not WHOLE.search(asks) or \
            PER_HEAD.search(asks) or OCCASIONS.search(text) or unit in DURATIONS or \
            (unit is not None and MEASURE.fullmatch(unit)) or \
            (any(c in text[clause[1]:] for c in cues) and quantities(text[clause[1]:])):
        return False
    return sum(p[0] for p in parts) * (1 - _SUM_SLACK) <= r.value <= sum(p[1] for p in parts) * (1 + _SUM_SLACK)


_SUM_SLACK = 0.1  # "加起来五千五六" over 3,000-odd and 2,500: a total is said rounded


def _another_kind(spec: FormSpec, name: str, text: str, said: Quantity, found: list[Quantity],
                  spans: list[tuple[int, int]]) -> bool:
    """Whether the number is of another kind than the slot's: the amount of a rate ("一个月工资才
    300" to a count of months), a count in another slot's unit ("两口人" to "how many months?"),
    or an amount's shorthand ("1.8k", "3w", never a count of days)."""
    unit, low = spec.slots[name].counts_in(), text.lower()
    if said.unit is None and unit in DURATIONS and any(_per(low, o, found, spans) for o in found
                                                        if clause_of(spans, o.start) == clause_of(spans, said.start)):
        return True
    if said.unit is None and _others_unit(spec, name, low, said.end):
        return True
    return unit in DURATIONS and _MONEY_SCALE.fullmatch(text[said.start:said.end].strip()) is not None


def _between_whole(slot: Slot, q: Quantity, said: Quantity) -> Quantity:
    """A number said with a fraction to an integer slot in its own unit ("九万五" to a slot in 万元)
    lies between two whole numbers: a bound to weigh against the tree, never rounded across it."""
    if slot.type != "integer" or q.bounded or q.value != said.value or abs(q.value - round(q.value)) <= _WHOLE:
        return q
    return replace(q, low=float(math.floor(q.value)), high=float(math.ceil(q.value)))


def _naming(spec: FormSpec, name: str) -> list[str]:
    """The cue words that name the slot itself, and the words of an option it measures (辞职 of
    离职 names 离职时长); another option it is asked under says the branch, not the number
    ("在三亚旅游的时候" names no amount)."""
    slot = spec.slots[name]
    own = slot.own_words()
    measured = {w for s in spec.slots.values() if s.type == "enum" for ws in s.choices().values()
                if any(w in own for w in ws) for w in ws}
    return [c for c in cue_words(spec, name) if c in own or c in measured]


_PART = re.compile(r"部分|其中|之一|除了|另外|自费|押金|定金|首付|\b(?:part|of which|deposit)\b", re.I)
# what may stand beside a number that is all its clause says: "是十二万多", "the total is 21,500"
_BESIDE = re.compile(r"其实|应该|总共|一共|合计|总计|就是|是|才|只|大概|左右|块钱|块|元|了|吧|啊|呀|的|"
                     r"\b(?:the|total|amount|it|is|was|it's|about|only|rmb|yuan)\b|[\s,.'，。!！~]", re.I)


def _said_alone(text: str, q: Quantity, spans: list[tuple[int, int]]) -> bool:
    """Whether the number is all its clause says ("是十二万多"), not part of something else
    ("在12123上查了", "车是2手的"), nor said of a part ("是自费部分，两万")."""
    cs, ce = clause_of(spans, q.start)
    return not _BESIDE.sub("", text[cs:q.start] + text[q.end:ce]) and not _PART.search(text[:q.start])


def _alone_in_range(spec: FormSpec, name: str, value: float) -> bool:
    """Whether no other number slot's range holds the number: after "不对", a bare "是十二万多" can
    be the amount in 元 only, where the other numbers are days and ages."""
    return not any(s.type in ("integer", "number") and (s.min is None or s.min <= value) and
                   (s.max is None or value <= s.max) for n, s in spec.slots.items() if n != name)


def _whole(slot: Slot, text: str, said: Quantity, value: float, cued: bool, converted: bool,
           spans: list[tuple[int, int]], cues: list[str]) -> bool:
    """Whether the number may be taken as it is: a conversion an integer slot cannot hold ("两周" to
    "how many months?") is only a guess, unless a word names the slot ("入职三周": a month, give or
    take), and so is a count of things that is not plainly the slot's, and an age said without its
    unit to a slot that counts months ("孩子十三了" is 13 岁 by the custom of speech, but "今年10" to
    a form for infants may be months: said back with its unit, to confirm)."""
    unsaid = converted and unsaid_years(text, said)
    return (cued or not converted or slot.type != "integer" or abs(value - round(value)) <= _WHOLE) and not unsaid \
        and not (counted(slot, text, said) and not plain_count(text, said, spans, cues, slot.ask))


def _not_the_answer(spec: FormSpec, name: str, text: str, said: Quantity, found: list[Quantity], value: float,
                    old: float | None, spans: list[tuple[int, int]], asked: bool) -> bool:
    """Whether a quantity is plainly not the slot's answer: in another kind of unit, denied ("不是五天"),
    the "a month" of "6000 yuan a month", the old answer said again, in or after the correction
    ("说错了，六十八是我老伴的岁数，我七十二"), time still to come ("还得再干两年"), or, in passing,
    how long something was done or a number of other kin ("我儿子今年十七岁": no parent's age)."""
    low = text.lower()
    return _negated_number(low, said, spans) or _per(low, said, found, spans) or \
        to_come(spec.slots[name], low, said, spans) or not_done(spec.slots[name], low, said, spans) or \
        (old is not None and value == old and corrected(text, said, found, old)) or \
        _another_kind(spec, name, text, said, found, spans) or \
        (not asked and how_long_done(spec.slots[name], _naming(spec, name), low, said, spans)) or \
        (not asked and whose(spec, name, low, said) is False)


def _rivalled(value: float, span: tuple[float, float] | None, rivals: list[tuple[float, float]]) -> bool:
    """Whether another number read before could as well be the slot's: their ranges do not overlap
    ("八十多平，大概八十五平" is one area said twice, "开了二十年车了，这辆车才买了一年半" two ages)."""
    a, b = span or (value, value)
    return any(a > hi or b < lo for lo, hi in rivals)


def _after_fix(spec: FormSpec, name: str, text: str, found: list[Quantity], fix: int) -> list[Quantity]:
    """The quantities after a correction word that this slot could take, when there are any;
    else all of them ("交了三年，其实离职才20天" corrects the days, not the years)."""
    slot = spec.slots[name]
    if fix >= 0:
        cs, ce = clause_of(clause_spans(text), fix)
        later = [q for q in found if q.start > fix]
        if later and not any(q.unit is not None and convert_quantity(q, slot.counts_in(), slot.unit_words()) is not None
                             for q in later) and names_another(spec, name, text[cs:ce], by_word=True):
            # "买了两个星期了。哦价格说错了，不是三千五，是三千八" corrects the price: a correction
            # before it, if any, is the one of this slot's numbers
            fix = correction_at(text[:cs])
    after = [q for q in found if q.start > fix and convert_quantity(q, slot.counts_in(), slot.unit_words()) is not None
             and (in_its_own_unit(spec, name, text, q) or not _counted_by_other(spec, name, q))] if fix >= 0 else []
    # the number said before the correction and again after it, as someone else's, is the one
    # corrected ("一百零五平，不对，说错了，一百零五是我儿子那套，我住的这套八十五平"), not the answer
    # (said again as itself, "不对，是六十九周岁", it is)
    before = {q.value for q in found if q.start < fix}
    fresh = [q for q in after if not (q.value in before and attributed(text, q))]
    return fresh or after or found


def _negated_number(low: str, q: Quantity, spans: list[tuple[int, int]]) -> bool:
    """"不是五天", "not 13 weeks": the number is what the answer is not (a bound's own negation,
    "没有一年", is inside its words and reads as the bound)."""
    cs, _ = clause_of(spans, q.start)
    head = low[max(cs, q.start - 3):q.start]
    return head.endswith(("不是", "并非")) or bool(re.search(r"\bnot\s*$", low[max(cs, q.start - 6):q.start]))


def _counted_by_other(spec: FormSpec, name: str, said: Quantity, low: str = "") -> bool:
    """Whether another number slot of the form counts in the quantity's unit, or in a duration
    nearer it than this slot's: one it converts to exactly first (weeks to days, months to
    years), then the nearest in size. "三周" is for the slot counting days, not the one counting
    months; "8个月" for the one counting years, not days. With the text, ``low``, not a slot the
    number is said of other kin than ("我儿子今年十七岁" is left to no parent's age)."""
    own = spec.slots[name].counts_in()
    kin = bool(low) and whose(spec, name, low, said) is True  # said of this slot's kin: not another kin's number
    others = _other_units(spec, name, (lambda n: whose(spec, n, low, said) is False) if kin else None)
    if said.unit in others:
        return True
    if said.unit not in DURATIONS or own not in DURATIONS:
        return False

    def rank(unit: str) -> tuple[bool, float]:
        exact = any(said.unit in pair and unit in pair for pair in EXACT)
        return not exact, abs(math.log(DURATIONS[str(said.unit)] / DURATIONS[unit]))

    mine = rank(str(own))
    return any(u in DURATIONS and rank(str(u)) < mine for u in others)


def _coarser(unit: str | None, said: str | None, spec: FormSpec, name: str) -> bool:
    """Whether ``unit`` is a duration coarser than ``said``, which another slot counts in."""
    return unit in DURATIONS and said in DURATIONS and said in _other_units(spec, name) and \
        DURATIONS[said] < DURATIONS[unit]


def _other_units(spec: FormSpec, name: str, but: Callable[[str], bool] | None = None) -> list[str | None]:
    """The units the form's other number slots count in (not those ``but`` leaves out)."""
    return [s.counts_in() for n, s in spec.slots.items()
            if n != name and s.type in ("integer", "number") and not (but is not None and but(n))]


_ONE = re.compile(r"(?:一个?|每个?|\ba\b|\bper\b|\bone\b)\s*", re.I)


def _per(low: str, q: Quantity, found: list[Quantity], spans: list[tuple[int, int]]) -> bool:
    """Whether "one" of a duration is the "per" of another number in its clause ("一个月人均七八千",
    "6000 yuan a month"): a rate, no duration of its own."""
    if q.value != 1 or q.unit not in DURATIONS or not _ONE.match(low, q.start):
        return False
    clause = clause_of(spans, q.start)
    return any(o is not q and clause_of(spans, o.start) == clause and o.unit not in DURATIONS and o.value > 0
               for o in found)


# an aside of the question that names what it leaves out ("（不含伙食费）"): a reply naming that is
# no restatement of the question (an aside that says what is measured, "（含电池）", still counts)
_ASIDE = re.compile(r"[（(][^)）]*(?:不含|不包括|不算|除外|以外)[^)）]*[)）]")


def about_another(slot: Slot) -> bool:
    """Whether the slot is itself about another person than the user (孩子的年龄, 配偶的收入)."""
    return SOMEONE_ELSE.search(slot.own_words()) is not None


def _quantities(slot: Slot, text: str, spans: list[tuple[int, int]], cues: list[str], asked: bool) -> list[Quantity]:
    """The quantities of the text in the slot's words, with the days a day named by how long ago
    stands for ("签收几天了？" — "前天签收的") and an age's unsaid 岁 ("今年七十一", "我爸七十五了")."""
    unit = slot.counts_in()
    found = quantities(text, slot.unit_words())
    if unit == "人" and not found:  # "没招人": none (of a group the words may not name: counted)
        found = [Quantity(0.0, "人", m.start(), m.end(), counted=True) for m in NO_PEOPLE.finditer(text)]
    zeros, others = nones(slot, cues, text, asked)  # "没挂过科", "一门都没挂": none of the things counted
    if zeros or others:
        gone = [(z.start, z.end) for z in zeros] + others
        found = sorted([q for q in found if not any(a <= q.start < b for a, b in gone)] + zeros, key=lambda q: q.start)
    found = found if asked else [q for q in found if not counts_another(slot, cues, text, q)]  # "一辆小轿车"
    if ELAPSED.search(slot.ask) and unit == "天" and not found:
        return days_ago(text, cues, asked)
    if unit == "岁" or (years_first(slot.ask) and "岁" in slot.unit_words()):
        # an age in 岁, or one in months that takes 岁 (in its range), where the question does not
        # ask in months first ("几个月或几岁几个月", "按月计": there a bare number is months)
        other, years = about_another(slot), slot.unit_words().get("岁", 1.0)
        return [replace(q, unit="岁") if (q.unit is None and age_said(text, spans, q, other) and
                                          (slot.max is None or q.value * years <= slot.max))
                or english_age(text, spans, q, other) else q for q in found]
    return found


def _before_in_other_unit(spec: FormSpec, name: str, text: str, fix: int) -> bool:
    """Whether a quantity before the correction word is in a unit only another number slot reads:
    what follows the correction corrects that one, unless the correction names this slot
    ("二十天。哦价格说错了，是三千八")."""
    slot = spec.slots[name]
    if any(c in text[slice(*clause_of(clause_spans(text), fix))] for c in _naming(spec, name)):
        return False
    for n, other in spec.slots.items():
        if n != name and other.type in ("integer", "number"):
            for q in quantities(text[:fix], other.unit_words()):
                if q.unit is not None and q.unit in other.unit_words() and \
                        convert_quantity(q, slot.counts_in(), slot.unit_words()) is None:
                    return True
    return False


def _others_unit(spec: FormSpec, name: str, low: str, end: int) -> bool:
    """Whether a unit word the slot does not read follows a number: one only another number slot
    reads (口人 of a count of people, said to a question about months), or a word of money the
    slot counts in no unit of ("三千块钱" to an investment in 万元)."""
    mine = spec.slots[name].unit_words()
    rest = low[end:].lstrip()
    theirs = [w for n, s in spec.slots.items() if n != name and s.type in ("integer", "number") for w in s.unit_words()]
    return any(rest.startswith(w.lower()) and w not in mine for w in (*theirs, *SAME_UNIT[0]))


def _own_unit(spec: FormSpec, name: str, said: Quantity, converted: bool) -> bool:
    """A number said in a slot's own unit that is no duration (3000元, 块 for 元), which no other
    slot of the form could take: it says which slot it is for (not a scale word: 五万 of wages)."""
    unit = spec.slots[name].counts_in()
    if said.unit is None or converted or unit is None or unit in UNITS or said.unit in SCALE_WORDS:  # (五万 is said of any amount)
        return False
    return not _counted_by_other(spec, name, said) and not any(
        said.unit in s.unit_words() for n, s in spec.slots.items() if n != name and s.type in ("integer", "number"))


_MONEY_SCALE = re.compile(r"[\d.,]+\s*[kKwW]")
_WHOLE = 0.05  # a converted value this near a whole number is that number (一年半 is 18 months; 178天 is no 6)
_EPS = 1e-9  # "just inside" an open end of a number slot, relative to the number
_LIMIT = 1e15  # as far as a number may go (see validate)


def inside(slot: Slot, q: Quantity) -> tuple[float, float] | None:
    """The ends of a bounded quantity just inside its interval and the slot's range (whole
    numbers for an integer slot: 不到30天 is 29 at most), or None when nothing is left."""
    lo, hi = q.interval()
    if slot.type == "integer":
        real = lo
        lo = lo if math.isinf(lo) else math.ceil(lo) if q.low_in else math.floor(lo) + 1
        hi = hi if math.isinf(hi) else math.floor(hi) if q.high_in else math.ceil(hi) - 1
        if lo > hi and not math.isinf(real):
            lo = hi = math.floor(real)  # 快八年 (7.2 to 8) holds no whole number: 7 whole years are done
    else:
        lo = lo if q.low_in or math.isinf(lo) else lo + _EPS * max(1.0, abs(lo))
        hi = hi if q.high_in or math.isinf(hi) else hi - _EPS * max(1.0, abs(hi))
    lo = max(lo, -_LIMIT if slot.min is None else slot.min)
    hi = min(hi, _LIMIT if slot.max is None else slot.max)
    return (float(lo), float(hi)) if lo <= hi else None


def _point(slot: Slot, q: Quantity, span: tuple[float, float]) -> float:
    """A value to store for a bound: the number said if the bound allows it (至少6个月, 二十多天),
    else the middle of a closed interval (不到一年: half a year), else the end nearest it."""
    lo, hi = span
    if lo <= q.value <= hi:
        return q.value
    a, b = q.interval()
    if math.isinf(a) or math.isinf(b):
        return lo if abs(lo - q.value) <= abs(hi - q.value) else hi
    mid = min(max((a + b) / 2, lo), hi)  # of the words' interval: 不到一年 is 0.5, not 0.4999999995
    return float(min(max(round(mid), lo), hi)) if slot.type == "integer" else mid
