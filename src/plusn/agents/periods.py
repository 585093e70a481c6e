"""A thing's time over or not, in a yes/no slot's reply: "试用期早过了", "试用期还没过就被辞退了",
"试用期三个月" (how long the period lasts: no yes or no). :mod:`.yes_no` reads these before any
verb of the slot's, since the slot's words may hold the noun's first character."""

from __future__ import annotations

import functools
import re

from .cues import cue_words
from .glosses import only_nouns
from .quantities import quantities
from .spec import FormSpec, Slot
from .utterance import PUNCT, Reading, clause_of, clause_spans
from .verbs import HEDGE


def named_noun(spec: FormSpec, name: str, t: str) -> tuple[str, int] | None:
    """The first of the slot's words the text says that the dictionary has only as a noun (a
    thing, not a doing: 试用期, 居住证; not 登记), and where it ends."""
    said = sorted((t.find(c), -len(c), c) for c in cue_words(spec, name) if c in t)
    if not said:
        return None
    nouns = _form_nouns(tuple(c for n in spec.slots for c in cue_words(spec, n)))
    return next(((c, at + len(c)) for at, _, c in said if c in nouns), None)


@functools.lru_cache(maxsize=64)
def _form_nouns(cues: tuple[str, ...]) -> frozenset[str]:
    """Those of a form's words the dictionary has only as nouns: every slot's at once, so the
    dictionary file is scanned once per form, not once per word a reply says."""
    return only_nouns(cues)


def time_over(slot: Slot, t: str, found: tuple[str, int]) -> Reading | None:
    """A thing's time said over or not ("试用期早过了", "试用期还没过就被辞退了"), read the way the
    author's own words of it say over (试用期已过, a no word: over is a no; 超过有效期, a yes
    word: over is a yes); None where no word of the author's says it, or the reply says
    something else of the thing. A verb's "登记过了" is done, not over: only a noun's time
    passes. Certain only of a period (a noun in 期) said plainly, with nothing after it (or after
    its length: "试用期三个月，早过了"); otherwise a guess."""
    noun, at = found
    own = [(w.lower(), value) for ws, value in ((slot.yes_words, True), (slot.no_words, False)) for w in ws]
    # the author's words that say the thing itself over (试用期已过, 过了试用期, 超过有效期; not the
    # 过 of a verb done, 签过合同)
    says_over = {value for w, value in own if noun in w and _OVER_WORD.fullmatch(w.replace(noun, ""))}
    if len(says_over) != 1:
        return None
    spans = clause_spans(t)
    ce = clause_of(spans, at - 1)[1]
    m = _OVER.match(t, at, ce)
    if m is None and _LENGTH_ONLY.fullmatch(t, at, ce) and ce < len(t):
        # the thing's length, then its time over in the next clause, of no other subject
        ns, ne = clause_of(spans, min(len(t) - 1, ce + 1))
        m = _OVER.match(t, ns, ne)
    if m is None:
        return None
    over = says_over.pop()
    # certain only of a period (试用期, 有效期: its time is what passes; 居住证过了 may be approved),
    # said plainly, with nothing after it
    sure = noun.endswith("期") and not HEDGE.search(t) and not PUNCT.sub("", t[m.end():])
    return Reading(over if m.group(1) is None else not over, sure=sure)


def a_period_length(t: str, found: tuple[str, int]) -> bool:
    """Whether the reply gives a period's length right after naming it ("试用期三个月"): how long
    it lasts, no yes or no (a period is a noun ending in 期; "社保五年了" is paid for five)."""
    if not found[0].endswith("期"):
        return False
    rest = t[found[1]:]
    # (with 了 it is how long one has been in it: "试用期三个月了")
    return any(q.start == 0 and q.unit in _TIME_UNITS and not rest[q.end:].lstrip().startswith("了")
               for q in quantities(rest))


_TIME_UNITS = ("年", "月", "周", "天", "日", "小时")
# an author's word, without its noun, that says the noun's time over: 试用期已过, 过了试用期, 超过有效期
_OVER_WORD = re.compile(r"(?:已经|已|早就|早)?(?:超过|过|满|结束|到期)了?|过了|超过了?")
# its time over or not, up to the clause's end or to what followed (就, 才: "还没过就被辞退了")
_OVER = re.compile(r"\s*(?:早就|早|已经|已|都|也|就|还)?(没有|没|未)?(?:过|过去|结束|满|到期)(?:[了啊呀的啦呢]*[\s。！!.]*$|[了]?(?:就|才))")
_LENGTH_ONLY = re.compile(r"\s*(?:是|有|只有|就)?[\d一二两三四五六七八九十半几]+个?(?:年|月|周|天|星期|礼拜)[的了吧]*\s*")
