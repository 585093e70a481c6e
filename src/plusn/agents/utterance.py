"""A message as recognition sees it: its clauses, its negations and corrections, and what a
reading of it holds (:mod:`.recognize` reads slots from it; :mod:`.numbers` reads quantities)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

# Words that say the user is correcting an earlier answer.
# (其实 alone is too common: "其实我有两个问题" corrects nothing; 其实是 does.)
# the words of these that take back what was just said (其实是 and 改成 may only say more)
TAKE_BACK = ("不对", "说错", "搞错", "弄错", "写错", "记错", "算错", "看错", "actually", "i meant", "i was wrong",
             "my mistake")
CORRECTION = (*TAKE_BACK, "其实是", "其实只", "其实才", "其实就", "其实没", "其实有", "改成", "改为", "更正", "纠正", "应该是",
              "修改", "correction")
# Something that has happened since: a thing not had or not done before is now ("出生证明今天已经
# 办好了", "现在有了"), an update of the facts rather than a contradiction of an earlier answer
NOW_DONE = re.compile(r"刚刚|刚才|刚|今天|现在|已经|终于|\bnow\b|\bjust\b|\balready\b", re.I)
# what makes "now done" no update: made up later (补办), a contrast, another time ("去年有个违章，现在已经
# 交了罚款", "已经正常还款了，就上个月没还上")
NOT_AN_UPDATE = re.compile(r"补|不过|但|可是|只是|就|去年|上个?月|之前|以前|原来|想想|算|说")
NEGATORS = "不没未非无"
PUNCT = re.compile(r"[\s，。！？；、,.!?;:：~～…]+")  # a run of spaces and punctuation
EN_NEGATION = re.compile(r"\b(?:not|no|never|non)\b|n't\b", re.I)
# (a comma or point between digits is inside a number: 1,200 and 3.5 are no two clauses)
_CLAUSE = re.compile(r"[，。！？；!?;\n]|(?<!\d)[,.]|[,.](?!\d)|但是|不过|而且|另外|并且|\bbut\b|\band\b", re.I)
A_NOT_A = re.compile(r"(.)[不没]\1")  # 有没有, 是不是, 能不能: a question's form, not a negation
# 能不能, 可不可以: asking to be allowed (not whether something counts as it: "能不能算病假")
_MODAL_A_NOT_A = re.compile(r"(能|可|可以)不\1(?!算|是|属于)")
# A clause opening on what was, and a later word for what is now: the first is no current answer.
PAST = re.compile(r"\s*(?:原来|以前|之前|曾经|过去|本来|早先|previously|formerly|i used to|used to)(?!的)", re.I)
_THEN = re.compile(r"就|才|于是|所以|然后|结果|后来")
# what keeps the link's next from having happened: a case supposed, a threat, a report, anywhere
# before ("领导说不辞职就开除"), or a modal after the link ("就只能走人")
_IF_SO = re.compile(r"说|讲|放话|原话|威胁|逼|要么|不然|否则|要是|如果|假如|的话|让|要求")
_MODAL_NEXT = re.compile(r"要|得|会|只能|只好|可以|能")
# a plain 不 and its verb before the link, said as a condition ("不辞职就", "我不签就"); not a
# verb's 不 of what it cannot ("撑不下去就") nor one whose 了 says it happened ("不干了就")
_BARE_NOT = re.compile(r"(?:^|[^\u4e00-\u9fff]|[我你他她们也还再都要是])不[\u4e00-\u9fff]{1,2}$")


def _last_link(text: str, lo: int, start: int) -> re.Match[str] | None:
    """The last linking word before ``start`` (from ``lo``), or None."""
    return next(reversed(list(_THEN.finditer(text, lo, start))), None)


def _happened(text: str, link: re.Match[str], start: int) -> bool:
    """Whether what follows the ``link`` is said to have happened: 了 just after the word at
    ``start`` (or the clause ending in 的: "才辞的"), no modal right after the link, no plain 不 and
    verb as a condition before it, and no case supposed, threat or report before the word."""
    end = _clause_end(text, start)
    done = "了" in text[start:min(end, start + 6)] or text[start:end].rstrip(" 。.!！啊呀吧呢").endswith("的")
    return done and not _MODAL_NEXT.match(text, link.end()) and not _BARE_NOT.search(text, 0, link.start()) and \
        not _IF_SO.search(text, 0, start)


_DENIES = re.compile(r"\s*(?:并不是|并非|不是|倒不是)(?!很|太|特别|非常|一般|的|啊|呀|哦|吧|嘛)")  # 不是很清楚 is a degree, 不是的 a reply
NOW = re.compile(r"现在|目前|如今|眼下|\bnow\b|currently", re.I)  # 原来的公司 is "the former company": no contrast
# A measure word after a number: things counted (两个问题, 3个人, 2份合同), not a slot's quantity
MEASURE = re.compile(r"\s*[个份人次件张条位家台笔本辆套项口]")
# (什么都没有, 哪儿也没去, 怎么都不行: a question word before 都/也 says "any at all", asks nothing)
# (为什么都…, 凭什么也… still ask)
# (没什么, 没有什么, 没说什么, 没领过什么补贴: "not any", no question; 没房有什么补贴 asks)
# (呢 after a verb with 着 is a state going on, no question: "单位一直给我发着工资呢")
ASKING = re.compile(r"[?？]|吗\s*$|(?<!着)(?<!着[\u4e00-\u9fff])(?<!着[\u4e00-\u9fff]{2})呢\s*$|干嘛|怎么(?![都也])|谁(?![都也])|(?:(?<=[为凭])什么|(?<=有没有)什么|"
                    r"(?<!没)(?<!没有)(?<!没[^\s，。？?！!,.有])(?<!没[^\s，。？?！!,.有][过了])什么(?![都也]))|如何|"
                    r"哪(?![儿里个]?[都也])")
# A case supposed, not stated ("如果我36岁的话", "if I had paid"): its numbers and verbs are another case's
SUPPOSE = re.compile(r"如果|要是|假如|假设|万一|的话|\bif\b|\bsuppose", re.I)
# A number said of an example or of another time ("比如说41岁", "明年就36岁了", "下个月才满十六"): not now's
OTHER_CASE = re.compile(r"比如|比方|例如|譬如|明年|后年|下个?月|下半年|年底|到时候?|以后|将来|再过|过几年|去年|前年|"
                        r"以前|之前|当时|那时|的时候|"
                        r"\bnext (?:year|month)\b|for example|e\.g\.", re.I)
THIS_TIME = re.compile(r"今年|现在|目前|如今|\bnow\b|this year", re.I)  # beside 之前: "之前在外地，今年33岁"
# Another person than the user: what is said of them is not the user's ("我同事41岁", "我老婆在交")
# a question about ability, willingness or a plan, which a time to come answers ("您能提供…吗？" —
# "明天能提供"; "是否愿意参加改造？" — "下个月报名参加")
ASKS_AHEAD = re.compile(r"能|可以|愿意|打算|准备|计划|想不想|会不会|是否会")
# a time or plan still to come, in a clause with a modal or the thing itself ("下个月才能拿到",
# "残疾证要等下周"); not inside another word (刚才, 人才, 需要, 要么) nor done ("准备好了", "才安排好")
STILL_TO_COME = re.compile(r"才(?=能|可以|会|要|得)|(?<![需只主重必还想])要(?![求是么])|明天|后天|下周|下礼拜|下个?月|明年|"
                           r"过几天|过两天|回头|月底|年底|将来|打算|准备(?![好齐完])")
SOMEONE_ELSE = re.compile(r"老婆|老公|老伴|爱人|妻子|丈夫|媳妇|爸|妈|父母|孩子|儿子|女儿|哥|姐|弟|妹|朋友|同事|亲戚|家人|别人|对象|"
                          r"爷爷|奶奶|外公|外婆|姥姥|姥爷|老人|老爷子|老太太|长辈|子女|配偶|邻居|隔壁|室友|舍友")
# A sum said over the parts before it ("我三千多，我爱人两千五，加起来五千五"): the sum is the answer
SUM = re.compile(r"加起来|加一起|加在一起|合起来|一共|总共|合计|总计|共计|\bin total\b|\baltogether\b|\bcombined\b", re.I)
# a question about a whole (全家每月总收入, household income), which a sum of parts answers
WHOLE = re.compile(r"全家|家庭|家里|总|合计|一共|共计|\btotal\b|\bhousehold\b|\bcombined\b|\baltogether\b", re.I)
# ...but not an average over it (家庭人均月收入), and not parts of different times or occasions
# ("我上个月两千，这个月一千八，加起来三千八", "二十天，加上上次的十五天，总共三十五天")
PER_HEAD = re.compile(r"人均|平均|每人|per (?:capita|head|person)|\baverage\b", re.I)
OCCASIONS = re.compile(r"上个?月|这个?月|本月|下个?月|上次|这次|本次|上回|这回|去年|今年|前年|上周|这周|本周|"
                       r"\b(?:last|this|next) (?:month|time|year|week)\b", re.I)
# A 呢 that closes a statement, not a question: "交着呢", "在办呢", "还没办呢", "没有呢", "有呢"
# (never with a question word: "在哪登记呢" asks)
DECLARED = re.compile(r"^(?!.*(?:哪|什么|怎|谁|几|多少|为何|吗|了没|(.)[不没]\1))(?:.*(?:着|在|没|有)[^\s，。？?！!,.]{0,4})呢\s*$")
# "Not a single one" (一张都没有, 一条也没有, 什么都没有): an emphatic none, the plain 没有 of a reply
EMPHATIC_NONE = re.compile(r"(?:一[个张条次份件笔项]|什么|啥)[都也](?=没有?[了啊呀哦吧嘛呢]*$)")


@dataclass
class Reading:
    """A value read for a slot: ``sure`` unless it is a guess to confirm first."""

    value: Any
    sure: bool = True
    source: str = "rule"  # rule | meaning | model
    said: str | None = None  # a bound's own words ("不到1年"): the value is only a point inside it
    span: tuple[float, float] | None = None  # a bound's ends, just inside, in the slot's unit
    converted: bool = False  # a quantity said in another unit than the slot's (七年 for a count of days)
    at: int | None = None  # where in the message the quantity read starts
    # a number no word names the slot for, or said of another person ("就我老婆一个人上班"), read
    # only because the message corrects something: ask which is right
    bare: bool = False


@dataclass
class Read:
    found: dict[str, Reading] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)  # the asked slot's answer was invalid: why
    correction: bool = False  # the message says an earlier answer was wrong
    asking: bool = False  # the message is a question ("...也能退吗"): its numbers may be another case
    update: bool = False  # the message says something has happened since ("今天已经办好了"): see NOW_DONE


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


def clause_of(spans: list[tuple[int, int]], at: int) -> tuple[int, int]:
    return next(((s, e) for s, e in spans if s <= at < e), (0, 0))


def topic_of(spans: list[tuple[int, int]], at: int) -> tuple[int, int]:
    """The clause of ``at`` with the one before: "户口在老家，不是本市的" names its topic first."""
    i = next((i for i, (s, e) in enumerate(spans) if s <= at < e), 0)
    return spans[max(0, i - 1)][0], spans[i][1]


def _clause_end(text: str, start: int) -> int:
    m = _CLAUSE.search(text, start)
    return len(text) if m is None else m.start()


# a thing said to have nothing to do with what is asked: "跟天气没关系", "和公司无关"
_WITH = re.compile(r"(?:跟|和|与|同)$")
_UNRELATED = re.compile(r"\s*(?:的事|的问题)?\s*(?:(?:没|没有|毫无|并没有|一点)(?:什么|啥|任何|半点)?(?:关系|关联)|无关|不相干)")


def negated(text: str, start: int, clause_start: int, end: int | None = None) -> bool:
    """Whether a negator stands just before ``start`` in its clause (不在本市, 不是本地, not local),
    or, with the word's ``end``, whether the word is said to have nothing to do with it (跟天气没关系)."""
    if end is not None and _WITH.search(text, clause_start, start) and _UNRELATED.match(text, end):
        return True
    # the four characters before, without a modal A-not-A: "能不能报婴幼儿照护" asks for it and
    # denies nothing (but "是不是本地户口？不是" is read as before: whether it is, denied)
    before = _MODAL_A_NOT_A.sub(r"\1", text[max(clause_start, start - 6):start])[-4:]
    link = _last_link(text, max(clause_start, start - 4), start)
    if link is not None and _happened(text, link, start):
        # a negator's scope ends at a word that links what happened next to it: "撑不下去就辞职了",
        # "试用期还没过就被辞退了" deny the first verb, not the second
        before = _MODAL_A_NOT_A.sub(r"\1", text[link.end():start])
    if any(c in NEGATORS for c in before):
        return True
    denies = _DENIES.match(text, clause_start)
    if denies is not None and start >= denies.end() and "是" not in text[denies.end():start] \
            and not ASKING.search(text[clause_start:_clause_end(text, clause_start)]):
        # "不是我自己生病，是事假": a clause opened by 不是 denies what it says, up to the 是 that
        # says what is ("不是年假是病假"); "不是说…吗？" asks
        return True
    return bool(EN_NEGATION.search(text[max(clause_start, start - 16):start]))


def occurrences(word: str, text: str) -> list[tuple[int, int]]:
    """(start, end) of each place ``text`` says ``word``, left to right, none overlapping: what
    ``re.finditer(re.escape(word), text)`` finds, without a pattern built and looked up per word
    (the rules look thousands of words up in a turn)."""
    if not word:
        return [(i, i) for i in range(len(text) + 1)]
    out: list[tuple[int, int]] = []
    i = text.find(word)
    while i >= 0:
        out.append((i, i + len(word)))
        i = text.find(word, i + len(word))
    return out


def _corrections(t: str) -> list[tuple[int, str]]:
    """(where, word) of each correction word in ``t``; one denied corrects nothing ("我没记错",
    "没说错")."""
    return [(at, c) for c in CORRECTION for at, _ in occurrences(c, t)
            if not re.search(r"[没不]有?$", t[:at])]


def _blank_asking(text: str) -> str:
    """The text with its A-not-A questions blanked: 对不对 asks, its 不对 corrects nothing."""
    t = text.lower()  # ("不对不对" says 不对 twice: its 对不对 is no question)
    return A_NOT_A.sub(lambda m: m.group(0) if t[m.start() - 1:m.start()] == "不" else " " * len(m.group(0)), t)


def correction_at(text: str) -> int:
    """Where the last correction word of a message stands, or -1."""
    return max((at for at, _ in _corrections(_blank_asking(text))), default=-1)


def correction_word(text: str) -> str | None:
    """The last correction word of a message, or None."""
    found = _corrections(_blank_asking(text))
    return max(found)[1] if found else None


def by_correction(text: str, at: int) -> bool:
    """Whether ``at`` stands after the message's last correction word, in its clause or the next
    ("说错了，是四十一"; "哦我说错了，我最高学历是硕士"): what the correction says."""
    fix = correction_at(text)
    if fix < 0:
        return False
    spans = clause_spans(text)
    i = next((k for k, (s, e) in enumerate(spans) if s <= fix < e), -1)
    j = next((k for k, (s, e) in enumerate(spans) if s <= at < e), -1)
    return i >= 0 and at > fix and i <= j <= i + 1  # ("5天那个说错了": what comes before is taken back)


def has_correction(text: str) -> bool:
    # "不对不对" says 不对 twice, not 对不对: here the question keeps its first character
    return bool(_corrections(A_NOT_A.sub(r"\1", text.lower())))


@functools.lru_cache(maxsize=4096)  # the questions' own, asked of every reply
def grams(text: str) -> frozenset[str]:
    """The two-character runs of Chinese text (no punctuation, no negator: they carry no topic)."""
    return frozenset(text[i:i + 2] for i in range(len(text) - 1)
                     if all("\u4e00" <= c <= "\u9fff" and c not in NEGATORS for c in text[i:i + 2]))


def asks(text: str, start: int, end: int) -> bool:
    """Whether the clause text[start:end] asks: in its words ("交了吗", "哪个"), or by the question
    mark after it ("合同备案了?"), unless a 吧 before that mark puts a belief for agreement ("这算质量
    问题吧？")."""
    clause = text[start:end]
    if ASKING.search(DECLARED.sub("", clause)):
        return True
    return text[end:end + 1] in ("?", "？") and not clause.rstrip().endswith("吧")
