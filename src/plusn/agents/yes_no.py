"""A yes/no slot's answer in a message, by rules: the author's yes and no words, the common ones
(有, 没有, 是的) where the question was asked, a restatement of the question, and a yes or no said
of the slot before it is asked ("发票都有"), each only where it is unambiguous: not under way
("正在办备案"), not in a question asked back, not taken back by a later clause ("有房子，不过已经
卖了"), and, of what was before a now ("以前有房，现在没了"), the now part only, as a guess.
"""

from __future__ import annotations

import re

from .answers import NO, UNSURE, YES, denied_in_english, said_at, says, yes_no
from .cues import cue_words
from .periods import a_period_length, named_noun, time_over
from .predicates import DONE, ENDING, HINT, LOST, UNDER_WAY, completed, echoed, negated_around, polarity
from .spec import FormSpec, Slot
from .utterance import (
    A_NOT_A,
    ASKING,
    ASKS_AHEAD,
    DECLARED,
    EMPHATIC_NONE,
    NEGATORS,
    NOW,
    PAST,
    PUNCT,
    SOMEONE_ELSE,
    STILL_TO_COME,
    TAKE_BACK,
    Reading,
    asks,
    clause_of,
    clause_spans,
    correction_at,
    correction_word,
    occurrences,
)
from .verbs import HEDGE, LOSES, UNSAID, Verb, masked, says_verb, taken_back, verbs

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
# a case supposed before a slot's own word in its clause ("如果有车呢"): not 主要是 or 只要是, nor
# a hedge ("要是没记错的话"); narrower than utterance.SUPPOSE, whose 的话 is often a topic marker
_SUPPOSING = re.compile(r"(?:如果|假如|假设|(?<![主只])要是)(?!我?没记错)|万一|\bif\b(?!\s+i\s+(?:remember|recall))")
_PARTICLES = re.compile(r"[啊呀嘛呢哦吧啦]+$")  # after a plain no: 没有啊
_PLAIN_NO = ("没有", "没", "不是", "不", "否")
_SHORT = 4  # a reply this short (without punctuation) is the answer itself: 是的, 没有, 不是


# heard or reported, planned, or of a neighbour (beside HEDGE, STILL_TO_COME and SOMEONE_ELSE)
_NOT_OWN = re.compile(r"说|计划|想[去要让着]|还要|快|以后|人家|[他她它]|房东")


_UNREAD = Reading(None)  # a correction read: nothing certain (see _taken_back)


def read_yes_no(spec: FormSpec, name: str, text: str, asked: bool) -> Reading | None:
    slot = spec.slots[name]
    fix = correction_at(text)
    if fix > 0:
        taken = _taken_back(spec, name, text, asked, fix)
        if taken is not None:
            return None if taken is _UNREAD else taken
    t = text.lower()
    if _NO_NEED.match(t.strip()) or ((_DOUBLE_NO.search(t) or any(w in t for w in UNSURE)) and len(clause_spans(t)) == 1):
        # "不用登记了吧", "没什么不能提供的": neither done nor refused, plainly; "备案不清楚有没有": not known
        return None
    if asked:
        # a thing's time over or not ("试用期早过了"), or a period's length ("试用期三个月"), before
        # any verb of the slot's is looked for: its words may hold the noun's first character
        noun = named_noun(spec, name, t)
        over = None if noun is None else time_over(slot, t, noun)
        if over is not None or (noun is not None and a_period_length(t, noun)):
            return over
    found, nouns = verbs(slot.yes_words, slot.no_words, cue_words(spec, name))
    qualified = _modified(slot, found)
    said = says_verb(text, found, nouns, named=asked, others=_authors_words(spec, name) + qualified)
    if UNDER_WAY.search(masked(t, found) if isinstance(said, tuple) else t):
        return None  # "正在办备案了": neither done nor refused, whatever words it holds ("社保还在交" is paying)
    if isinstance(said, tuple):
        return Reading(said[0], sure=said[1])
    own = [w.lower() for w in [*slot.yes_words, *slot.no_words] if says(t, w.lower()) and not _of_the_other(t, w.lower())]
    # the author's English yes words said only after a negation, in more than a plain no ("…, and
    # we don't own a car"), say neither yes nor no, whatever else the reply says: a yes word beside
    # them ("he's vaccinated but we haven't had the rabies shot") or a no word ("我没车, my wife
    # doesn't own a car but my son does"; "没车贷, …") may be said of another person or thing
    nos = {n.lower() for n in slot.no_words} & set(own)  # ("expired" in "not expired" is that no word's)
    if any(denied_in_english(t, w.lower()) for w in slot.yes_words
           if w.lower() in own and not any(w.lower() in n for n in nos)):
        return None
    if own:
        # the author's words: certain, unless said in a question ("不是有居住证吗？"), of what was
        # before a now ("以前有房，现在没了"), or taken back by another clause ("有房子，不过已经卖了")
        spans = clause_spans(t)
        now = NOW.search(t)
        asking = [t[cs:ce] for cs, ce in spans if asks(t, cs, ce)]
        if any(says(c, w) for c in asking for w in own):
            # a question of the case ("井下的能提前退休吗？") says nothing; a statement of the user's
            # own beside it ("我下井干了十二年") still does, read without the question; not one that
            # may be of someone else, heard, planned or unsure ("有房的能领吗？我父母有房")
            stated = "，".join(text[cs:ce] for cs, ce in spans if not asks(t, cs, ce))
            if any(p.search(stated) for p in (SOMEONE_ELSE, HEDGE, STILL_TO_COME, _NOT_OWN)) or \
                    not any(says(stated.lower(), w) for w in own):
                return None
            return read_yes_no(spec, name, stated, asked)
        spoken = {(cs, ce) for cs, ce in spans if any(says(t[cs:ce], w) for w in own)}
        if now is not None and any(PAST.match(t, cs) and now.start() > cs for cs, ce in spoken):
            # what is now, in the slot's own words, is a guess ("现在没过期" says nothing of having one)
            now_text = t[now.start():]
            now_said = read_yes_no(spec, name, text[now.start():], asked) \
                if any(says(now_text, w.lower()) for w in [*slot.yes_words, *slot.no_words]) else None
            return None if now_said is None else Reading(now_said.value, sure=False)
        before = [t[clause_of(spans, at)[0]:at] for w in own if (at := said_at(t, w)) >= 0]
        if before and all(_SUPPOSING.search(b) for b in before):
            # "如果有车呢", "要是有个证的话": a case supposed; a plain no before it answers the
            # question, the case only says why ("没有啊，要是提前通知了我们就不会跑过来了"): a
            # guess (a yes before one is most often a regret: "是啊，要是提前备案了多好")
            plain = asked and _opens_with_no(t, spans) and not negated_ask(slot)
            return Reading(False, sure=False) if plain else None
        value = yes_no(text, slot.yes_words, slot.no_words)
        later = [(cs, ce) for cs, ce in spans if cs >= min(spoken)[1]]  # a take-back follows what it takes back
        hedged = HEDGE.search(t) is not None and any(says(t, w) for w in qualified)  # "好像是次要责任": a guess
        return Reading(value, sure=not hedged and not (value and taken_back(t, later, spoken, _authors_words(spec, name), LOSES)))
    if said == UNSAID:
        return None  # the verb said and left open ("交了，换工作后停了"): nothing else read is certain
    r = _common_words(spec, name, text, asked)
    if r is not None and r.sure and negated_ask(slot) and _doing(text):
        # a question asked of what is not done ("还有没有未处理的违章？") turns the having and
        # doing words around ("违章都搞定了", "还没去办"): only a plain yes or no is certain
        return Reading(r.value, sure=False)
    return r


def _by_cue(slot: Slot, text: str, cues: list[str], ahead: bool, described: bool) -> Reading | None:
    """A reply with no yes/no word: a word naming the slot says it, and a negator before it says
    the opposite ("登记过了" is yes, "发票暂时还没有" no); only a guess, since "罚款交清了" names
    the slot to say no without a negator."""
    t = text.lower()
    echo = None if described else echoed(slot.ask, text)  # "门禁卡是物业管的" restates no predicate
    if echo is not None:
        return Reading(echo)
    spans = clause_spans(text)
    at = [(t.find(c), c) for c in cues if c in t]
    if not at:
        done = completed(text, 0)  # "都拿到了", "齐全"
        return Reading(done) if done is not None else polarity(text)
    start, cue = min(at, key=lambda a: (a[0], -len(a[1])))  # the longest word where the first starts
    cs, ce = clause_of(spans, start)
    done = completed(text[cs:ce], start + len(cue) - cs)  # "证明已经开好了", "发票都在"
    if done is None and not ahead and STILL_TO_COME.search(t[cs:ce]):
        return None  # "残疾证要下个月才能拿到": still to come, neither had nor refused
    plain = _cue_says(slot, cue)  # what the word said plainly says ("兄弟姐妹": no)
    if done is not None:
        return Reading(done == plain)
    return Reading(negated_around(text, start, spans) != plain, sure=False)


def _modified(slot: Slot, found: tuple[Verb, ...]) -> tuple[str, ...]:
    """The slot's own words that hold one of its verbs after a word that qualifies it (not after
    a negation or a word of having or doing) and mean the opposite of the verb said plainly
    (次要责任 and 同等责任, no words, beside 没有责任 and 主要责任): said, they mean what the author
    wrote. (工伤保险交了 and 五险都交了 say the verb plainly: the verb's reading stands.)"""
    yes = {x.lower() for x in slot.yes_words}
    return tuple(w for w in (x.lower() for x in [*slot.yes_words, *slot.no_words])
                 if any((at := w.find(v.word)) > 0 and not any(c in w[:at] for c in NEGATORS + "有已在了")
                        and v.plain != (w in yes) for v in found))


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
    low = text.lower()
    others = [c for n in spec.slots if n != name for c in cue_words(spec, n) if len(c) >= 2]
    first = min((i for w in TAKE_BACK if (i := low.find(w)) >= 0), default=-1)
    if first > 0 and _FILLER.sub("", PUNCT.sub("", low[:first])) in _PLAIN and any(c in low[first:] for c in others):
        # "no… 哦不对，说错了，去年就做过绝育了": a bare yes or no taken back at once, and what
        # follows is of another slot: nothing said of this one
        return _UNREAD
    cs, _ = clause_of(clause_spans(text), fix)
    named = _FILLER.sub("", PUNCT.sub("", text[cs:fix].lower()))
    # (another slot's word after it says the correction is of that one, unless this slot's own
    # words follow too: "没有工资……哦不对，我是单位委托培养的，单位一直给我发着工资呢")
    sides = {w in slot.yes_words for w in [*slot.yes_words, *slot.no_words] if says(low[fix:], w.lower())}
    # (words of both sides after it, "没签，只有工牌", leave it to the whole, and so does a reading
    # of what follows that the words' side does not give)
    guarded = any(c in text[cs:] for c in others)
    if cue is None or not PUNCT.sub("", text[:fix]) or ASKING.search(text[fix:]) or (guarded and len(sides) != 1) or \
            (named and not any(c in named for c in cue_words(spec, name))):
        return None
    # (其实没有 keeps its 没: what follows 其实 is what it says, less a copula: 其实是没有; "更正一下，有")
    rest = text[fix + (2 if cue.startswith("其实") else len(cue)):].lstrip(" ，,：:")
    rest = _COPULA.sub("", re.sub(r"^(?:一下|了)[\s，,：:]*", "", rest))
    later = read_yes_no(spec, name, rest, asked) if PUNCT.sub("", rest) else None
    if guarded:
        return later if later is not None and later.value in sides else None
    bare = ENDING.sub("", re.sub(r"(?:才对|吧)+$", "", PUNCT.sub("", rest.lower())))  # "应该是有才对"
    own = (re.search(re.escape(w.lower()) + r"[了的啦呢吧啊呀哦]*(?![\u4e00-\u9fff])", rest.lower())
           for w in [*slot.yes_words, *slot.no_words])  # as a word: 有房 is not in "没有房贷"
    if later is not None and (bare in _PLAIN or _BARE_COUNT.match(bare) is not None or any(own)):
        return later
    if cue in TAKE_BACK and read_yes_no(spec, name, text[:fix], asked) is not None:
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
    # "八个月，不对，说错了，是…": a 不对 after something said corrects that, and answers nothing
    ahead = ASKS_AHEAD.search(HINT.sub("", slot.ask)) is not None  # "您能提供…吗？": "明天能提供" answers
    value = yes_no(_LATER_TAKE_BACK.sub(
        lambda m: m.group(1) + (" " * 2 if _PAUSE.sub("", m.group(1)) else m.group(2)), text), modal_yes=ahead)
    if value is not None and _said_of_another(spec, name, t):
        return None  # "没做绝育" to "打过疫苗吗？": its 没 is another question's no
    described = value is not None and _copula_only(t)  # "房子是租的": 是 says what it is, no yes
    value = None if described else value
    cues = cue_words(spec, name)
    if value is not None and yes_no(text, [], []) is not None and _both_ways(t):
        # a yes word and a no word in one reply ("还有两条违章没处理完" to "还有没有未处理的违章？"):
        # what it says is in how it restates the question's predicate, not in which word wins
        echo = echoed(slot.ask, text)
        if echo and _opens_with_no(t, clause_spans(t)) and not negated_ask(slot) and not _both_ways(t, just=False):
            # a plain no, then "just" (就是) and the question's predicate restated: "没有，就是起飞前一个
            # 多小时才通知的" says no to notice in time, though it says 通知: the two disagree, and
            # nothing is read ("不是，是备案的购房合同" names what it has, and stays a yes)
            return None
        if echo is not None:
            return Reading(echo)
    if value is None:
        return _by_cue(slot, text, cues, ahead, described)
    # "一张都没有" is "没有" said with emphasis, and "违章一条都没有" "违章没有": as short a reply
    # (only after nothing or the slot's own words: "问题一个都没有" says nothing of a 病假条)
    core = PUNCT.sub("", t)
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
    if value is False and A_NOT_A.search(slot.ask) and _DENIES_THEN_HAS.match(head):
        return None  # "不对，我有两个儿子" to "有没有子女？": 不对 denies something said; what it has is unread
    if len(core) <= _SHORT or opens or any(c in t for c in cues):
        named = min(((t.find(c), -len(c), c) for c in cues if c in t), default=(0, 0, None))[2]  # the first said
        if value is not None and named is not None and not opens and not _cue_says(slot, named):
            # said of a thing whose having says no: "兄弟姐妹都没有" is a yes, "兄弟姐妹有两个" a no;
            # anything else said of it ("兄弟姐妹不在本地", "兄弟姐妹，只有我一个") is read by neither
            rest = re.sub(r"^[\s，。！？；、,.!?;:：…]+", "", t[t.find(named) + len(named):])  # "兄弟姐妹？没有"
            rest = _ADVERBS.sub("", EMPHATIC_NONE.sub("", rest, count=1), count=1)
            has = _HAS.match(rest)
            if has is not None and has.group(1) and (ENDING.sub("", PUNCT.split(rest[has.end():], maxsplit=1)[0])
                                                     or rest[has.end():].startswith("了")):
                has = None  # "没几个": not many, some; "都没了": gone, once had
            return None if has is None else Reading(has.group(1) is not None)
        # "有一套（房子）" alone has some; "有一套，已经卖了" may not: what follows is read by nobody
        count = _HAS_COUNT.match(head)
        after = "" if count is None else head[count.end():]
        after = next((after[len(c):] for c in sorted(cues, key=len, reverse=True) if after.startswith(c)), after)
        return Reading(value, sure=not PUNCT.sub("", ENDING.sub("", after)))
    # a yes/no word inside a sentence about something else ("在本市没有自有住房"); in English,
    # the reply's own polarity, confirmed first
    return polarity(text)


# a reply opening with a denial of something said (不对), then saying it has something
_DENIES_THEN_HAS = re.compile(r"不对[\s，。！？；、,.!?;].*(?<![没只])有")  # ("不是，只有一辆电动车" says no)
_LATER_TAKE_BACK = re.compile(r"([^\s，。！？；、,.!?;].*?[\s，。！？；、,.!?;]\s*)(不对)")
# what may come before a 不对 that still answers: a pause, not a thing said ("哦，不对", "等等，不对")
_PAUSE = re.compile(r"哦|噢|呃|额|诶|欸|嗯|啊|唉|哎|嘿|呀|咦|等等|等一下|等下|好|行|算了|[\s，。！？；、,.!?;]")


def _said_of_another(spec: FormSpec, name: str, t: str) -> bool:
    """Whether every yes or no word of the text stands inside another yes/no slot's own words
    ("没做绝育" holds the only 没), so the polarity is that slot's, not this one's."""
    theirs = [w.lower() for n, s in spec.slots.items() if n != name and s.type == "boolean"
              for w in (*s.yes_words, *s.no_words) if w]
    # English words as whole words: the "no" of "no written contract" is that no word's
    inside = [span for w in theirs for span in (_whole_words(w, t) if w.isascii() else occurrences(w, t))]
    hits = [s for w in (*YES, *NO) for s, _ in (_whole_words(w, t) if w.isascii() else occurrences(w, t))]
    return bool(inside) and bool(hits) and all(any(a <= h < b for a, b in inside) for h in hits)


def _whole_words(w: str, t: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(rf"(?<![a-z']){re.escape(w)}(?![a-z'])", t)]


# a reply opening with no need ("不用登记了吧") or all one double negative ("没什么不能提供的"): no plain yes or no
_NO_NEED = re.compile(r"(?:现在)?(?:不用|不需要|不必|没必要|无需)(?![了啦啊呀，,。.！!\s]|$)")  # not "不用了，…"
_DOUBLE_NO = re.compile(r"没有?(?:什么|啥)[不没未无非]")
_COPULAS = ("是",)  # a yes word that, with more after it, links (是租的)


def _copula_only(t: str) -> bool:
    """Whether every yes or no word of the text is the copula 是 with more said after it in its
    clause ("房子是租的"), so none of them answers yes."""
    hits = [(w, e) for w in (*YES, *NO) if not w.isascii() for _, e in occurrences(w, t)]
    spans = clause_spans(t)
    return bool(hits) and all(_links(t, w, end, spans) for w, end in hits)  # (是的, 不是 are words of their own)


def _links(t: str, word: str, end: int, spans: list[tuple[int, int]]) -> bool:
    """Whether the yes word ending at ``end`` is the copula 是 with more said after it in its clause."""
    return word in _COPULAS and ENDING.sub("", PUNCT.sub("", t[end:clause_of(spans, end - 1)[1]])) not in ("", "的")


def _both_ways(t: str, just: bool = True) -> bool:
    """Whether a reply holds a yes word and, apart from it, a no word (有 and 没 in "还有两条没处理
    完"; not the 有 of 没有); without ``just``, the 是 of 就是 with more after it is no yes word."""
    noes = [span for w in NO if not w.isascii() for span in occurrences(w, t)]
    spans = clause_spans(t)
    yeses = [s for w in YES if not w.isascii() for s, e in occurrences(w, t)
             if just or not (t[s - 1:s] == "就" and _links(t, w, e, spans))]
    return bool(noes) and any(not any(a <= y < b for a, b in noes) for y in yeses)


def _opens_with_no(t: str, spans: list[tuple[int, int]]) -> bool:
    """Whether a reply of more than one clause opens with a plain no as a clause of its own
    ("没有啊，…", "不是，…")."""
    return len(spans) > 1 and _PARTICLES.sub("", t[spans[0][0]:spans[0][1]].strip()) in _PLAIN_NO


def stated_yes_no(spec: FormSpec, name: str, text: str) -> Reading | None:
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
        cue = next((c for c in cues if c in low), "")  # cues run longest first
        at, plain = (low.find(cue) + len(cue), _cue_says(spec.slots[name], cue)) if cue else (-1, True)
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
        value = None if value is None or not plain else value  # (siblings lost says nothing plain)
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
                value = (m.group(1) is None) == plain  # "兄弟姐妹都没有": no siblings, a yes
                value = None if not plain and rest[m.end():].startswith("了") else value  # "都没了": once had
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


# English: the other party named before a word in its clause ("the other driver was fully at
# fault"): the word is said of them, not of the user (Chinese forms name 对方 in their own words)
_THE_OTHER = re.compile(r"\bthe other\b")  # (not "another": "moved to another flight against my will")


def _of_the_other(t: str, word: str) -> bool:
    """Whether an English word is said of the other party, named before it in its clause."""
    at = said_at(t, word)
    if not word.isascii() or at < 0:
        return False
    cs, _ = clause_of(clause_spans(t), at)
    return _THE_OTHER.search(t, cs, at) is not None


def _cue_says(slot: Slot, cue: str) -> bool:
    """What a word naming the slot says, said plainly: yes, unless the author's words that say it
    or having it (有兄弟姐妹) are all no words ("兄弟姐妹" to "独生子女吗？"; not "快到期", which
    says more than having it)."""
    plain = [w for w in (*slot.yes_words, *slot.no_words) if w.lower() in (cue, "有" + cue)]
    return not plain or not all(w in slot.no_words for w in plain)


def _owns(verb: str, cues: list[str]) -> bool:
    """Whether what follows 没 is the slot's own verb: empty, a word of its cue ("审批没批") or a
    verb of doing ("审批没来得及办")."""
    return not verb or (len(verb) <= 2 and any(verb in c for c in cues)) or (len(verb) <= 5 and verb.endswith(_DOING))


_DOING = ("办", "弄", "做", "搞", "开", "申请", "提交")  # 没来得及办: the doing of the slot's thing, not another
