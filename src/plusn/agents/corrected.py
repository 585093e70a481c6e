"""Whose a number in a correction is: the answer held, said again as someone else's ("说错了，六十八
是我老伴的岁数"), is what the correction takes back; the user's own number beside it ("我本人七十二")
is what it gives. :mod:`.numbers` reads a slot's number with these."""

from __future__ import annotations

import re

from .cues import cue_words, names_another
from .quantities import convert_quantity, quantities
from .quantity import Quantity
from .spec import FormSpec, Slot
from .utterance import MEASURE, NOW, PAST, SOMEONE_ELSE, WHOLE, by_correction, clause_of, clause_spans

_OF_SOMEONE = re.compile(r"[^，。！？；,.!?;是]{0,3}是[^，。！？；,.!?;]*")  # (岁是, 那个是, 说的是)
# the user as the subject of a number: 我28, 我本人七十二, 我今年才三十 (not 我岳父60, 我家老大3岁)
ME = re.compile(r"(?:我(?:本人|自己)?|本人)的?(?:今年|现在|目前)?(?:已经|才|都|是|也就)?(?=\s*[\d零〇一二两三四五六七八九十])")
# a number said beside another, or as a part of something: 他比我妈多七百, 我自己两千五，加起来…
_RELATIVE = re.compile(r"比|加起来|加上|一共|总共|合计|另外|还要|也")


def _said_to_be(text: str, q: Quantity) -> str | None:
    """What a number is said to be right after it ("六十八是我老伴的岁数": "是我老伴的岁数"), if anything."""
    m = _OF_SOMEONE.match(text, q.end)
    return None if m is None else m.group()


def attributed(text: str, q: Quantity) -> bool:
    """Whether the number is said to be someone else's: "一百零五是我儿子那套", "六十八是我老伴的岁数"."""
    said = _said_to_be(text, q)
    return said is not None and SOMEONE_ELSE.search(said) is not None


def _held(slot: Slot, q: Quantity, old: float) -> bool:
    """Whether the quantity, in the slot's unit, is the answer held."""
    c = convert_quantity(q, slot.counts_in(), slot.unit_words())
    return c is not None and c.value == old


def corrected(text: str, said: Quantity, found: list[Quantity], old: float) -> bool:
    """Whether the answer held, said again, is what a correction corrects: another number follows
    the correction word, or follows this one said as someone else's right after it."""
    low = text.lower()
    return any(o.value != old and (by_correction(low, o.start) or (
        by_correction(low, said.start) and o.start > said.start and attributed(text, said))) for o in found)


def disowns(spec: FormSpec, name: str, text: str, found: list[Quantity], old: float) -> bool:
    """Whether a correction says the answer held was someone else's ("说错了，六十八是我老伴的岁
    数，我本人七十二"): then the user's own number in it is the answer (:func:`the_users`), and the
    held one is not said again as the answer. Not when it is said to be another slot's kind of
    thing ("68是老伴的年龄" of an area held: the numbers are of two questions)."""
    return any(attributed(text, f) and not names_another(spec, name, _said_to_be(text, f) or "")
               and _held(spec.slots[name], f, old) for f in found)


def names_the_slot(spec: FormSpec, name: str, text: str, found: list[Quantity], old: float) -> bool:
    """Whether the held answer is disowned as someone else's in the slot's own words ("六十八是我老伴
    的岁数" of an age): only then may a bare number of the user's be taken for it surely."""
    own = cue_words(spec, name)
    return any(attributed(text, f) and any(c in (_said_to_be(text, f) or "") for c in own)
               and _held(spec.slots[name], f, old) for f in found)


def the_users(slot: Slot, text: str, clause: tuple[int, int], at: int, about_another: bool) -> bool:
    """Whether the number at ``at`` is said as the user's own, after a correction disowned the answer
    held: the user named right before it in its clause, no one else, nothing it is compared or
    added to, and the slot neither a whole (a household's income is not the user's part of it) nor
    about someone else (``about_another``: an elder's income, asked of a son or daughter)."""
    cs, ce = clause
    return ME.search(text, cs, at + 1) is not None and SOMEONE_ELSE.search(text, cs, at) is None and \
        _RELATIVE.search(text, cs, ce) is None and WHOLE.search(slot.ask) is None and not about_another


# a time before now that a number may be said of: "大一的时候是前百分之六十", "以前每月三千"
_THEN = re.compile(rf"{PAST.pattern}|的时候|那时候?|当时|刚开始|一开始|起初|去年|前年|上次", re.I)
# what a now adds to or changes by, not replaces: "现在又交了三年", "现在一共", "现在涨了五百"
_ADDS = re.compile(r"又|再|也|还|加起来|一共|总共|累计|合计|涨|降|多|少|加了|追加|减|增|扣|退了|亏|赚|便宜|贵了|补")
# a question of a time before ("上一学年…排名", "离职前的工资"): then's number may be the one meant
_BEFORE_ASKED = re.compile(r"上一?学年|上学期|去年|上一?年|上个?月|之前|以前|前\s*[\d一二两三四五六七八九十]*\s*个?月|"
                           r"(?:离职|解除|合同|辞职|退休|受伤|出事)前|当时")
AMBIGUOUS = -2  # (then_and_now) numbers of then and of now, to a question of a time before


def then_and_now(text: str, found: list[Quantity], slot: Slot) -> int:
    """Where "now" begins, when numbers are said of a time before it and again after it ("大一的
    时候是前百分之六十，上学年进步了，现在是前百分之四十左右"): what now holds is read, as after a
    correction, but as a guess to confirm; :data:`AMBIGUOUS` where the question asks of a time
    before ("去年前百分之三十，现在前百分之五十五" to a question of last year: either may be meant);
    or -1. Not where now adds to what was before or changes it by an amount ("现在又交了三年",
    "现在涨了五百", "现在少一千")."""
    now = NOW.search(text)
    if now is None or not _THEN.search(text, 0, now.start()):
        return -1
    clause_end = min((m.start() for m in re.finditer(r"[，。！？；,.!?;]", text) if m.start() > now.end()), default=len(text))
    # the same kind of number before now and in now's clause, both the slot's (in its unit and
    # range), no count of things ("现在一个人住", "过去每月四千，目前家里三口人" to the household's size)
    def the_slots(q: Quantity) -> bool:
        v = convert_quantity(q, slot.counts_in(), slot.unit_words())
        return v is not None and (slot.min is None or v.value >= slot.min) and (slot.max is None or v.value <= slot.max)

    before = {q.unit for q in found if q.end <= now.start() and the_slots(q)}
    after = [q for q in found if now.end() <= q.start < clause_end and not MEASURE.match(text, q.end) and the_slots(q)]
    if not any(q.unit in before for q in after):
        return -1
    if _ADDS.search(text, now.end(), clause_end):
        return -1
    return AMBIGUOUS if _BEFORE_ASKED.search(slot.ask) else now.start()


def in_its_own_unit(spec: FormSpec, name: str, text: str, q: Quantity) -> bool:
    """Whether a number after a correction is in the slot's own unit, in a clause that names no
    other slot: the answer corrected though another slot counts in that unit too ("欠了两个月，哦
    不对，应该是五个月了"; not "…，合同还剩五个月到期", which names the lease's)."""
    if q.unit != spec.slots[name].counts_in():
        return False
    cs, ce = clause_of(clause_spans(text), q.start)
    return not names_another(spec, name, text[cs:ce], by_word=True)


def denied_answer(spec: FormSpec, text: str, values: dict[str, object], at: int | None) -> str | None:
    """The one number slot whose answer held a correction says it is not, when the number read at
    ``at`` is the one right after, in the same unit, in a clause that names no other slot ("说错了，
    不是八个月，是两个月"; not "不是三个月，刚过去没几天，她72了", nor "不是两年，离职一个多月")."""
    names = set()
    for n, v in values.items():
        slot = spec.slots.get(n)
        if slot is None or slot.type not in ("integer", "number") or isinstance(v, bool):
            continue
        found = quantities(text, slot.unit_words())  # in the slot's own units too (平米, 个平方)
        new = next((q for q in found if q.start == at and q.unit is not None), None)
        if new is None or names_another(spec, n, text[slice(*clause_of(clause_spans(text), new.start))]):
            continue
        for i, q in enumerate(found):
            c = convert_quantity(q, slot.counts_in(), slot.unit_words())
            if text[max(0, q.start - 3):q.start].rstrip().endswith("不是") and found[i + 1:i + 2] == [new] \
                    and new.unit == q.unit and c is not None and c.value == v:
                names.add(n)
    return names.pop() if len(names) == 1 else None
