"""A yes/no slot's own verbs, learned from its author's words, and the replies that say them.

An author who lists 没交社保 as a no and 在交社保 as a yes has said what the question turns on:
the verb 交 (to pay), said or denied. People answer a Chinese yes/no question by saying that
verb again with an aspect ("交着", "交的", "一直在交", "开始交了") or denying it ("还没交"), in
words no list holds. So a verb is learned where the author's words hold it both ways, negated
in one list and said plainly in the other; its plain sense is the other list's (没有逾期 is a
yes, so 逾期 said plainly is a no). Where the author's plain word says it under way (在交, 领着)
the verb is an activity: under way is yes, and a past (以前交过, 领完了) is no answer; otherwise it
is a thing done (备案了), and under way (正在备案) is no answer either.

A reply says a verb only where nothing else can be meant: the verb is not part of another word
(交通, 开始, 提交), no modal or supposition goes before it (要交, 如果交的话), nothing follows it
in its clause but an aspect, the slot's noun or a duration (交的是老家的社保 says where, not
whether), and its clause asks nothing. Every place the reply says a verb must agree.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .answers import NO, YES
from .utterance import (
    A_NOT_A,
    NEGATORS,
    PAST,
    SOMEONE_ELSE,
    SUPPOSE,
    asks,
    clause_of,
    clause_spans,
    occurrences,
)

_NEGATION = re.compile(r"^(?:还|都|也|从来|一直)*(?:没有|没|未|不)(?:去|在)?")
# what may stand right before a one-character verb: an adverb or aspect (在交, 正常交, 一直交,
# 开始交), a subject's last character (我交, 单位交, 公司交, 这边交), or nothing; any other
# character may make another word of it (提交, 离开, 带领)
_BEFORE_ONE = set("在都也还已没未不就才再刚正又常直时始经着给去补我你他她们位司里家边方人")
_ASPECT = re.compile(r"(?:了|着|过|的|上|好|完|掉|齐|起来|下来|呢|啊|呀|吧|啦|哦|嘛)*")
# what is yet to come, just before the verb (要交, 准备去办, 先接收才给开; 才交了 is done) or anywhere
# before it (下个月交)
_NOT_YET = re.compile(r"要|将|想|会|得|该|需|可以|快|马上|赶紧|等|再|先")
# anywhere before the verb: a plan, a time to come, words reported (单位说帮我登记), a thing made up
# for later (事后补的备案), no need (不用处理), or a condition (录取了就开)
_LATER = re.compile(r"打算|准备|计划|答应|下个?月|下周|下礼拜|这周|这两天|今天|明天|后天|明年|周末|待会|等会|一会|"
                    r"以后|将来|过几天|过两天|回头|年底|月底|尽快|说|事后|后来|不用|不需要|不必|没必要|无需|忘|拒绝|懒得|不想|不愿|预约|约好|约了")
# around the noun of an author's word, before its verb: adverbs and negators (已经接种, 还没备案)
_EDGES = re.compile(r"(?:已经|已|正在|在|正常|按时|都|提前|一直|还|也|就|刚|早就|早|没有|没|未|不)+$")
_THEN = re.compile(r"就|补|才")  # 录取了就开, 补的备案: unless it was done (就开始交了, 补交了, 才交了两个月)
# another clause that takes the verb back: what was done is lost, lapsed, refused, not yet had
_UNDONE = re.compile(r"不(?!到|满|足|超过|少于|止)|[没未无]|丢|过期|到期|失效|作废|驳回|退回|找不到|断|停|还剩|还有|又|但|不过|可是|只是|"
                     r"差(?!不多)|缺")
# said of another place or another person, or hedged: never certain
_ELSEWHERE = re.compile(r"老家|外地|外省|外市|别的地方|其他地方|其它地方|其他城市|别的城市|原籍|那边|那里")
HEDGE = re.compile(r"好像|估计|应该|可能|大概|也许|不清楚|不确定|不知道|说不好|吧\s*$|吧[，。,.]")
_DURATION = re.compile(r"^(?:[\d一二两三四五六七八九十百几半多]+)(?:个)?(?:年|月|天|周|星期|礼拜)多?(?:了|啦|呢)*$")
_ADVERBS_IN_WORD = re.compile(r"(?:已经|已|正在|在|正常|按时|都|提前|一直|还|也|就|刚|早就|早)*")
_ASPECT_IN_WORD = re.compile(r"^(?:了|着|过|好|完)*")
_ONGOING_PAST = re.compile(r"过|完|掉")  # (matched at a position: no ^): 领完了, 领掉了
_ADVERBS = re.compile(r"(?:正在|在|正|一直|都|也|还|就|才|已经|已|去|给|帮我|给我)+$")
_NOT_HERE = re.compile(r"[不没]在[^\s，。,.]{0,4}$")


@dataclass(frozen=True)
class Verb:
    """A verb a slot turns on: ``plain`` is what saying it plainly means (True: yes)."""

    word: str
    plain: bool
    ongoing: bool  # an activity (在交): under way is yes; else a thing done, under way is no answer
    alone: bool = False  # a verb's first character without its object (签 of 签字): read in a reply of one clause only


def _plainly_in(word: str, verb: str, nouns: tuple[str, ...]) -> bool:
    """Whether an author's word says the verb plainly, as its predicate: after nothing but the
    thing named and adverbs (已缴纳, 居住证办了), before nothing but an aspect and the thing
    (交了社保). A thing had or acted on is no verb: 社保 of 在交社保, 证明 of 开了证明, 居 of 居住证有."""
    at = word.find(verb)
    if at < 0:
        return False
    head = next((word[len(n):at] for n in nouns if word.startswith(n) and len(n) <= at), word[:at])
    tail = _ASPECT_IN_WORD.sub("", word[at + len(verb):], count=1)
    return _ADVERBS_IN_WORD.fullmatch(head) is not None and (not tail or tail in nouns)


def _learn(yes: tuple[str, ...], no: tuple[str, ...], nouns: tuple[str, ...]) -> tuple[Verb, ...]:
    out: dict[str, Verb] = {}
    for words, value, others in ((no, False, yes), (yes, True, no)):
        for w in words:
            core = next((w[len(n):] for n in nouns if w.startswith(n) and not any(c in NEGATORS for c in n)), w)  # 转学证明没开: the thing first
            m = _NEGATION.match(core)
            if m is None:
                continue
            core = core[m.end():]
            # the shortest head that leaves nothing or the slot's noun: 交 of 交社保, 缴纳 of 缴纳
            verb = next((core[:n] for n in range(1, min(len(core), 3) + 1)
                         if (core[n:] in nouns or not core[n:]) and core[:n] not in YES and core[:n] not in NO
                         and any(_plainly_in(o, core[:n], nouns) for o in others)), None)
            if verb is None or verb in out or verb in _LIGHT:
                continue
            plain_words = [o for o in others if _plainly_in(o, verb, nouns)]
            ongoing = any(f"在{verb}" in o or f"{verb}着" in o for o in plain_words)
            out[verb] = Verb(verb, not value, ongoing)
    return tuple(sorted(out.values(), key=lambda v: -len(v.word)))


# what a verb of two characters may take as its object and leave out, when an aspect or a result
# follows the verb alone: 签好了 (签字), 没欠 (欠费), 盖过了 (盖章), 交完了 (交费)
_OBJECTS = frozenset("字章费款钱税票")


def _split(found: tuple[Verb, ...], words: tuple[str, ...]) -> tuple[Verb, ...]:
    """The verbs, and the first character of each verb and object (欠费, 签字) as a verb of its
    own, said the same way: people drop the object when an aspect or result follows ("签好了")."""
    have = {v.word for v in found}
    alone = [Verb(v.word[0], v.plain, v.ongoing or any(f"{v.word[0]}着" in w for w in words), alone=True)
             for v in found if len(v.word) == 2 and v.word[1] in _OBJECTS and v.word[0] not in have | _LIGHT]
    return tuple(sorted((*found, *alone), key=lambda v: -len(v.word)))


def verbs(yes: list[str], no: list[str], cues: list[str]) -> tuple[tuple[Verb, ...], tuple[str, ...]]:
    """The verbs a yes/no slot's own words hold both ways (see the module docstring), and the
    words that name its thing: its cue words holding no verb, negator or 有 (社保, not 交社保)."""
    return _learned(tuple(w.lower() for w in yes), tuple(w.lower() for w in no), tuple(cues))


@functools.lru_cache(maxsize=512)
def _learned(yes: tuple[str, ...], no: tuple[str, ...], cues: tuple[str, ...]) -> tuple[tuple[Verb, ...], tuple[str, ...]]:
    cues = tuple(sorted((c for c in cues if len(c) >= 2), key=len, reverse=True))
    found = _learn(yes, no, tuple(c for c in cues if not any(x in c for x in "有没未不无在了着过")))
    found = _split(found, yes + no)
    nouns = [c for c in cues if not any(v.word in c for v in found) and not any(x in c for x in "有没未不无在了着过好")]
    # a word in the place of the slot's noun before one of its verbs names the slot too: 合同 of
    # 合同备案了 beside 租房备案了 (租房 names it), not 已经 of 已经接种 nor 单位 of 单位在交
    for v in found:
        heads = {_EDGES.sub("", w[:w.find(v.word)]) for w in (*yes, *no) if w.find(v.word) > 0}
        if heads & set(nouns):
            nouns += [h for h in heads if len(h) >= 2 and h not in nouns and not any(x in h for x in "有没未不无在了着过好")]
    return found, tuple(sorted(nouns, key=len, reverse=True))


def masked(text: str, found: tuple[Verb, ...]) -> str:
    """The text without the 在 of an activity said under way ("社保还在交" is paying), for the
    check of what else is under way (还在审核, 正在处理剩下的)."""
    for verb in found:
        if verb.ongoing:
            text = re.sub(rf"(?:还在|正在|在)(?={re.escape(verb.word)})", "", text)
    return text


UNSAID = "unsaid"  # the slot's verb said, and left open: no reading of the reply is certain
_LIGHT = {"办", "弄", "搞", "做", "安排"}  # "do" of anything: 合同办好了 says nothing of its filing
_UNCLEAR = "unclear"  # the verb said, but not whether it is done: the reply says nothing certain


def says_verb(text: str, found: tuple[Verb, ...], nouns: tuple[str, ...], named: bool,
              others: tuple[str, ...] = ()) -> tuple[bool, bool] | str | None:
    """(yes or no, sure) where the reply says one of the slot's verbs, every time the same way;
    None where it says none, says it both ways or not whether it is done. UNSAID where it says
    yes of another place ("社保在老家交的") or another clause takes back the thing done ("登记过，
    没通过", "交了，换工作后停了", "处理了，还剩一个"; the 没 of another slot's own word, ``others``, as in "没房，社保交着",
    takes nothing back). Hedged ("好像在交吧"), a guess.
    ``named``: the reply answers the slot's question, so the slot's noun need not stand in the
    verb's clause."""
    t = text.lower()
    spans = clause_spans(t)
    said: set[bool | str] = set()
    spoken: set[tuple[int, int]] = set()  # the clauses where the verb said something
    done = weak = False
    taken = [False] * len(t)
    theirs = [span for o in others for span in occurrences(o, t)]
    for verb in found:
        for s, e in occurrences(verb.word, t):
            if any(taken[s:e]) or any(a <= s and e <= b for a, b in theirs):
                continue  # (the 领 of 没领过, another slot's own word, is that slot's)
            for i in range(s, e):
                taken[i] = True
            value = _occurrence(t, spans, s, e, verb, nouns, named)
            if value is not None:
                # a verb without its object, or a never, said beside more ("没欠过，断过一个月"): what
                # else is said may take it back
                weak = weak or (isinstance(value, bool) and (verb.alone or (verb.ongoing and t[e:e + 1] == "过")))
                said.add(value)
                spoken.add(clause_of(spans, s))
                done = done or value is verb.plain  # said done: another clause may take it back
    if not said:
        return None
    value = said.pop() if len(said) == 1 else None
    if not isinstance(value, bool):
        return None  # both ways, or not said whether it is done: left to the other readings
    if (value and _outside(_ELSEWHERE, t, 0, len(t), others)) or \
            (done and taken_back(t, spans, spoken, others)):
        return UNSAID  # a yes said of another place, or the thing done taken back ("处理了，还剩一个")
    if weak and len(spans) > 1:
        return None  # a verb without its object, or a never, beside more: left to the other readings
    return value, not HEDGE.search(t)


# a later clause that loses what was had: "有房子，不过已经卖了" (not "有社保，没断过")
LOSES = re.compile(r"(?<![没不未])(?:不过|但|可是|只是|卖|丢|过期|失效|作废|没了|转让|过户|拆|停了|断了|退回|退掉|注销|取消)")  # not 没过期


def taken_back(t: str, spans: list[tuple[int, int]], spoken: set[tuple[int, int]], others: tuple[str, ...],
               pattern: re.Pattern[str] = _UNDONE) -> bool:
    """Whether a clause other than ``spoken`` takes back what they say was done or had ("处理了，
    还剩一个"), outside another slot's own words (the 没 of 没房)."""
    return any(_outside(pattern, t, a, b, others) for a, b in spans if (a, b) not in spoken)


def _outside(pattern: re.Pattern[str], t: str, a: int, b: int, others: tuple[str, ...]) -> bool:
    """Whether t[a:b] holds the pattern outside another slot's own words (the 没 of 没房 is said
    of the house, the 外地 of 外地户口 of the household registration)."""
    inside = [span for o in others for span in occurrences(o, t[a:b])]
    return any(not any(s <= m.start() < e for s, e in inside) for m in pattern.finditer(t[a:b]))


def _occurrence(t: str, spans: list[tuple[int, int]], s: int, e: int, verb: Verb, nouns: tuple[str, ...],
                named: bool) -> bool | str | None:
    """What one place the verb stands says: yes or no, _UNCLEAR, or None where it is not the
    slot's verb said of the slot (another word, another thing, a question)."""
    cs, ce = clause_of(spans, s)
    clause, before = t[cs:ce], t[cs:s]
    if asks(t, cs, ce) or A_NOT_A.search(t[max(cs, s - 2):min(ce, e + 2)]):
        return None  # "交了吗", "交没交": asked, not said
    if len(verb.word) == 1 and before and before[-1] not in _BEFORE_ONE and not any(before.endswith(n) for n in nouns):
        return None  # 提交, 离开: another word
    aspect = _ASPECT.match(t, e, ce)
    rest = t[aspect.end():ce].strip() if aspect else t[e:ce].strip()
    potential = t[e:e + 1] == "不"  # 交不起, 办不下来: cannot
    if not potential and rest and not _DURATION.match(rest) and not any(rest.startswith(n) for n in nouns):
        return None  # 交的是老家的社保, 交租金, 交通: something else follows
    if not (named or any(n in clause for n in nouns)):
        return None  # a verb said of nothing named, in a message that answers another question
    near = before
    for n in nouns:
        near = near.replace(n, " " * len(n))  # the 会 of 会费 is no "will"
    if SUPPOSE.search(clause) or _NOT_YET.search(near[-4:]) or _LATER.search(near) or SOMEONE_ELSE.search(near) \
            or (_THEN.search(near) and not any(c in t[e:aspect.end() if aspect else e] for c in "了过")):
        return _UNCLEAR  # 如果交的话, 要交, 先接收才给开, 单位说帮我登记, 我老婆在交: not said done, or not of the user
    under_way = re.search(r"(?:正在|在|正)(?:帮我|给我|帮|给)?$", before) is not None or t[e:e + 1] == "着"
    # 没欠过: never, and so not now either (not where 以前 marks a time before, nor of a verb that
    # plainly says no, "没交过" to a question of arrears: never paid, or never asked to)
    never = t[e:e + 1] == "过" and verb.plain and any(c in NEGATORS for c in _ADVERBS.sub("", before)[-2:])
    if verb.ongoing and (_ONGOING_PAST.match(t, e) or PAST.match(t, cs)) and not (never and not PAST.match(t, cs)):
        return _UNCLEAR  # 以前交过, 领完了: was, not is
    if under_way and not verb.ongoing:
        return _UNCLEAR  # 正在备案: neither done nor refused
    # 还没交, 没有去办, 公司没给交; 不在这边交 denies it of the place the question asks about
    near = _ADVERBS.sub("", before)
    negated = potential or any(c in NEGATORS for c in near[-2:]) or _NOT_HERE.search(before) is not None
    if not negated and any(c in NEGATORS for c in near):
        return _UNCLEAR  # 没有提前备案, 还没有去办失业登记: a negator further off, its scope unknown
    return verb.plain != negated
