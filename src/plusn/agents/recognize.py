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
word naming the slot stands in its clause. Quantities are read by :mod:`.numbers`.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from .answers import NO, YES, Invalid, option_spans, pattern_in, says, validate, words, yes_no
from .cues import cue_words
from .lexicon import lexicon, specific
from .numbers import read_number
from .predicates import DONE, ENDING, HINT, LOST, UNDER_WAY, completed, echoed, negated_around, polarity
from .sounds import sound_spans
from .spec import FormSpec, Slot
from .utterance import (
    A_NOT_A,
    ASKING,
    DECLARED,
    EMPHATIC_NONE,
    NEGATORS,
    NOT_AN_UPDATE,
    NOW,
    NOW_DONE,
    PAST,
    TAKE_BACK,
    Read,
    Reading,
    by_correction,
    clause_of,
    clause_spans,
    correction_at,
    correction_word,
    has_correction,
    negated,
    topic_of,
)
from .verbs import LOSES, UNSAID, masked, says_verb, taken_back, verbs

_ADVERBS = re.compile(r"^(?:都已经|已经|都|也|还|早就|早|全部|全都|全|均|其实|暂时|目前|现在)*")
# a subject may stand between the thing named and what is said of it ("居住证我们有的"); then 有
# must end the clause: "病假条我有两个问题", "病假条我有时间再去开" say something else
_SUBJECT = re.compile(r"^(?:我们|咱们|我家|他们|她们|我|他|她)(?=[都已也还早全均其暂目现]*[有没无未])")
_HAS = re.compile(r"^(?:(没有|没|无|未)(?!点|些)|有)(?!点|些|一点)")  # 有 and 没有 as the predicate; not 有点
_PARTLY = re.compile(r"一半|部分|一些|有的|\bpart")  # done in part: neither yes nor no
# what a correction may say plainly: a bare yes or no ("应该是没有"), no word that only agrees (没错, 对)
_PLAIN = {"有", "没有", "没", "无", "是", "不是", "否", "yes", "no"}
_FILLER = re.compile(r"哦|噢|嗯|啊|呃|等下|等一下|我|其实|对了|不好意思|抱歉|刚才|刚刚|sorry|oh|um|wait")
_COPULA = re.compile(r"^(?:就是|是)(?!不是)(?=.)")
_BARE_COUNT = re.compile(r"^只?(?:有|没有)[一两二三四五六七八九十几\d]+\s*[个套张份辆条间处本件次笔项]$")
_HAS_COUNT = re.compile(r"有[一两二三四五六七八九十几\d]+\s*[个套张份辆条间处本件次笔项]")
_HAS_SOME = re.compile(r"有[一两二三四五六七八九十几\d]+\s*[个套张份辆条间处本件次笔项][了的呢啊呀]*(?:[，。！？；,.!?;\s]|$)")
_BREAK = re.compile(r"[\s，。！？；、,.!?;~～…了的啊呀哦吧嘛]|$")
_SHORT = 4  # a reply this short (without punctuation) is the answer itself: 是的, 没有, 不是
_PUNCT = re.compile(r"[\s，。！？；、,.!?;:：~～…]+")


def _loosely(found: str, words: frozenset[str]) -> bool:
    """Whether the text found is one of ``words`` said with one more character inside
    ("我们在这" for 我们这): a pointing word so said is still only a pointing word."""
    return any(len(found) <= len(w) + 1 and says(found, w) for w in words)


def _enum(spec: FormSpec, name: str, text: str, answering: bool, old: Any = None) -> Reading | None:
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
    for canon, s, e in option_spans(slot, text, lex.words):
        cs, _ = clause_of(spans, s)
        if now is not None and now.start() > s and PAST.match(low, cs):
            continue  # "原来在厂里上班，…现在还没找到工作": what was, said against what is now
        ts, te = topic_of(spans, s)
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
        around = low[cs:s] + " " + low[e:clause_of(spans, s)[1]]
        if not (low[s - 1:s] == "在" and not any(ch in around for c in cues if not c.isascii() for ch in c)):
            # not only where something is done ("在本市交社保"); "户口在本市", "在本市落户" say it
            named.add(canon)
        where.setdefault(canon, s)
        (neg if negated(low, s, cs) else pos).append(canon)
    pos = list(dict.fromkeys(c for c in pos if c not in neg))
    if len(pos) == 2 and old in pos and by_correction(low, where[next(c for c in pos if c != old)]):
        pos = [c for c in pos if c != old]  # a correction names what it corrects: "说错了，是硕士，本科那是第一学历"
    elif len(pos) > 1 and len(named & set(pos)) == 1:
        pos = list(named & set(pos))  # "外地户籍，在本市交社保": 本市 is only where it is paid
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


def negated_options(slot: Slot, text: str) -> set[str]:
    """The options whose words the text negates ("不是国际出差"): whatever else it means, not these."""
    low = text.lower()
    spans = clause_spans(low)
    return {canon for canon, s, _ in option_spans(slot, text, lexicon(slot).words)
            if negated(low, s, clause_of(spans, s)[0])}


_UNREAD = Reading(None)  # a correction read: nothing certain (see _taken_back)


def _boolean(spec: FormSpec, name: str, text: str, asked: bool) -> Reading | None:
    slot = spec.slots[name]
    fix = correction_at(text)
    if fix > 0:
        taken = _taken_back(spec, name, text, asked, fix)
        if taken is not None:
            return None if taken is _UNREAD else taken
    t = text.lower()
    if _NO_NEED.match(t.strip()) or (_DOUBLE_NO.search(t) and len(clause_spans(t)) == 1):
        return None  # "不用登记了吧", "没什么不能提供的": neither done nor refused, plainly
    found, nouns = verbs(slot.yes_words, slot.no_words, cue_words(spec, name))
    said = says_verb(text, found, nouns, named=asked, others=_authors_words(spec, name))  # "社保交着", "还没去办"
    if UNDER_WAY.search(masked(t, found) if isinstance(said, tuple) else t):
        return None  # "正在办备案了": neither done nor refused, whatever words it holds ("社保还在交" is paying)
    if isinstance(said, tuple):
        return Reading(said[0], sure=said[1])
    own = [w.lower() for w in [*slot.yes_words, *slot.no_words] if says(t, w.lower())]
    if own:
        # the author's words: certain, unless said in a question ("不是有居住证吗？"), of what was
        # before a now ("以前有房，现在没了"), or taken back by another clause ("有房子，不过已经卖了")
        spans = clause_spans(t)
        now = NOW.search(t)
        asking = [t[cs:ce] for cs, ce in spans if ASKING.search(DECLARED.sub("", t[cs:ce]))]
        if any(says(c, w) for c in asking for w in own):
            return None
        spoken = {(cs, ce) for cs, ce in spans if any(says(t[cs:ce], w) for w in own)}
        if now is not None and any(PAST.match(t, cs) and now.start() > cs for cs, ce in spoken):
            # what is now, in the slot's own words, is a guess ("现在没过期" says nothing of having one)
            now_text = t[now.start():]
            now_said = _boolean(spec, name, text[now.start():], asked) \
                if any(says(now_text, w.lower()) for w in [*slot.yes_words, *slot.no_words]) else None
            return None if now_said is None else Reading(now_said.value, sure=False)
        value = yes_no(text, slot.yes_words, slot.no_words)
        later = [(cs, ce) for cs, ce in spans if cs >= min(spoken)[1]]  # a take-back follows what it takes back
        return Reading(value, sure=not (value and taken_back(t, later, spoken, _authors_words(spec, name), LOSES)))
    if said == UNSAID:
        return None  # the verb said and left open ("交了，换工作后停了"): nothing else read is certain
    r = _common_words(spec, name, text, asked)
    if r is not None and r.sure and negated_ask(slot) and _doing(text):
        # a question asked of what is not done ("还有没有未处理的违章？") turns the having and
        # doing words around ("违章都搞定了", "还没去办"): only a plain yes or no is certain
        return Reading(r.value, sure=False)
    return r


def _authors_words(spec: FormSpec, name: str) -> tuple[str, ...]:
    """The other slots' own words, as their authors wrote them (没房 of a house owned)."""
    return tuple(w.lower() for n, s in spec.slots.items() if n != name
                 for w in [*s.yes_words, *s.no_words, *(x for ws in s.choices().values() for x in ws)] if w)


def _taken_back(spec: FormSpec, name: str, text: str, asked: bool, fix: int) -> Reading | None:
    """The reading of a yes or no corrected in the same message (``fix``: where the last correction
    word stands): what follows it when it says one plainly (the author's words, or a bare yes or
    no with a count at most: "应该是没有", "应该是有一套"; not "没错", nor "没有贷款"); else, after
    a yes or no, a word that takes back ("不对") leaves only a guess or _UNREAD, and one that may
    say more ("其实是租的") None: the message is read whole. A correction of another slot
    ("…，房子改成有", "社保说错了") says nothing of this one."""
    slot, cue = spec.slots[name], correction_word(text)
    cs, _ = clause_of(clause_spans(text), fix)
    named = _FILLER.sub("", _PUNCT.sub("", text[cs:fix].lower()))
    others = [c for n in spec.slots if n != name for c in cue_words(spec, n) if len(c) >= 2]
    if cue is None or not _PUNCT.sub("", text[:fix]) or ASKING.search(text[fix:]) or \
            any(c in text[cs:] for c in others) or (named and not any(c in named for c in cue_words(spec, name))):
        return None
    # (其实没有 keeps its 没: what follows 其实 is what it says, less a copula: 其实是没有; "更正一下，有")
    rest = text[fix + (2 if cue.startswith("其实") else len(cue)):].lstrip(" ，,：:")
    rest = _COPULA.sub("", re.sub(r"^(?:一下|了)[\s，,：:]*", "", rest))
    later = _boolean(spec, name, rest, asked) if _PUNCT.sub("", rest) else None
    bare = ENDING.sub("", re.sub(r"(?:才对|吧)+$", "", _PUNCT.sub("", rest.lower())))  # "应该是有才对"
    own = (re.search(re.escape(w.lower()) + r"[了的啦呢吧啊呀哦]*(?![\u4e00-\u9fff])", rest.lower())
           for w in [*slot.yes_words, *slot.no_words])  # as a word: 有房 is not in "没有房贷"
    if later is not None and (bare in _PLAIN or _BARE_COUNT.match(bare) is not None or any(own)):
        return later
    if cue in TAKE_BACK and _boolean(spec, name, text[:fix], asked) is not None:
        return _UNREAD if later is None else Reading(later.value, sure=False)
    return None


def negated_ask(slot: Slot) -> bool:
    """Whether the slot's question asks about something not done or not had (未处理, 没有交接)."""
    ask = A_NOT_A.sub(r"\1", HINT.sub("", slot.ask))
    return any(c in NEGATORS for c in ask)


def _doing(text: str) -> bool:
    """Whether the text says a thing is done, lost or not done ("都搞定了", "还没去办"), rather
    than had or not had ("没有罚款")."""
    t = text.lower()
    return any(w in t for w in (*DONE, *LOST, *_DOING)) or re.search(r"[没未](?!有)[\u4e00-\u9fff]", t) is not None


def _common_words(spec: FormSpec, name: str, text: str, asked: bool) -> Reading | None:
    """A yes or no said with the common words, the slot's cue words or by restating its question."""
    slot = spec.slots[name]
    t = text.lower()
    if not asked or "的话" in t or t.lstrip().startswith("对了") or (ASKING.search(DECLARED.sub("", t)) and len(clause_spans(t)) == 1):
        return None  # "有的话需要原件吗？" supposes; "对了，…" is "by the way"; "交了没？" asks back
    value = yes_no(text)
    described = value is not None and _copula_only(t)  # "房子是租的": 是 says what it is, no yes
    value = None if described else value
    cues = cue_words(spec, name)
    if value is not None and yes_no(text, [], []) is not None and _both_ways(t):
        # a yes word and a no word in one reply ("还有两条违章没处理完" to "还有没有未处理的违章？"):
        # what it says is in how it restates the question's predicate, not in which word wins
        echo = echoed(slot.ask, text)
        if echo is not None:
            return Reading(echo)
    if value is None:
        # no yes/no word: a word naming the slot says it, and a negator before it says the opposite
        # ("登记过了" is yes, "发票暂时还没有" no); only a guess, since "罚款交清了" names the
        # slot to say no without a negator
        echo = None if described else echoed(slot.ask, text)  # "门禁卡是物业管的" restates no predicate
        if echo is not None:
            return Reading(echo)
        spans = clause_spans(text)
        at = [(t.find(c), c) for c in cues if c in t]
        if not at:
            done = completed(text, 0)  # "都拿到了", "齐全"
            return Reading(done) if done is not None else polarity(text)
        start, cue = min(at)
        cs, ce = clause_of(spans, start)
        done = completed(text[cs:ce], start + len(cue) - cs)  # "证明已经开好了", "发票都在"
        return Reading(done) if done is not None else Reading(not negated_around(text, start, spans), sure=False)
    # "一张都没有" is "没有" said with emphasis, and "违章一条都没有" "违章没有": as short a reply
    # (only after nothing or the slot's own words: "问题一个都没有" says nothing of a 病假条)
    core = _PUNCT.sub("", t)
    emphatic = EMPHATIC_NONE.search(core)
    if emphatic is not None and (emphatic.start() == 0 or any(core[:emphatic.start()].endswith(c) for c in cues)):
        core = core[:emphatic.start()] + core[emphatic.end():]
    # a one-character yes or no opens a reply only with a break after it: "是，从人民医院转的" says
    # yes, "是从人民医院转到协和的" says where from
    head = t.strip()
    # ("有一套，…" has some: 有 and a count of them)
    opens = any(head.startswith(w) and (len(w) > 1 or _BREAK.match(head, len(w)) is not None)
                for w in (*YES, *NO) if not w.isascii()) or _HAS_SOME.match(head) is not None or \
        bool(re.match(r"^(?:yes|yeah|yep|no|nope|not|sure|correct|right)\b", head))
    if len(core) <= _SHORT or opens or any(c in t for c in cues):
        # "有一套（房子）" alone has some; "有一套，已经卖了" may not: what follows is read by nobody
        count = _HAS_COUNT.match(head)
        after = "" if count is None else head[count.end():]
        after = next((after[len(c):] for c in sorted(cues, key=len, reverse=True) if after.startswith(c)), after)
        return Reading(value, sure=not _PUNCT.sub("", ENDING.sub("", after)))
    # a yes/no word inside a sentence about something else ("在本市没有自有住房"); in English,
    # the reply's own polarity, confirmed first
    return polarity(text)


# a reply opening with no need ("不用登记了吧") or all one double negative ("没什么不能提供的"): no plain yes or no
_NO_NEED = re.compile(r"(?:现在)?(?:不用|不需要|不必|没必要|无需)(?![了啦啊呀，,。.！!\s]|$)")  # not "不用了，…"
_DOUBLE_NO = re.compile(r"没有?(?:什么|啥)[不没未无非]")
_COPULAS = ("是",)  # a yes word that, with more after it, links (是租的)


def _copula_only(t: str) -> bool:
    """Whether every yes or no word of the text is the copula 是 with more said after it in its
    clause ("房子是租的"), so none of them answers yes."""
    hits = [(w, m.end()) for w in (*YES, *NO) if not w.isascii() for m in re.finditer(re.escape(w), t)]
    spans = clause_spans(t)
    return bool(hits) and all(w in _COPULAS and ENDING.sub("", _PUNCT.sub("", t[end:clause_of(spans, end - 1)[1]])) not in ("", "的")
                              for w, end in hits)  # (是的, 不是 are words of their own: no copula)


def _both_ways(t: str) -> bool:
    """Whether a reply holds a yes word and, apart from it, a no word (有 and 没 in "还有两条没处理
    完"; not the 有 of 没有)."""
    noes = [(m.start(), m.end()) for w in NO if not w.isascii() for m in re.finditer(re.escape(w), t)]
    yeses = [m.start() for w in YES if not w.isascii() for m in re.finditer(re.escape(w), t)]
    return bool(noes) and any(not any(a <= y < b for a, b in noes) for y in yeses)


def _stated(spec: FormSpec, name: str, text: str) -> Reading | None:
    """A yes or no said before it is asked, as the predicate of a clause that names the slot: the
    slot's word, a few adverbs, then 有/没有/没 ("发票都有", "审批没批") or a predicate of having,
    doing or losing that ends the clause ("出生证明也拿到了", "发票弄丢了"). Anything else in such
    a clause ("审批有点麻烦", "发票都在路上", "审批的流程我不懂") says nothing of it."""
    # the slot's own words: not the form's topic, which the other questions share (失业 of 失业登记)
    cues = [c for c in cue_words(spec, name) if not any(c in o.ask or c in (o.label or "")
                                                         for n, o in spec.slots.items() if n != name)]
    if UNDER_WAY.search(text):
        return None  # under way: neither yes nor no
    said: set[bool] = set()
    doing = False  # a predicate of doing, not of having, read the value
    echoes: set[bool] = set()
    others: set[bool | None] = set()
    for cs, ce in clause_spans(text):
        clause = text[cs:ce].strip()
        low = clause.lower()
        at = next((low.find(c) + len(c) for c in cues if c in low), -1)  # cues run longest first
        if ASKING.search(low):
            continue
        # a clause restating the slot's own question ("违章已经处理了" to "还有没有未处理的
        # 违章？") says yes or no as a reply to it would, a negated question's too ("工作没交接"
        # to "有没有未交接的工作？" is a yes); done in part ("处理了一半") or under way ("正在办
        # 备案") says neither
        echo = None if _PARTLY.search(low) else echoed(spec.slots[name].ask, clause)
        if at < 0:  # no word of the slot: a restatement still counts against one ("…还有一条没处理")
            others.add(echo)
            continue
        value = completed(clause, at)  # had, done or lost first: "病假证明弄丢了" restates to say no
        doing = doing or value is not None
        if value is None:
            rest = low[at:].lstrip()
            subject = _SUBJECT.match(rest) is not None
            rest = _ADVERBS.sub("", _SUBJECT.sub("", rest, count=1), count=1)
            m = _HAS.match(rest)
            if m is not None and subject and m.group(1) is None and ENDING.sub("", rest[m.end():]):
                m = None
            # 有, 没有 as the predicate ("发票都有"), or 没 before the slot's own verb ("审批没批");
            # 没 before another verb says something else ("违章还没交罚款")
            if m is not None and (m.group(1) is None or _owns(ENDING.sub("", rest[m.end():]), cues)):
                value = m.group(1) is None
                doing = doing or bool(ENDING.sub("", rest[m.end():]))  # 没 before a verb
            if echo is not None and value != echo:
                value = None  # "工作没交接" to "有没有未交接的工作？" restates a yes: a guess
                echoes.add(echo)
        if value is not None:
            said.add(value)
    # clauses that say it both ways ("一条处理了，还有一条没处理") say nothing certain; of what is
    # not done ("有没有未处理的违章？"), having and doing say it the other way round: a guess
    if len(said) == 1 and not (others | echoes) - said - {None}:
        return Reading(said.pop(), sure=not (doing and negated_ask(spec.slots[name])))
    # a restatement alone is a guess: echoing the question is no predicate the rules know
    # ("工作交接同事说不用我安排" restates 安排 negated, and says no such thing)
    return Reading(echoes.pop(), sure=False) if not said and len(echoes) == 1 and not others - echoes - {None} else None


def _owns(verb: str, cues: list[str]) -> bool:
    """Whether what follows 没 is the slot's own verb: empty, a word of its cue ("审批没批") or a
    verb of doing ("审批没来得及办")."""
    return not verb or (len(verb) <= 2 and any(verb in c for c in cues)) or (len(verb) <= 5 and verb.endswith(_DOING))


_DOING = ("办", "弄", "做", "搞", "开", "申请", "提交")  # 没来得及办: the doing of the slot's thing, not another


def read(spec: FormSpec, text: str, asked: str | None, lang: str, values: dict[str, Any] | None = None,
         expected: str | None = None, confirming: bool = False, settling: bool = False) -> Read:
    """The facts a message states, by rules. ``asked``: the slot the last question was about;
    ``expected``: the slot the form would ask next (a first message may answer it with a bare word);
    ``confirming``: the last question asked to confirm a value of ``asked``."""
    values = values or {}
    out = Read(correction=has_correction(text), asking=bool(ASKING.search(text)), update=_updates(text))
    fixing = [n for n in values if n in spec.slots and spec.slots[n].type in ("integer", "number")]
    # a correction that names the answer it corrects beside the new one takes the new one; not in
    # a reply to "which is right?", where the answer held may be the one meant
    olds = values if out.correction and not settling else {}
    for name, slot in spec.slots.items():
        if name == asked:
            continue
        r: Reading | None = None
        if slot.type == "enum":
            r = _enum(spec, name, text, answering=name == expected, old=olds.get(name))
        elif slot.type == "boolean":
            r = _boolean(spec, name, text, asked=False) or _stated(spec, name, text)
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
    _one_slot_per_quantity(spec, out)
    return out


def _updates(text: str) -> bool:
    """Whether the message says a thing is done now that was not ("出生医学证明今天已经办好了"): a
    word of time and a done word, nothing made up later, contrasted or of another time."""
    t = text.lower()
    return bool(NOW_DONE.search(t)) and any(w in t for w in DONE) and not NOT_AN_UPDATE.search(t)


def _one_slot_per_quantity(spec: FormSpec, out: Read) -> None:
    """A quantity read for several slots is for one: the slot it was said for (sure) over those
    that guess it, and one in its own unit over one it converts to (七年 is years before days)."""
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
        elif any(not out.found[n].converted for n in names):
            drop = [n for n in names if out.found[n].converted]
        else:
            drop = []
        for n in drop:
            del out.found[n]


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
    if slot.type == "boolean" and any(values.get(k) != r.value for k, r in out.found.items() if k in values):
        return  # "不对，我是本地户口" corrects another answer; its "不对" is not a no to this question
    r: Reading | None = None
    if slot.type == "enum":
        r = _enum(spec, asked, text, answering=True, old=olds.get(asked))
        why = words(lang)["choose"].format(options=" / ".join(slot.choices()))
    elif slot.type == "boolean":
        r = _boolean(spec, asked, text, asked=True)
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

