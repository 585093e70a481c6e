"""An age said without its unit: after 今年 or the person it is said of ("我爸七十五了"), or, in
English, after "I'm" or "he is" ("I'm 29", "he turned 6 in March"), of one person only. Its unit
is 岁 by the custom of speech, also for a slot that counts months, unless its question asks in
months first ("几个月或几岁几个月")."""

from __future__ import annotations

import re

from .corrected import ME
from .quantities import quantities
from .quantity import Quantity
from .spec import FormSpec, Slot
from .utterance import MEASURE, SOMEONE_ELSE, clause_of

# before a number, what makes it an age without 岁: this year, or the person it is said of
_AGE_LEAD = re.compile(r"(?:我(?:" + SOMEONE_ELSE.pattern + r")?|" + SOMEONE_ELSE.pattern +
                       r"|今年|岁数|年纪|年龄)(?:今年|现在|都|已经|快|刚|才|正好|也|有)*\s*$")
_PERSON_FIRST = re.compile(r"\s*(?:我(?:" + SOMEONE_ELSE.pattern + r")?|" + SOMEONE_ELSE.pattern + r")")


def age_said(text: str, spans: list[tuple[int, int]], q: Quantity, other: bool) -> bool:
    """Whether a number with no unit is the slot's age: after 今年 or the person it is said of
    ("我爸七十五了"), or all its clause says after a clause that opens with that person ("我爸本地户口，
    七十出头"). ``other``: the slot is about another person than the user, whose age is said after
    a person word, not after 我 ("我今年四十五" is the user's); else only 我's or 今年's counts."""
    cs, _ = clause_of(spans, q.start)
    if MEASURE.match(text, q.end):
        return False  # "我妈一个人住": a count of things
    lead = _AGE_LEAD.search(text[cs:q.start])
    if lead is None:
        ps = next((a for a, b in reversed(spans) if b <= cs), None)
        lead = _PERSON_FIRST.match(text, ps) if not text[cs:q.start].strip() and ps is not None else None
    if lead is None:
        return False
    said = lead.group().strip()
    if SOMEONE_ELSE.search(said):
        return other  # "我爸七十五了": an age of the person the slot asks about, if it is another's
    if said.startswith("我"):
        return not other  # "我今年四十五": the user's own
    return not other or not re.search(r"我\s*$", text[cs:lead.start()])  # "今年七十"


# an age said in an English message, now and plainly: "I'm 29", "29 years old", "he is 75", "he
# turned 6 in March"; of one person only (no "I'm 82 and my son is 50", "my mother lives with my
# wife, she's 60"), one age said, nothing to come, past or corrected ("turns 80 in December", "29
# when I graduated", "she's 80, sorry, 79"), and ending its clause ("he is 65 kg", "she's 70 or 80")
_EN_SELF = re.compile(r"\b(?:i'?m|i am)\s*$", re.I)
_EN_OTHER = re.compile(r"\b(?:she|he)(?:'s|\s+is|\s+turned)\s*$", re.I)
_EN_RELATIVE = re.compile(r"\bmy\s+(?:mother|father|mom|mum|dad|son|daughter|kid|child|grand\w*|wife|husband|"
                          r"parents?|brother|sister|uncle|aunt|partner|boss|friend)\b", re.I)
_EN_PERSON = re.compile(r"\b(?:she|he|him|his|her|them|they|their)\b", re.I)
_EN_SELF_AGE = re.compile(r"\b(?:i'?m|i am)\s+\d", re.I)
_EN_NOT_NOW = re.compile(r"\b(?:when|was|were|ago|will|next|last|turns|turning|be|sorry|actually|mean)\b|'ll\b",
                         re.I)
_EN_AGE_END = re.compile(r"(?:[\s-]*old)?\s*(?:now|already|this year)?\s*[.!]?\s*$", re.I)
_EN_IN_MONTH = re.compile(r"\s*in\s+(?:january|february|march|april|may|june|july|august|september|october|"
                          r"november|december)\s*[.!]?\s*$", re.I)


def english_age(text: str, spans: list[tuple[int, int]], q: Quantity, other: bool) -> bool:
    """Whether a number of an English message is the slot's age (see _EN_SELF): the user's after
    "I'm" where the slot asks the user's and the message names no one else; another's after he or
    she where it asks another's, one relative at most is named and the user gives no age of their
    own. ``other`` as in :func:`age_said`."""
    cs, ce = clause_of(spans, q.start)
    before, after = text[cs:q.start], text[q.end:ce]
    if re.search(r"[\u4e00-\u9fff]", text) or _EN_NOT_NOW.search(text) or \
            q.unit not in (None, "年") or (q.unit == "年" and not re.match(r"[\s-]*old\b", after, re.I)):
        return False
    ages = sum(x.value < 130 for x in quantities(text))  # every number an age could be (a year, 2012, is none)
    turned = re.search(r"turned\s*$", before, re.I) is not None
    if ages > 1 or not (_EN_AGE_END.match(after) or (turned and _EN_IN_MONTH.match(after))):
        return False
    if _EN_SELF.search(before) or (q.unit == "年" and not before.strip()):
        return not other and not _EN_RELATIVE.search(text) and not _EN_PERSON.search(text)
    return other and _EN_OTHER.search(before) is not None and not _EN_SELF_AGE.search(text) and \
        len({m.group().lower() for m in _EN_RELATIVE.finditer(text)}) <= 1


def years_first(ask: str) -> bool:
    """Whether a question names 岁 before 月, or neither (an age said bare is in 岁 by custom)."""
    y, m = ask.find("岁"), ask.find("月")
    return m < 0 or 0 <= y < m


def unsaid_years(text: str, said: Quantity) -> bool:
    """Whether an age's 岁 is the custom of speech, not said ("孩子十三了")."""
    return said.unit == "岁" and "岁" not in text[said.start:said.end + 1]


def _takes_ages(slot: Slot) -> bool:
    return slot.type in ("integer", "number") and (slot.counts_in() == "岁" or "岁" in slot.unit_words())


# not the age now of the one the slot asks about: a difference ("比我侄子小两岁", "差两岁"), an age to
# come ("九月份满三岁", "等它三个月大了再来"), and in a message of two of a kind ("老二刚出生，老大三岁了")
# or of another's ("邻居家狗三岁"), any age
_LATER = r"等|再|月份|生日|到时|以后|将来|明年|下个?月|那年|时候"
# before the age ("待到三个月大才接回来"; a rule, "只收两岁以上的")
_NOT_NOW = re.compile(r"比|差|[大小]\s*$|到\s*$|只收|才收|要求|规定|" + _LATER)
_LATER_AFTER = re.compile(_LATER + r"|[以之][上下内]的")  # after it, in its clause ("三岁那年")
_OTHERS = re.compile(r"邻居|别人|人家|朋友|同事|亲戚|同学|侄|外甥|另一|另外|其他|其它|[哥姐弟妹]|猫|[那一两几]只")
_ONE_OF = re.compile(r"老[大二三四幺小]|[大小]的|[大二三小]宝|[大小二](?:儿子|女儿|闺女)")


def an_age(spec: FormSpec, name: str, text: str, said: Quantity, spans: list[tuple[int, int]]) -> bool:
    """Whether a quantity is said as an age ("两岁三个月", "三周岁", "八个月大") to the one number
    slot of the form that takes ages in 岁: an age names that slot as its own unit would, unless
    the user says it of themselves ("我今年三十岁"), of another, or of another time (:data:`_NOT_NOW`)."""
    if said.unit is None or not _takes_ages(spec.slots[name]) or \
            any(_takes_ages(s) for n, s in spec.slots.items() if n != name):
        return False
    cs, ce = clause_of(spans, said.start)
    if _NOT_NOW.search(text, cs, said.start) or _LATER_AFTER.search(text, said.end, ce) or \
            _OTHERS.search(text) or len(set(_ONE_OF.findall(text))) > 1:
        return False
    return ("岁" in text[said.start:said.end] or text.startswith("大", said.end)) and \
        ME.search(text, cs, said.start + 1) is None
