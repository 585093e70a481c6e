"""Numbers that count people or things ("三个人", "员工就两个", "没招人"): whether a count is the
slot's, and whether it is all its clause says, so that it may be taken as said."""

from __future__ import annotations

import re

from .predicates import UNDER_WAY, echoed
from .quantity import Quantity
from .spec import Slot
from .utterance import ASKING, MEASURE, clause_of

# a count said with 个 and nothing after it ("员工就两个", "两个吧")
_COUNT_END = re.compile(r"\s*个[了的吧啊呀呢哦]*(?=[\s，。！？；、,.!?;~～…]|$)")


def bare_count(slot: Slot, text: str, said: Quantity, named: bool) -> bool:
    """Whether "两个", said to a slot that counts things (人, 套, 次) that is asked or named, is its
    count: the measure word ends the clause, so nothing else is counted."""
    unit = slot.counts_in()
    return named and unit is not None and MEASURE.fullmatch(unit) is not None and _COUNT_END.match(text, said.end) is not None


_FILLER = re.compile(r"就|只|有|目前|现在|了|吧|啊|呀|的|是|个|大概|差不多|[招雇请聘]了?|[\s，。！,.!~]")
# what another clause may not hold beside a plain count: a negation, a contrast, what was before,
# people the user names, a number ("面试了三个，都没来", "员工有三个，但社保只交了一个")
_CHANGES = re.compile(r"[不没未非无但只剩走辞过曾我俩两一二三四五六七八九十百\d明下再等要还挂后]|不过|可是|以前|之前|原来|自己|老婆|"
                      r"老公|家|亲戚|儿|女|爸|妈|准备|打算")  # (明年, 下个月, 还在, 要等: not yet done)


def counted(slot: Slot, text: str, said: Quantity) -> bool:
    """Whether the number counts people or things with a measure word, or none of them: "三个人",
    "员工就两个", "没招人" (see Quantity.counted)."""
    return said.counted or (said.unit is None and bare_count(slot, text, said, True))


def plain_count(text: str, said: Quantity, spans: list[tuple[int, int]], cues: list[str], ask: str) -> bool:
    """Whether a count is all its clause says, but for the slot's words and a few fillers ("目前就两个
    员工", "没招人"; not "加上我一共三个人"), and no other clause may change it ("面试了三个，都没来";
    "现在有五个员工，合同社保都有" is plain)."""
    cs, ce = clause_of(spans, said.start)
    rest = text[cs:said.start] + text[said.end:ce]
    for c in sorted(cues, key=len, reverse=True):
        rest = rest.replace(c, "")
    others = [text[a:b] for a, b in spans if (a, b) != (cs, ce)]
    # another clause only restates the question's own conditions as met, and plainly ("合同社保都有"
    # to "…签了劳动合同并缴纳了社保？"; not "都是临时的", "社保在办", "社保明年交")
    # none of them, and the user alone ("没雇人，就我自己"): the same thing said twice
    alone = said.value == 0 and said.counted
    return not _FILLER.sub("", rest) and not ASKING.search(text) and \
        all((echoed(ask, o) is True and not _CHANGES.search(o) and not UNDER_WAY.search(o))
            or (alone and _ME_ALONE.fullmatch(o.strip(" ，,。.！!~")) is not None) for o in others)


_ME_ALONE = re.compile(r"(?:就|只有|只)?我(?:自己)?(?:一个人)?(?:在[干弄做忙])?(?:呢|啊|呀|吧)?")
