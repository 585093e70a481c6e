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
count anywhere, and a yes or no said of a slot before it is asked ("发票都有") counts where a
word naming the slot stands in its clause (:mod:`.yes_no`). Quantities are read by :mod:`.numbers`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from typing import Any

from .activity import worked_for
from .answers import Invalid, option_spans, pattern_in, says, validate, words
from .corrected import denied_answer
from .cues import cue_words, names_another
from .lexicon import lexicon, specific
from .numbers import about_another, holds, read_number
from .predicates import DONE
from .sounds import sound_spans
from .spec import FormSpec, Slot
from .utterance import (
    ASKING,
    NOT_AN_UPDATE,
    NOW,
    NOW_DONE,
    OTHER_CASE,
    PAST,
    SOMEONE_ELSE,
    STILL_TO_COME,
    Read,
    Reading,
    asks,
    by_correction,
    clause_of,
    clause_spans,
    correction_at,
    has_correction,
    negated,
    topic_of,
)
from .yes_no import read_yes_no, stated_yes_no

_OPENS_NO = re.compile(r"\s*(?:不是|不对|没有|不|no\b|not\b|nope)", re.I)


def _joined(slot: Slot, canon: str, word: str) -> bool:
    """Whether a derived word is two of the author's own words of that option, one after the
    other ("苏宁门店" of 苏宁 and 门店): as much the author's word as either."""
    own = {w.lower() for w in slot.choices()[canon]}
    return any(word[:i] in own and word[i:] in own for i in range(1, len(word)))


def _loosely(found: str, words: frozenset[str]) -> bool:
    """Whether the text found is one of ``words`` said with one more character inside
    ("我们在这" for 我们这): a pointing word so said is still only a pointing word."""
    return any(len(found) <= len(w) + 1 and says(found, w) for w in words)


def _enum(spec: FormSpec, name: str, text: str, answering: bool, old: Any = None,
          correcting: bool = False) -> Reading | None:
    slot = spec.slots[name]
    lex = lexicon(slot)
    low = text.lower()  # every position below is in it (a character's lower case may be longer)
    spans = clause_spans(low)
    cues = cue_words(spec, name)
    asking = bool(ASKING.search(low))
    pos: list[str] = []
    neg: list[str] = []
    where: dict[str, int] = {}  # where each option is first said
    named: set[str] = set()  # options said once at least as more than the place something is done
    weak = False  # a weak word (see .lexicon) answered the question with no word naming it: a guess
    authors = {w.lower() for ws in slot.choices().values() for w in ws}
    now = NOW.search(low)
    said = option_spans(slot, text, lex.words)
    for canon, s, e in said:
        cs, _ = clause_of(spans, s)
        if now is not None and now.start() > s and PAST.match(low, cs):
            continue  # "原来在厂里上班，…现在还没找到工作": what was, said against what is now
        ts, te = topic_of(spans, s)
        word = low[s:e]
        authored = word in authors or _joined(slot, canon, word)
        cued = any(c in low[ts:te] for c in cues)
        if word in lex.pointing or _loosely(word, lex.pointing):
            # a message that asks may state first, in a clause of its own that names the slot before
            # the place ("户口还在老家，能领这边的补贴吗？"), but not of a move or a plan ("户口迁到这边，
            # 要什么材料？")
            cue_at = min((low.find(c, ts, s) for c in cues if c in low[ts:s]), default=-1)
            stated = cue_at >= 0 and not asks(low, cs, te) and not _MOVING.search(low[ts:s]) and \
                not _NOT_STATED.search(low) and not SOMEONE_ELSE.search(low, cs, max(cs, cue_at)) and \
                not (re.search(r"我的?$", low[ts:cue_at]) and SOMEONE_ELSE.search(low))
            # ("孩子户口在这边，我能申请吗？": another's; "我户口在老家，能给我妈申请吗？": the user's own,
            # in a message about someone else)
            if (asking and not stated) or not (cued or answering) or \
                    (any(c != canon for c, _, _ in said) and names_another(spec, name, low[cs:clause_of(spans, s)[1]])):
                # "我这边" is also "on my side"; "迁到这边需要什么" asks about moving here; beside
                # another option, "这边有居住证" says where another slot's thing is
                continue
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
        around = low[cs:s] + " " + low[e:clause_of(spans, s)[1]]
        if low[s - 1:s] == "在" and not any(ch in around for c in cues if not c.isascii() for ch in c):
            # only where something is done ("在本市交社保", "都在外地打工"), or where someone else
            # is ("不对，我有两个儿子，都在外地"): no answer said in passing; to the question, or in
            # a correction of the user's own, it is one ("户口在本市", "在本市落户" say it anywhere;
            # "说错了，我们是在农村的", "不对，我一直在上班")
            elsewhere = SOMEONE_ELSE.search(low[ts:s]) is not None and not about_another(slot)
            if not answering and (elsewhere or (not correcting and _DONE_THERE.match(low, e))):
                continue
        else:
            named.add(canon)
        where.setdefault(canon, s)
        (neg if negated(low, s, cs, e) else pos).append(canon)
    pos = _chosen([c for c in dict.fromkeys(pos) if c not in neg], named, old, where, low, said, correcting)
    if not pos and not neg and (answering or not lex.pointing):
        slips = {c for c, s, _ in sound_spans(low, slot.choices()) if not negated(low, s, clause_of(spans, s)[0])}
        if len(slips) == 1:  # 被裁圆了: a word typed by its sound, a guess to confirm
            return Reading(slips.pop(), sure=False)
    if len(pos) == 1:
        return Reading(pos[0], sure=not weak)
    rest = [c for c in slot.choices() if c not in neg]
    if not pos and neg and len(rest) == 1:  # 户口不在本市: of 本市 and 外地, the other one
        return Reading(rest[0], sure=not weak)
    return None


def _chosen(pos: list[str], named: set[str], old: Any, where: dict[str, int], low: str,
            said: list[tuple[str, int, int]], correcting: bool) -> list[str]:
    """Of several options said and not denied, the one the message gives, where one is: the one
    a correction names, the one said as more than a place something is done, or the one after a
    correction word; otherwise all of them (and no answer)."""
    if len(pos) == 2 and old in pos and by_correction(low, where[next(c for c in pos if c != old)]):
        return [c for c in pos if c != old]  # a correction names what it corrects: "说错了，是硕士，本科那是第一学历"
    if len(pos) > 1 and len(named & set(pos)) == 1:
        return list(named & set(pos))  # "外地户籍，在本市交社保": 本市 is only where it is paid
    if len(pos) > 1 and correcting and correction_at(low) >= 0:
        # "我是读专科的……哦不对，我去年专升本了，现在是本科": what the correction says, if one (not
        # a plan or someone else's: "本科，不对，我在准备考研究生" says none)
        spans = clause_spans(low)
        after = {c for c, s, _ in said if c in pos and s > correction_at(low)
                 and not _ANOTHER_TIME.search(low[slice(*clause_of(spans, s))])
                 and not SOMEONE_ELSE.search(low[slice(*clause_of(spans, s))])}  # "不对，我老伴是农村户口"
        return list(after) if len(after) == 1 else pos
    return pos


# after a correction word, a clause of another time than now ("不对，是成人，我之前是学生"), a plan or
# a wish ("本科，不对，我在准备考研究生", "不对，我是想专升本") gives no answer
_ANOTHER_TIME = re.compile(rf"{OTHER_CASE.pattern}|{STILL_TO_COME.pattern}|想(?!问)", re.I)
# a move or what is still to come, before a place: "户口迁到这边", "想把户口落在这里"
_MOVING = re.compile(r"迁|转|落|搬|移|调|回|去|到|想|要|打算|准备|可以|能")
# anywhere in a message that asks: a case supposed, a time before, a doubt, a move or a contrast
# ("如果户口在老家…", "户口以前在老家…", "不知道在老家还是这边", "不过已经迁过来了")
_NOT_STATED = re.compile(r"如果|假如|假设|要是|万一|的话|以前|原来|本来|之前|过去|曾经|不知道|不清楚|还是|迁|转|随|落户|搬|"
                         r"不过|但|可是|好像|应该|大概|估计|可能|记得|也许|吧")
# something done at a place said with 在 ("在外地打工", "在本市交社保"): a word of it after the place
_DONE_THERE = re.compile(r"\s*(?![的了呢啊呀吧哦嘛])[\u4e00-\u9fff]")


def negated_options(slot: Slot, text: str) -> set[str]:
    """The options whose words the text negates ("不是国际出差"): whatever else it means, not these."""
    low = text.lower()
    spans = clause_spans(low)
    return {canon for canon, s, e in option_spans(slot, text, lexicon(slot).words)
            if negated(low, s, clause_of(spans, s)[0], e)}



def read(spec: FormSpec, text: str, asked: str | None, lang: str, values: dict[str, Any] | None = None,
         expected: str | None = None, confirming: bool = False, settling: bool = False) -> Read:
    """The facts a message states, by rules. ``asked``: the slot the last question was about;
    ``expected``: the slot the form would ask next (a first message may answer it with a bare word);
    ``confirming``: the last question asked to confirm a value of ``asked``."""
    values = values or {}
    out = Read(correction=has_correction(text), asking=bool(ASKING.search(text)), update=_updates(text))
    # the number answers a correction may be of: those held that could take the number it says
    fixing = [n for n in values if n in spec.slots and spec.slots[n].type in ("integer", "number")
              and out.correction and holds(spec.slots[n], text, lang)]
    # a correction that names the answer it corrects beside the new one takes the new one; not in
    # a reply to "which is right?", where the answer held may be the one meant
    olds = values if out.correction and not settling else {}
    for name, slot in spec.slots.items():
        if name == asked:
            continue
        r: Reading | None = None
        if slot.type == "enum":
            r = _enum(spec, name, text, answering=name == expected, old=olds.get(name), correcting=out.correction)
        elif slot.type == "boolean":
            r = read_yes_no(spec, name, text, asked=False) or stated_yes_no(spec, name, text)
        elif slot.type in ("integer", "number"):
            r = read_number(spec, name, text, asked=False, lang=lang, correcting=out.correction and fixing == [name],
                            old=olds.get(name))
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
        _read_asked(spec, asked, text, lang, values, out, confirming, olds)
    fixed = next((n for n, r in out.found.items() if out.correction and n in values and r.value != values[n]
                  and denied_answer(spec, text, values, r.at) == n), None)
    if fixed is not None:
        # "说错了，不是八个月，是两个月": the number after it is the denied answer's slot's
        r = out.found[fixed] = dataclasses.replace(out.found[fixed], sure=True)
        for n in [n for n, x in out.found.items() if n != fixed and x.at is not None and x.at == r.at]:
            del out.found[n]
    _one_slot_per_quantity(spec, out, text, values, asked)
    return out


def _updates(text: str) -> bool:
    """Whether the message says a thing is done now that was not ("出生医学证明今天已经办好了"): a
    word of time and a done word, nothing made up later, contrasted or of another time."""
    t = text.lower()
    return bool(NOW_DONE.search(t)) and any(w in t for w in DONE) and not NOT_AN_UPDATE.search(t)


def _one_slot_per_quantity(spec: FormSpec, out: Read, text: str, values: dict[str, Any],
                           asked: str | None = None) -> None:
    """A quantity read for several slots is for one: the slot it was said for (sure) over those
    that guess it, of guesses the slot asked ("孩子多大了？" — "今年20", not a parent's age), the
    one asked only after a yes its clause says ("在有毒有害岗位干了十一年": the years of that work,
    not of contributions), not one asked only after a yes no one said ("三十二年了" is no years of
    special work before any was said), and one in its own unit over one it converts to (七年 is
    years before days)."""
    by_at: dict[int | None, list[str]] = {}
    for n, r in out.found.items():
        if spec.slots[n].type in ("integer", "number"):
            by_at.setdefault(r.at, []).append(n)
    for names in by_at.values():
        sure = [n for n in names if out.found[n].sure]
        if len(sure) > 1 and any(not out.found[n].converted for n in sure):
            drop = [n for n in names if out.found[n].converted or not out.found[n].sure]  # "离职20天": days
        elif sure:
            drop = [n for n in names if not out.found[n].sure]
        elif asked in names:
            drop = [n for n in names if n != asked]
        elif len(gated := [n for n in names if _said_after_its_yes(spec, out, text, n)]) == 1:
            r = out.found[gated[0]]
            out.found[gated[0]] = dataclasses.replace(r, sure=not (r.converted or r.bare))
            drop = [n for n in names if n != gated[0]]
        elif 0 < len(open_ := [n for n in names if all(_yes(out, values, g) for g in spec.gates(n))]) < len(names):
            drop = [n for n in names if n not in open_]
        elif any(not out.found[n].converted for n in names):
            drop = [n for n in names if out.found[n].converted]
        else:
            drop = []
        for n in drop:
            del out.found[n]


# "离开井下十二年了", "下井前在地面干了五年": since it or at another time, not how long (前后 is in all)
_LEFT_IT = re.compile(r"离|退|转|调|停|辞|不干|没干|没再|前(?!后)|(?<!前)后|以前|之前|以后|之后")


def _said_after_its_yes(spec: FormSpec, out: Read, text: str, name: str) -> bool:
    """Whether a number read for ``name`` is how long the user did what a yes word of a slot that
    gates it (:meth:`FormSpec.gates`) says, a yes this message says: after that word in its clause,
    right after it or after a verb of working ("下井十二年", "在有毒有害岗位干了十一年"; not "从井下退下来
    十年了")."""
    at = out.found[name].at
    if at is None:
        return False
    cs, _ = clause_of(clause_spans(text), at)
    before = text[cs:at]
    if _LEFT_IT.search(before):
        return False
    return any(_yes(out, {}, g) and any(w in before for w in spec.slots[g].yes_words) and
               (worked_for(text, cs, at) or before.rstrip("了有共 ").endswith(tuple(spec.slots[g].yes_words)))
               for g in spec.gates(name))


def _yes(out: Read, values: dict[str, Any], name: str) -> bool:
    """Whether the message says yes to ``name`` with certainty, or the form holds that yes."""
    r = out.found.get(name)
    return (r is not None and r.value is True and r.sure) or values.get(name) is True


def _after_alias(slot: Slot, text: str, lang: str) -> Reading | None:
    for alias in slot.aliases:
        at = text.find(alias)
        if at != -1:
            with contextlib.suppress(Invalid):
                return Reading(validate(slot, text[at + len(alias):at + len(alias) + 24], lang))
            return None
    return None


def _read_asked(spec: FormSpec, asked: str, text: str, lang: str, values: dict[str, Any], out: Read,
                confirming: bool = False, olds: dict[str, Any] | None = None) -> None:
    olds = olds or {}
    slot = spec.slots[asked]
    if slot.type == "boolean" and any(values.get(k) != r.value and not (r.converted and not r.sure and not out.correction
                                                                        and not _OPENS_NO.match(text))
                                      for k, r in out.found.items() if k in values):
        # "不对，我是本地户口", "二十天了，有问题" correct another answer: the reply is read as that,
        # not as an answer to this question; but a duration converted into another slot's unit, a
        # guess, corrects nothing ("自己的房子，住了二十多年了" is no dog's age of 240 months)
        return
    if slot.type == "boolean" and out.correction and any(k in values and values[k] == r.value and r.sure
                                                         for k, r in out.found.items()):
        return  # "不对，是同等责任" with 次要责任 held: meant as a correction of that, no answer here
    r: Reading | None = None
    if slot.type == "enum":
        r = _enum(spec, asked, text, answering=True, old=olds.get(asked), correcting=out.correction)
        why = words(lang)["choose"].format(options=" / ".join(slot.choices()))
    elif slot.type == "boolean":
        r = read_yes_no(spec, asked, text, asked=True)
        why = words(lang)["yesno"]
    elif slot.type in ("integer", "number"):
        r = read_number(spec, asked, text, asked=True, lang=lang, confirming=confirming,
                        old=olds.get(asked))
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

