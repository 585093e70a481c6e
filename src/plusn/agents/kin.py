"""Whose a number is, by kin: a child's (儿子, 女儿, 娃), a parent's (爸, 妈), a spouse's or a
grandparent's. A form may ask two people's ages ("孩子多大了", "父母中年龄较大的一位多少岁"), and
"我儿子今年十七岁" is no parent's age: the last person named before a number says whose it is."""

from __future__ import annotations

import re

from .quantity import Quantity
from .spec import FormSpec, Slot

# the closed class of kin words, by the person they name (老人 is a parent or a grandparent)
_KIN: dict[str, tuple[str, ...]] = {
    "child": ("孩子", "儿子", "女儿", "闺女", "姑娘", "小孩", "娃", "宝宝", "子女"),
    "parent": ("父母", "爸", "妈", "父亲", "母亲", "爹", "老人", "老爷子", "老太太"),
    "spouse": ("老婆", "老公", "爱人", "妻子", "丈夫", "媳妇", "配偶"),
    "grandparent": ("爷爷", "奶奶", "外公", "外婆", "姥姥", "姥爷", "老人"),
}
# people of no kin above: relatives by blood or marriage, and another's kin (他儿子, 孩子他爸)
_OTHER = ("舅", "姑姑", "姑妈", "姑父", "姨", "叔", "伯", "婶", "哥", "姐", "弟", "妹", "侄", "甥", "孙", "岳", "公公", "婆婆",
          "干爹", "干妈", "朋友", "同事", "邻居", "同学", "工友", "师傅", "领导", "老板")
_WORDS = sorted({w for ws in _KIN.values() for w in ws} | set(_OTHER) | {"我", "本人"}, key=len, reverse=True)
_PERSON = re.compile("|".join(_WORDS))
_ANOTHERS = re.compile(r"[他她你]\s*$")  # 他儿子, 孩子他爸: the kin of someone else
_AFTER = re.compile(r"[舅姑姨叔伯婶岳干]\s*$")  # 舅妈, 干妈, 岳父: no parent of the user's


def _groups(word: str) -> frozenset[str]:
    return frozenset(k for k, ws in _KIN.items() if word in ws)


def _kin_of(slot: Slot) -> frozenset[str]:
    """The kin the slot asks about, by its own words (孩子年龄: a child's); none for the user's own."""
    own = slot.own_words()
    return frozenset(k for m in _PERSON.finditer(own) for k in _groups(m.group()))


def _said_of(text: str, at: int) -> frozenset[str] | None:
    """The kin of the last person named before ``at`` in its sentence: empty for another person
    (a brother, an uncle's wife, another's son), None where none is named or the user is."""
    people = list(_PERSON.finditer(text, max(text.rfind(c, 0, at) for c in "。！？!?;；") + 1, at))
    if not people or people[-1].group() in ("我", "本人"):
        return None
    last, before = people[-1], people[-2] if len(people) > 1 else None
    # another's kin: 他儿子, 孩子他爸, 舅妈; 我哥的儿子, 同事的女儿 (not 我的儿子)
    owned = before is not None and text[before.end():last.start()].strip() == "的" and before.group() not in ("我", "本人")
    if owned or _ANOTHERS.search(text, 0, last.start()) or _AFTER.search(text, 0, last.start()):
        return frozenset()
    return _groups(last.group())


def whose(spec: FormSpec, name: str, text: str, said: Quantity) -> bool | None:
    """Whether a number is said of the slot's kin (True) or of someone else (False), where another
    number slot asks of other kin than this one (a child's age and a parent's): "我儿子今年十七岁"
    is the child's, no parent's, and "我哥今年45岁" neither's. None where it cannot tell: no kin
    named, or a form whose kin words name no slot apart."""
    of = _said_of(text, said.start)  # first: most messages name no one but the user (every slot, every number)
    if of is None:
        return None
    kin = _kin_of(spec.slots[name])
    others = [_kin_of(s) for n, s in spec.slots.items() if n != name and s.type in ("integer", "number")]
    return bool(of & kin) if kin and any(k and not k & kin for k in others) else None
