"""What a reply says of a thing, as the rules read it: had, done or lost ("发票都在", "证明开好了",
"发票弄丢了"), under way ("正在办"), the question restated ("购房合同已经备案了"), or, in English,
the polarity of its first clause. :mod:`.recognize` decides which slot a reply is about."""

from __future__ import annotations

import re

from .answers import UNSURE, found_at
from .cues import generic
from .lexicon import latin
from .quantities import quantities
from .utterance import (
    A_NOT_A,
    ASKING,
    ASKS_AHEAD,
    EN_NEGATION,
    NEGATORS,
    STILL_TO_COME,
    Reading,
    clause_of,
    clause_spans,
    grams,
    negated,
)

# Predicates saying a thing is had or done, or lost (the closed class, not one form's words).
DONE = ("齐全", "齐了", "齐", "都在", "都有", "到手", "拿到", "办好", "开好", "弄好", "办完", "办妥", "批了", "批下来",
         "下来了", "通过", "有了", "办了", "开了", "搞定")
LOST = ("弄丢", "丢了", "丢失", "遗失", "找不到", "没了")
ENDING = re.compile(r"[了的啦呢吧啊哦。！!.\s]+$")  # what may close a clause after its predicate
# 还在 before a verb is under way ("违章还在处理"); before nothing or a place, still had ("发票还在我这")
UNDER_WAY = re.compile(r"正在|在办|排队|要等|等着|等几天|审核中|办理中|还在(?=[\u4e00-\u9fff])(?![呢的我你他她这那手家身])|"
                        r"in progress")
HINT = re.compile(r"[（(][^)）]*[/／、|][^)）]*[)）]")  # "（是 / 否）" lists the answers
# A clause that states something: a subject or an auxiliary (the closed class, not a verb list).
_STATES = re.compile(r"\b(?:i|i'm|we|he|she|it|they|[a-z]+'s|have|has|had|did|do|does|was|were|am|is|are|"
                     r"already|done)\b")


def completed(clause: str, after: int) -> bool | None:
    """Yes when a thing named before ``after`` is had or done ("发票都在", "票据齐全", "证明开好了"),
    no when it is lost ("发票弄丢了") or the doing is negated ("审批还没批下来"): a predicate that
    ends the clause ("发票都在路上", "审批下来了一半" end otherwise); None otherwise."""
    rest = ENDING.sub("", clause[after:].strip().lower())
    kept = _CLOSING.sub("", clause[after:].strip().lower())  # with its 了: "办了", "没了" end in it
    for said, value in ((LOST, False), (DONE, True)):
        hit = next(((r, w) for w in said for r in (rest, kept) if r.endswith(w)), None)
        if hit is not None:
            before = hit[0][: len(hit[0]) - len(hit[1])]
            if _TO_COME.search(before):
                return None  # "备案要办了", "明天去办了", "出院后才办了", "说可以线上办了": not (yet) done
            return value != any(n in before for n in NEGATORS)
    return None


_CLOSING = re.compile(r"[的啦呢吧啊哦。！!.\s]+$")  # ENDING but 了
# before a done word: still to come, only possible, reported, or done too late
_TO_COME = re.compile(r"要|想|准备|打算|快|将|会|马上|明天|后天|下周|下个?月|回头|再|以后|等会|待会|一会|下午|晚上|"
                      r"可以|能|说|才|补")


def polarity(text: str) -> Reading | None:
    """An English reply to a yes/no question asked in another language cannot restate it (see
    :func:`echoed`); its first clause answers by its polarity: negated ("I haven't registered
    yet", "we never filed it") no, otherwise yes. A guess, confirmed before a decision."""
    t = text.strip().lower()
    if not latin(t) or ASKING.search(t) or any(found_at(t, w) >= 0 for w in UNSURE):
        return None
    first = t[slice(*clause_spans(t)[0])]
    if not _STATES.search(first):
        return None  # no subject or auxiliary: not a statement ("sorry", "8 months")
    if quantities(first):
        # a statement of a quantity is most often another question's answer ("our income is about
        # 7,000 yuan a month"), and its polarity misleads ("I got 3 tickets", "it's valid for 2 more
        # months", "I've stopped paying for 3 months")
        return None
    return Reading(not EN_NEGATION.search(first), sure=False)


_NOT_DONE = re.compile(r"忘|拒绝|懒得")


def negated_around(text: str, at: int, spans: list[tuple[int, int]]) -> bool:
    """A negator before ``at`` in its clause, or after it ("发票暂时还没有"); two just before it
    cancel ("手上没有未交接的工作" has none pending). Forgetting or refusing it is not doing it
    ("忘了登记", "单位拒绝登记")."""
    cs, ce = clause_of(spans, at)
    if _NOT_DONE.search(text, cs, at):
        return True
    near = A_NOT_A.sub(r"\1", text[max(cs, at - 6):at])  # 有没有 asks
    if sum(c in NEGATORS for c in near) >= 2:
        return sum(c in NEGATORS for c in near) % 2 == 1
    return negated(text, at, cs) or any(n in text[at:ce] for n in NEGATORS)


def echoed(question: str, text: str) -> bool | None:
    """Yes or no when a reply restates the question's own predicate, as Chinese answers a yes/no
    question ("能提供购房发票或已备案的购房合同吗？" — "购房合同已经备案了"): it shares two or
    more word pieces with the question. The last of them in the reply is its predicate (the
    topic comes first: "贷款没有逾期"); the reply says yes when a negation stands around it
    in both or in neither ("没有逾期吗？" — "没有逾期"), no otherwise. One shared piece is only a
    topic ("罚款交清了" to "有没有未缴的罚款？" says no without a negator)."""
    if ASKING.search(text) or UNDER_WAY.search(text):
        return None  # "购房合同备案怎么办？" repeats the question to ask one back; "正在办备案" is not done
    # a hint listing the answers ("（是 / 否）") restates nothing; a gloss ("交通违法（违章）") does
    question = re.sub(r"\{\{.*?\}\}", "", HINT.sub("", question))
    question = A_NOT_A.sub(r"\1", question)  # "有没有", "是不是" ask; they negate nothing
    shared = [g for g in grams(text) & grams(question) if not generic(g)]
    if len(shared) < 2:
        return None
    last = max(shared, key=text.rfind)
    q_at, q_spans = question.find(last), clause_spans(question)
    at, spans = text.rfind(last), clause_spans(text)
    asked_so = {m.group() for m in STILL_TO_COME.finditer(question) if clause_of(q_spans, q_at)[0] <= m.start() < q_at}
    if not ASKS_AHEAD.search(question) and \
            {m.group() for m in STILL_TO_COME.finditer(text) if clause_of(spans, at)[0] <= m.start() < at} - asked_so:
        return None  # "下周才能备案" to "是否已备案？": still to come
    # in the question a negator's scope runs on from it; in the reply it may also follow ("还没有")
    q_neg = any(c in NEGATORS for c in question[clause_of(q_spans, q_at)[0]:q_at])
    return q_neg == negated_around(text, at, spans)

