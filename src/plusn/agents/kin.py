"""Whose a number is, by kin: a child's (儿子, 女儿, 娃), a parent's (爸, 妈), a spouse's or a
grandparent's. A form may ask two people's ages ("孩子多大了", "父母中年龄较大的一位多少岁"), and
"我儿子今年十七岁" is the child's: the last person named before a number says whose it is."""

from __future__ import annotations

import re

from .quantities import Quantity
from .spec import FormSpec, Slot

# the closed class of kin words, by the person they name (老人 is a parent or a grandparent)
_KIN: dict[str, tuple[str, ...]] = {
    "child": ("孩子", "儿子", "女儿", "闺女", "小孩", "娃", "宝宝", "子女"),
    "parent": ("父母", "爸", "妈", "父亲", "母亲", "爹", "娘", "老人", "老爷子", "老太太"),
    "spouse": ("老婆", "老公", "爱人", "妻子", "丈夫", "媳妇", "配偶"),
    "grandparent": ("爷爷", "奶奶", "外公", "外婆", "姥姥", "姥爷", "老人"),
}
_PERSON = re.compile("|".join(sorted({w for ws in _KIN.values() for w in ws} | {"我", "本人"}, key=len, reverse=True)))


def _groups(word: str) -> frozenset[str]:
    return frozenset(k for k, ws in _KIN.items() if word in ws)


def slot_kin(slot: Slot) -> frozenset[str]:
    """The kin the slot asks about, by its own words (孩子年龄: a child's); none for the user's own."""
    own = " ".join([slot.label or "", slot.ask, *slot.aliases])
    return frozenset(k for m in _PERSON.finditer(own) for k in _groups(m.group()))


def kin_asked(spec: FormSpec, name: str) -> frozenset[str]:
    """The slot's kin, where another number slot of the form asks of other kin (a child's age and
    a parent's): there the person named says whose a number is. Elsewhere a kin word names no
    slot ("孩子上托班三个月了" to a form of one child's age is no age)."""
    kin = slot_kin(spec.slots[name])
    others = [slot_kin(s) for n, s in spec.slots.items() if n != name and s.type in ("integer", "number")]
    return kin if kin and any(k and not k & kin for k in others) else frozenset()


def said_of(text: str, at: int) -> frozenset[str]:
    """The kin of the last person named before ``at`` (none after 我: the user's own)."""
    last = None
    for m in _PERSON.finditer(text, 0, at):
        last = m.group()
    return frozenset() if last is None else _groups(last)


def of_kin(spec: FormSpec, name: str, text: str, said: Quantity, asked: bool) -> bool | None:
    """Whether a number is said, in a unit, of the slot's kin where another number slot asks of
    other kin ("女儿…今年大二，二十岁": 二十岁, not the 二 of 大二): as good as a word naming the
    slot. None: said in passing of other kin ("我儿子今年十七岁" is no parent's age)."""
    whose, kin = said_of(text, said.start), kin_asked(spec, name)
    if kin and whose and not whose & kin and not asked:
        return None
    return bool(whose & kin and said.unit)
