"""A count said to be none, with no numeral for it: "没挂过科", "一门都没挂", "没有" to "几门？".

A slot that counts things (courses failed, violations, staff) takes 0 for a reply that denies the
thing counted. Two shapes say it:

- **one, then a no** ("一门都没挂", "一门课都没不及格过", "一次没迟到"): 一 and the slot's own measure,
  then 都, 也 or nothing, then a negator. (Of time, "一年没交" is a year of not paying, so only a
  count: the slot's unit must be a measure word, not a duration.)
- **a no of the thing counted** ("没挂过科", "没有挂科", "从来没有不及格的"): a negator opens the
  clause, after at most a subject and an adverb, and what follows it is the slot's own word (one
  of its cue words or the start of one, "没挂" of 挂科). Asked, a bare "没有" says it too.

A clause that speaks of someone else ("我妹没挂过科") says nothing of the user's count.

A count in the slot's own measure word with another thing after it counts that thing: "开的是一辆
小轿车" is a car, not one parking permit counted in 辆 (:func:`counts_another`).
"""

from __future__ import annotations

import re

from .quantities import quantities
from .quantity import Quantity
from .spec import Slot
from .utterance import ASKING, PAST, SOMEONE_ELSE, SUPPOSE, clause_of, clause_spans, correction_at, topic_of

# the measure words a count is said in (门 of courses, 次 of times, 条 of violations): units that
# are no duration, money or share
COUNTS = frozenset("个份人次件张条位家台笔本辆套项口门科名间处回遍")
_NEGATOR = r"(没有|没|未|无|不)"
_OPENING = re.compile(r"^(?:我们家|我家|家里|我们|我|本人)?(?:一直|从来|从|基本|几乎|都|也|还|压根|根本|目前|现在)*(没有|没|无|未)")
_PARTICLES = re.compile(r"[\s，。！？；、,.!?;~～…了的啊呀呢吧哦嘛]+$")
_BARE = re.compile(r"(?:没有|没|无|零)[了的啊呀呢吧哦嘛]*")


def counts_things(slot: Slot) -> bool:
    """Whether the slot counts things in a measure word ("几门？", "几条违章？"), not a time or sum."""
    unit = slot.counts_in()
    return slot.type in ("integer", "number") and unit is not None and unit in COUNTS and \
        (slot.min is None or slot.min <= 0)


def _denied(negator: str, rest: str, cues: list[str], bare: bool) -> bool:
    """Whether what follows a negator is the slot's thing, not had or not done: one of its words
    or the start of one ("没挂" of 挂科), or, where ``bare`` allows, nothing at all ("一门都没有").
    A negator that begins one of the slot's own words ("没过", "没及格" of courses failed) says the
    thing happened: "一门没过" is one failed."""
    rest = _PARTICLES.sub("", rest)
    if not rest or rest == "有":
        return bare
    if any(c.startswith(negator + rest[0]) or c.startswith(negator[-1] + rest[0]) for c in cues):
        return False
    return any(rest.startswith(c) or c.startswith(rest) for c in cues if c)


def nones(slot: Slot, cues: list[str], text: str, asked: bool) -> tuple[list[Quantity], list[tuple[int, int]]]:
    """The places the text says none of the slot's things, each as a 0 in the slot's unit, and
    the places it says none of someone else's ("我女儿一本都没逾期": no count of one either)."""
    if not counts_things(slot):
        return [], []
    unit = slot.counts_in()
    assert unit is not None
    measures = sorted({unit, *slot.unit_words()}, key=len, reverse=True)
    one = re.compile(rf"(?<!有)一\s*(?:{'|'.join(map(re.escape, measures))})[\u4e00-\u9fff]{{0,2}}?[都也]?{_NEGATOR}")
    cues = [c.lower() for c in cues]
    out: list[Quantity] = []
    others: list[tuple[int, int]] = []
    low = text.lower()
    spans = clause_spans(low)
    fix = max(clause_of(spans, at)[1] if (at := correction_at(low)) >= 0 else -1, -1)
    rest: list[str] = []  # the user's clauses that say no none: any of them may say some ("挂了两门")
    before: list[tuple[int, int]] = []  # the clauses of a time before ("以前有过一个车位")
    bare = False  # the reply opens with a plain no to the question of how many
    for cs, ce in spans:
        clause = low[cs:ce]
        mine = not _OTHERS.search(low[slice(*topic_of(spans, cs))])  # "她弟弟在读高中，挂了好几门"
        m = None if ASKING.search(clause) else one.search(clause)
        if m is not None and _denied(m.group(1), clause[m.end():], cues, bare=True):
            if SOMEONE_ELSE.search(clause):
                others.append((cs + m.start(), cs + m.end()))
            else:
                out.append(Quantity(0.0, unit, cs + m.start(), cs + m.end()))
            continue
        said = clause.lstrip()
        lead = cs + len(clause) - len(said)
        m = None if SOMEONE_ELSE.search(clause) or ASKING.search(clause) else _OPENING.match(said)
        if m is not None and sum(clause.count(c) for c in cues if c) > 1:
            m = None  # "没有挂科……就是挂了一门": the clause goes on to say the thing after all
        first = not low[:cs].strip(" ，。,.!！")
        bare = bare or (m is not None and asked and first and _BARE.fullmatch(_PARTICLES.sub("", said)) is not None)
        if m is not None and (bare or _denied(m.group(1), said[m.end():], cues, bare=False)):
            out.append(Quantity(0.0, unit, lead, lead + m.end()))
        elif _NOT_NOW.search(clause):
            before.append((cs, ce))
        elif mine and not SUPPOSE.search(clause) and cs > fix:
            rest.append(clause)  # (not "挂科的话", a topic, nor what a correction takes back)
    # a none beside a clause that says the thing happened ("没有挂科……就是挂了一门", "没挂，就是体育
    # 没过") or counts some in the slot's measure ("没挂，我们学校叫重修，重修了一门") says neither
    # (a plain no that opens the reply answers how many, whatever it says the user has: "没有，就这一辆")
    if any(c in clause for clause in rest for c in cues) or (not bare and any(
            q.value and q.unit in measures for q in quantities("，".join(rest), slot.unit_words()))):
        # (neither is "一辆都没有" a count of one)
        return [], others + [(q.start, q.end) for q in out if text[q.start] == "一"]
    # none now: a count of a time before is not the answer ("以前有过一个车位，…，现在一个都没有")
    return out, others + (before if out else [])


# someone else, and the words that say a thing was someone else's ("那是我室友挂的")
_OTHERS = re.compile(rf"{SOMEONE_ELSE.pattern}|同学|房东|那是|[他她](?!们)")
# a clause of a time before ("以前有过一个车位") or an order ("家里第一辆车"): no count of now
_NOT_NOW = re.compile(rf"{PAST.pattern}|去年|前年|当时|那时|第[一二两三四五六七八九十\d]", re.I)


_PARTICLE = re.compile(r"[\s，。！？；、,.!?;~～…了的啊呀呢吧哦嘛都也还]|$")


def counts_another(slot: Slot, cues: list[str], text: str, q: Quantity) -> bool:
    """Whether a count in one of the slot's measure words has a thing after it that is none of
    the slot's words ("一辆小轿车", "两个孩子"), so that it counts that thing; "一张月卡", "两个，"
    and "一个车位" count the slot's."""
    if not counts_things(slot) or not q.value or q.unit is None or q.unit not in {slot.counts_in(), *slot.unit_words()}:
        return False
    low = text.lower()
    rest, cs = low[q.end:], clause_of(clause_spans(low), q.start)[0]
    if SOMEONE_ELSE.search(low, cs, q.start):
        return True  # "没有车位（隔壁老王家倒是有两个）": someone else's
    if any(c in low[cs:q.start] for c in cues if c):
        return False  # "挂了一门大学物理": the slot's word before it says what is counted, and names one
    return _PARTICLE.match(rest) is None and not any(rest.startswith(c) or c.startswith(rest[:2]) for c in cues if c)
