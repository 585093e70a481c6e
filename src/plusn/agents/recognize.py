"""Reading a message for the facts it states, and only those: the rules, the fast head.

A word of an option is not yet an answer. "我在本市工作" mentions 本市 but says nothing of
where the user's household is registered; "户口不在本市" says the opposite of 本市. So a rule
match counts only when it is unambiguous:

- **negation scope:** a negator (不, 没, 未, 非, 无, not) just before the word, in the same clause,
  turns it around; of two options, the negated one means the other;
- **the slot the question asked about:** a reply to a question may answer it with a bare word
  (本市, 是的, 8) — the question gives the word its slot;
- **cue words:** a message that answers no question counts a bare option word only where a word
  that names the slot stands in the same clause (户口, 户籍, 离职), or where the word itself is
  the specific kind (外地户口, 外地人). Cue words come from the slot's label, its question, its
  aliases and the parts its own words share, so a new form needs no list of them.

Generic yes/no words (有, 没, 不是) count only for the asked question, and only when they are the
whole reply, open it, or stand with a cue ("发票还没拿到"); a slot's own yes/no words ("已备案")
count anywhere. A quantity counts for a number slot that is asked, or that a cue names in its
clause; a duration in a unit the slot reads, with no cue, is only a guess, to be confirmed.
A bounded quantity (不到一年, 二十多天, more than 2 years) is read with its interval: ``span``
holds its ends just inside, in the slot's unit and range, for the form to weigh against the
tree (:mod:`.forms`), and ``said`` the user's words, which are shown in place of the value.
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .answers import NO, UNSURE, YES, Invalid, found_at, option_spans, pattern_in, says, validate, words, yes_no
from .lexicon import latin, lexicon, specific
from .quantities import DURATIONS, UNITS, Quantity, convert_quantity, quantities
from .spec import FormSpec, Slot, TreeNode

# Words that say the user is correcting an earlier answer.
CORRECTION = ("不对", "说错", "搞错", "弄错", "写错", "记错", "其实是", "其实", "改成", "改为", "更正", "纠正",
              "应该是", "修改", "actually", "i meant", "correction", "i was wrong", "my mistake")
_NEGATORS = "不没未非无"
_EN_NEGATION = re.compile(r"\b(?:not|no|never|non)\b|n't\b", re.I)
_CLAUSE = re.compile(r"[，。！？；,.!?;\n]|但是|不过|而且|另外|并且|\bbut\b|\band\b", re.I)
_A_NOT_A = re.compile(r"(.)[不没]\1")  # 有没有, 是不是, 能不能: a question's form, not a negation
_ASKING = re.compile(r"[?？]|吗\s*$|呢\s*$|怎么|什么|如何|哪")
_PREDICATE = 6  # characters after a slot's word within which a yes or no is said of it ("也拿到了")
_SHORT = 4  # a reply this short (without punctuation) is the answer itself: 是的, 没有, 不是
_FUNCTION = {"the", "and", "for", "with", "not", "non", "from", "you", "your", "our", "has", "have", "was", "are"}
# A clause that states something: a subject or an auxiliary (the closed class, not a verb list).
_STATES = re.compile(r"\b(?:i|i'm|we|he|she|it|they|[a-z]+'s|have|has|had|did|do|does|was|were|am|is|are|"
                     r"already|done)\b")
_PUNCT = re.compile(r"[\s，。！？；、,.!?;~～…]+")


@dataclass
class Reading:
    """A value read for a slot: ``sure`` unless it is a guess to confirm first."""

    value: Any
    sure: bool = True
    source: str = "rule"  # rule | meaning | model
    said: str | None = None  # a bound's own words ("不到1年"): the value is only a point inside it
    span: tuple[float, float] | None = None  # a bound's ends, just inside, in the slot's unit
    converted: bool = False  # a quantity said in another unit than the slot's (七年 for a count of days)


@dataclass
class Read:
    found: dict[str, Reading] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)  # the asked slot's answer was invalid: why
    correction: bool = False  # the message says an earlier answer was wrong
    asking: bool = False  # the message is a question ("...也能退吗"): its numbers may be another case


def clause_spans(text: str) -> list[tuple[int, int]]:
    """The spans of a message's clauses (split at punctuation and a few connectives)."""
    out, start = [], 0
    for m in _CLAUSE.finditer(text):
        if text[start:m.start()].strip():  # ", but" leaves a blank between two separators: no clause
            out.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        out.append((start, len(text)))
    return out or [(0, len(text))]


def _clause_of(spans: list[tuple[int, int]], at: int) -> tuple[int, int]:
    return next(((s, e) for s, e in spans if s <= at < e), (0, 0))


def _topic(spans: list[tuple[int, int]], at: int) -> tuple[int, int]:
    """The clause of ``at`` with the one before: "户口在老家，不是本市的" names its topic first."""
    i = next((i for i, (s, e) in enumerate(spans) if s <= at < e), 0)
    return spans[max(0, i - 1)][0], spans[i][1]


def negated(text: str, start: int, clause_start: int) -> bool:
    """Whether a negator stands just before ``start`` in its clause (不在本市, 不是本地, not local)."""
    before = text[max(clause_start, start - 4):start]
    if any(c in _NEGATORS for c in before):
        return True
    return bool(_EN_NEGATION.search(text[max(clause_start, start - 16):start]))


def has_correction(text: str) -> bool:
    t = _A_NOT_A.sub(r"\1", text.lower())  # 对不对 asks; its 不对 corrects nothing
    return any(c in t for c in CORRECTION)


def _generic(w: str) -> bool:
    return w in YES or w in NO or all(c in _NEGATORS + "是有的了" for c in w)


# A form's cue words, worked out once per form (every turn reads every slot): id → (form, words).
_CUES: dict[int, tuple[FormSpec, dict[str, list[str]]]] = {}
_CUE_FORMS = 64  # forms kept; a server has a handful, a test run makes many


def cue_words(spec: FormSpec, name: str) -> list[str]:
    """Words that name a slot (see :func:`_cue_words`), cached per form."""
    kept = _CUES.get(id(spec))
    if kept is None or kept[0] is not spec:
        if len(_CUES) >= _CUE_FORMS:
            _CUES.clear()
        kept = _CUES[id(spec)] = (spec, {})
    words_of = kept[1]
    if name not in words_of:
        words_of[name] = _cue_words(spec, name)
    return words_of[name]


def _cue_words(spec: FormSpec, name: str) -> list[str]:
    """Words that name a slot: its label, its aliases, the parts of its label its question
    repeats, and the parts its own words share (户口 of 本市户口 and 外地户口); never an option word."""
    slot = spec.slots[name]
    options = {w for s in spec.slots.values() if s.type == "enum" for ws in s.choices().values() for w in ws} | \
        {w for s in spec.slots.values() if s.type == "enum" for ws in lexicon(s).words.values() for w in ws}
    own = [w for ws in slot.choices().values() for w in ws] if slot.type == "enum" else []
    own += [*slot.yes_words, *slot.no_words]
    label = re.sub(r"[（(].*?[)）]", "", slot.label or "")
    named = {label, *slot.aliases} - set(own)  # the author's words count, unless one is a value itself
    found: set[str] = set()
    for n in (2, 3, 4):
        found |= {label[i:i + n] for i in range(len(label) - n + 1)
                  if label[i:i + n] in slot.ask or any(label[i:i + n] in w for w in own)}
    for i, a in enumerate(own):
        for b in own[i + 1:]:
            if latin(a) or latin(b):  # whole words: "hukou" of "local hukou" and "non-local hukou"
                found |= {w for w in set(a.lower().split()) & set(b.lower().split())
                          if len(w) >= 3 and w not in _FUNCTION}
                continue
            found |= {a[j:j + n] for n in (2, 3, 4) for j in range(len(a) - n + 1) if a[j:j + n] in b}
    found = {w for w in found if len(w) >= 2 and w not in options and not _generic(w)} | named
    if slot.type in ("integer", "number"):
        found |= _branch_words(spec, name)
    return sorted({w.lower() if latin(w) else w for w in found if w}, key=len, reverse=True)


def _branch_words(spec: FormSpec, name: str) -> set[str]:
    """The words of the options whose branch of the tree asks about ``name``: a number said with
    辞职 counts for the months asked only on the 离职 branch. (Numbers only: "我在本市租房"
    names a branch, not where the household is registered.)"""
    out: set[str] = set()

    def visit(node: TreeNode | None, trail: list[tuple[str, str]]) -> None:
        if node is None or node.slot is None:
            return
        if node.slot == name:
            for parent, key in trail:
                out.update(spec.slots[parent].choices().get(key, []) if spec.slots[parent].type == "enum" else [])
        for key, sub in node.cases.items():
            visit(sub, [*trail, (node.slot, key)])
        for then in (c.then for c in node.when):
            visit(then, trail)
        visit(node.default, trail)

    visit(spec.tree, [])
    return out


def _loosely(found: str, words: frozenset[str]) -> bool:
    """Whether the text found is one of ``words`` said with one more character inside
    ("我们在这" for 我们这): a pointing word so said is still only a pointing word."""
    return any(len(found) <= len(w) + 1 and says(found, w) for w in words)


def _enum(spec: FormSpec, name: str, text: str, answering: bool) -> Reading | None:
    slot = spec.slots[name]
    lex = lexicon(slot)
    low = text.lower()  # every position below is in it (a character's lower case may be longer)
    spans = clause_spans(low)
    cues = cue_words(spec, name)
    asking = bool(_ASKING.search(low))
    pos: list[str] = []
    neg: list[str] = []
    weak = False  # a weak word (see .lexicon) answered the question with no word naming it: a guess
    authors = {w.lower() for ws in slot.choices().values() for w in ws}
    for canon, s, e in option_spans(slot, text, lex.words):
        cs, _ = _clause_of(spans, s)
        ts, te = _topic(spans, s)
        word = low[s:e]
        authored = word in authors
        cued = any(c in low[ts:te] for c in cues)
        if word in lex.pointing or _loosely(word, lex.pointing):
            if asking or not (cued or answering):
                continue  # "我这边" is also "on my side"; "迁到这边需要什么" asks about moving here
            # Certain only as the place of the slot's word said before it ("户籍不在这边"); before
            # it ("我这边想问户籍的事"), or said with a character inside, it is a guess to confirm.
            weak = weak or word not in lex.pointing or not any(c in low[ts:s] for c in cues)
        elif word in lex.bare:
            if not (cued or answering):
                continue  # "local" is said of anything
            weak = weak or not cued
        elif not (answering or specific(lex, word) or cued or (authored and not lex.pointing)):
            # a mention, not an answer ("我在本市工作"): a place is said of anything, and a word
            # plusn derived may be one word of its own ("房贷款还没批下来"); the author's own word
            # for an option of another kind is an answer wherever it is said ("市区内打车去见客户")
            continue
        (neg if negated(low, s, cs) else pos).append(canon)
    pos = list(dict.fromkeys(c for c in pos if c not in neg))
    if len(pos) == 1:
        return Reading(pos[0], sure=not weak)
    rest = [c for c in slot.choices() if c not in neg]
    if not pos and neg and len(rest) == 1:  # 户口不在本市: of 本市 and 外地, the other one
        return Reading(rest[0], sure=not weak)
    return None


def negated_options(slot: Slot, text: str) -> set[str]:
    """The options whose words the text negates ("不是国际出差"): whatever else it means, not these."""
    low = text.lower()
    spans = clause_spans(low)
    return {canon for canon, s, _ in option_spans(slot, text, lexicon(slot).words)
            if negated(low, s, _clause_of(spans, s)[0])}


def _boolean(spec: FormSpec, name: str, text: str, asked: bool) -> Reading | None:
    slot = spec.slots[name]
    t = text.lower()
    if any(says(t, w.lower()) for w in [*slot.yes_words, *slot.no_words]):
        return Reading(yes_no(text, slot.yes_words, slot.no_words))
    if not asked:
        return None
    value = yes_no(text)
    cues = cue_words(spec, name)
    if value is None:
        # no yes/no word: a word naming the slot says it, and a negator before it says the opposite
        # ("登记过了" is yes, "发票暂时还没有" no); only a guess, since "罚款交清了" names the
        # slot to say no without a negator
        echo = echoed(slot.ask, text)
        if echo is not None:
            return Reading(echo)
        spans = clause_spans(text)
        at = [(t.find(c), c) for c in cues if c in t]
        if not at:
            return _polarity(text)
        start = min(at)[0]
        return Reading(not _negated_around(text, start, spans), sure=False)
    core = _PUNCT.sub("", t)
    opens = any(core.startswith(w) for w in (*YES, *NO) if not w.isascii()) or \
        bool(re.match(r"^(?:yes|yeah|yep|no|nope|not|sure|correct|right)\b", t.strip()))
    if len(core) <= _SHORT or opens or any(c in t for c in cues):
        return Reading(value)
    # a yes/no word inside a sentence about something else ("在本市没有自有住房"); in English,
    # the reply's own polarity, confirmed first
    return _polarity(text)


def _stated(spec: FormSpec, name: str, text: str) -> Reading | None:
    """A yes or no said before it is asked, in a clause that names the slot: "发票都有",
    "出生证明也拿到了" (restating its question), "出国审批没来得及办". Sure when the yes or no
    follows the slot's word closely, as its predicate; further off, a guess to confirm."""
    slot = spec.slots[name]
    cues = cue_words(spec, name)
    for cs, ce in clause_spans(text):
        clause = text[cs:ce].strip()
        low = clause.lower()
        at = next((low.find(c) + len(c) for c in cues if c in low), -1)  # cues run longest first
        if at < 0 or _ASKING.search(low):
            continue
        value = yes_no(clause)
        if value is None:
            value = echoed(slot.ask, clause)
        if value is not None:
            return Reading(value, sure=len(low) - at <= _PREDICATE)
    return None


def _polarity(text: str) -> Reading | None:
    """An English reply to a yes/no question asked in another language cannot restate it (see
    :func:`echoed`); its first clause answers by its polarity: negated ("I haven't registered
    yet", "we never filed it") no, otherwise yes. A guess, confirmed before a decision."""
    t = text.strip().lower()
    if not latin(t) or _ASKING.search(t) or any(found_at(t, w) >= 0 for w in UNSURE):
        return None
    first = t[slice(*clause_spans(t)[0])]
    if not _STATES.search(first):
        return None  # no subject or auxiliary: not a statement ("sorry", "8 months")
    return Reading(not _EN_NEGATION.search(first), sure=False)


def _negated_around(text: str, at: int, spans: list[tuple[int, int]]) -> bool:
    """A negator before ``at`` in its clause, or after it ("发票暂时还没有")."""
    cs, ce = _clause_of(spans, at)
    return negated(text, at, cs) or any(n in text[at:ce] for n in _NEGATORS)


def _grams(text: str) -> set[str]:
    """The two-character runs of Chinese text (no punctuation, no negator: they carry no topic)."""
    return {text[i:i + 2] for i in range(len(text) - 1)
            if all("\u4e00" <= c <= "\u9fff" and c not in _NEGATORS for c in text[i:i + 2])}


def echoed(question: str, text: str) -> bool | None:
    """Yes or no when a reply restates the question's own predicate, as Chinese answers a yes/no
    question ("能提供购房发票或已备案的购房合同吗？" — "购房合同已经备案了"): it shares two or
    more word pieces with the question. The last of them in the reply is its predicate (the
    topic comes first: "贷款没有逾期"); the reply says yes when a negation stands around it
    in both or in neither ("没有逾期吗？" — "没有逾期"), no otherwise. One shared piece is only a
    topic ("罚款交清了" to "有没有未缴的罚款？" says no without a negator)."""
    if _ASKING.search(text):
        return None  # "购房合同备案怎么办？" repeats the question to ask one back
    question = re.sub(r"[（(].*?[)）]|\{\{.*?\}\}", "", question)  # the hint "（是 / 否）" restates nothing
    question = _A_NOT_A.sub(r"\1", question)  # "有没有", "是不是" ask; they negate nothing
    shared = [g for g in _grams(text) & _grams(question) if not _generic(g)]
    if len(shared) < 2:
        return None
    last = max(shared, key=text.rfind)
    q_at, q_spans = question.find(last), clause_spans(question)
    # in the question a negator's scope runs on from it; in the reply it may also follow ("还没有")
    q_neg = any(c in _NEGATORS for c in question[_clause_of(q_spans, q_at)[0]:q_at])
    return q_neg == _negated_around(text, text.rfind(last), clause_spans(text))


def _number(spec: FormSpec, name: str, text: str, asked: bool, lang: str, confirming: bool = False) -> Reading | None:
    slot = spec.slots[name]
    unit, said_in = slot.counts_in(), slot.unit_words()
    spans = clause_spans(text)
    cues = cue_words(spec, name)
    low = text.lower()
    # "十八个月，哦不对，是八个月": after a correction, what follows it is the answer
    fix = max((low.rfind(c) for c in CORRECTION if c in low), default=-1)
    guess: Reading | None = None
    for said in _after_fix(quantities(text, said_in), fix):
        q = convert_quantity(said, unit, said_in)
        if q is None or _negated_number(low, said, spans):
            continue  # in another kind of unit, or "不是五天"
        cs, ce = _clause_of(spans, q.start)
        cued = any(c in low[cs:ce] for c in cues)
        if not (asked or cued or (said.unit is not None and unit is not None)):
            continue  # a bare number, or a duration for a slot that counts no duration, says nothing here
        span = inside(slot, q) if q.bounded else None
        try:
            if q.bounded and span is None:
                raise Invalid(words(lang)["number"])  # the bound leaves the slot's range
            value = validate(slot, q.value if span is None else _point(slot, q, span), lang)
        except Invalid:
            continue
        converted = said.unit is not None and said.unit != q.unit and said_in.get(said.unit) != 1.0
        if converted and not cued and (confirming or not asked) and _counted_by_other(spec, name, said):
            continue  # "三周" said in passing, or to "您是说缴费年限：4，对吗？", where another slot counts days
        r = Reading(value, sure=asked or cued or _own_unit(spec, name, said, converted),
                    said=text[q.start:q.end].strip() if span else None, span=span, converted=converted)
        if r.sure:
            return r
        guess = guess or r
    return guess


def _after_fix(found: list[Quantity], fix: int) -> list[Quantity]:
    """The quantities after a correction word, when there are any; else all of them."""
    after = [q for q in found if q.start > fix] if fix >= 0 else []
    return after or found


def _negated_number(low: str, q: Quantity, spans: list[tuple[int, int]]) -> bool:
    """"不是五天", "not 13 weeks": the number is what the answer is not (a bound's own negation,
    "没有一年", is inside its words and reads as the bound)."""
    cs, _ = _clause_of(spans, q.start)
    head = low[max(cs, q.start - 3):q.start]
    return head.endswith(("不是", "并非")) or bool(re.search(r"\bnot\s*$", low[max(cs, q.start - 6):q.start]))


def _counted_by_other(spec: FormSpec, name: str, said: Quantity) -> bool:
    """Whether another number slot of the form counts in the quantity's unit, or in a duration
    nearer it than this slot's: "三周" is for the slot counting days, not the one counting years;
    "8个月" for the one counting years."""
    own = spec.slots[name].counts_in()
    others = [s.counts_in() for n, s in spec.slots.items() if n != name and s.type in ("integer", "number")]
    if said.unit in others:
        return True
    if said.unit not in DURATIONS or own not in DURATIONS:
        return False
    far = abs(math.log(DURATIONS[said.unit] / DURATIONS[own]))
    return any(u in DURATIONS and abs(math.log(DURATIONS[said.unit] / DURATIONS[u])) < far for u in others)


def _own_unit(spec: FormSpec, name: str, said: Quantity, converted: bool) -> bool:
    """A number said in a slot's own unit that is no duration (3000元, 块 for 元), which no other
    slot of the form could take: it says which slot it is for."""
    unit = spec.slots[name].counts_in()
    if said.unit is None or converted or unit is None or unit in UNITS:
        return False
    return not _counted_by_other(spec, name, said) and not any(
        said.unit in s.unit_words() for n, s in spec.slots.items() if n != name and s.type in ("integer", "number"))


_EPS = 1e-9  # "just inside" an open end of a number slot, relative to the number
_LIMIT = 1e15  # as far as a number may go (see validate)


def inside(slot: Slot, q: Quantity) -> tuple[float, float] | None:
    """The ends of a bounded quantity just inside its interval and the slot's range (whole
    numbers for an integer slot: 不到30天 is 29 at most), or None when nothing is left."""
    lo, hi = q.interval()
    if slot.type == "integer":
        lo = lo if math.isinf(lo) else math.ceil(lo) if q.low_in else math.floor(lo) + 1
        hi = hi if math.isinf(hi) else math.floor(hi) if q.high_in else math.ceil(hi) - 1
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


def read(spec: FormSpec, text: str, asked: str | None, lang: str, values: dict[str, Any] | None = None,
         expected: str | None = None, confirming: bool = False) -> Read:
    """The facts a message states, by rules. ``asked``: the slot the last question was about;
    ``expected``: the slot the form would ask next (a first message may answer it with a bare word);
    ``confirming``: the last question asked to confirm a value of ``asked``."""
    values = values or {}
    out = Read(correction=has_correction(text), asking=bool(_ASKING.search(text)))
    for name, slot in spec.slots.items():
        if name == asked:
            continue
        r: Reading | None = None
        if slot.type == "enum":
            r = _enum(spec, name, text, answering=name == expected)
        elif slot.type == "boolean":
            r = _boolean(spec, name, text, asked=False) or _stated(spec, name, text)
        elif slot.type in ("integer", "number"):
            r = _number(spec, name, text, asked=False, lang=lang)
        elif slot.type == "string" and slot.pattern is not None and slot.aliases:
            # a pattern is looked for in any message only near a word that names the slot
            m = pattern_in(slot.pattern, text)
            if m is not None and any(a in text for a in slot.aliases):
                r = Reading(m)
        elif slot.aliases:
            r = _after_alias(slot, text, lang)
        if r is not None:
            out.found[name] = r
    if asked is not None and asked in spec.slots:
        _read_asked(spec, asked, text, lang, values, out, confirming)
    numbers = [n for n, r in out.found.items() if spec.slots[n].type in ("integer", "number")]
    if any(out.found[n].sure for n in numbers):  # the quantity was said for that slot, not guessed for another
        for n in numbers:
            if not out.found[n].sure:
                del out.found[n]
    elif any(not out.found[n].converted for n in numbers):  # 七年 is a guess for years before days
        for n in numbers:
            if out.found[n].converted:
                del out.found[n]
    return out


def _after_alias(slot: Slot, text: str, lang: str) -> Reading | None:
    for alias in slot.aliases:
        at = text.find(alias)
        if at != -1:
            with contextlib.suppress(Invalid):
                return Reading(validate(slot, text[at + len(alias):at + len(alias) + 24], lang))
            return None
    return None


def _read_asked(spec: FormSpec, asked: str, text: str, lang: str, values: dict[str, Any], out: Read,
                confirming: bool = False) -> None:
    slot = spec.slots[asked]
    if slot.type == "boolean" and any(values.get(k) != r.value for k, r in out.found.items() if k in values):
        return  # "不对，我是本地户口" corrects another answer; its "不对" is not a no to this question
    r: Reading | None = None
    if slot.type == "enum":
        r = _enum(spec, asked, text, answering=True)
        why = words(lang)["choose"].format(options=" / ".join(slot.choices()))
    elif slot.type == "boolean":
        r = _boolean(spec, asked, text, asked=True)
        why = words(lang)["yesno"]
    elif slot.type in ("integer", "number"):
        r = _number(spec, asked, text, asked=True, lang=lang, confirming=confirming)
        why = words(lang)["number"]
        if r is None:  # say what is wrong: no number, or one out of range
            try:
                validate(slot, text, lang)
            except Invalid as exc:
                why = str(exc)
    else:
        raw: Any = text
        if slot.type == "string" and slot.pattern is not None:
            raw = pattern_in(slot.pattern, text) or text
        try:
            r = Reading(validate(slot, raw, lang))
        except Invalid as exc:
            why = str(exc)
    if r is not None:
        out.found[asked] = r
    else:
        out.rejected[asked] = why

