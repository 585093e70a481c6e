"""A reply to a question that asked the user to confirm: a guess asked about ("您是说…，对吗？"),
guesses said back with the next question ("（我记下的是：…）"), or "which is right?" of two
values. :mod:`.forms` reads the reply first, then settles these before taking what else it says."""

from __future__ import annotations

import re
from dataclasses import replace

from .answers import HESITATES, UNSURE, yes_no
from .cues import cue_words
from .form_state import FormState, Turn
from .quantities import quantities
from .recognize import negated_options, read
from .spec import FormSpec
from .utterance import NEGATORS, Read, Reading, clause_spans
from .yes_no import read_yes_no

# a reply that opens by taking back what was said back ("不对，是5", "不是，5年"; not "不是很久")
_TAKES_BACK = re.compile(r"(?:不对|不是这样|错了|说错了|搞错了|记错了|that'?s wrong|wrong|no\b|不是(?=[，,。.！!\s]|$))")
_OPENING_NO = ("不是", "不对", "没有", "不", "no", "not", "nope")  # a reply that opens with these says no


def settle(spec: FormSpec, state: FormState, text: str, got: Read, out: Turn, other: bool, lang: str,
           together: tuple[str, ...] = ()) -> None:
    """The answer to a confirmation or to "which is right?", if the last question was one.
    ``other``: the reply read a value of another slot (kept or not); ``together``: the other
    guesses asked about in the same question."""
    name = state.asked
    if name is None or not (state.confirming or state.conflict is not None):
        return
    r = got.found.pop(name, None)
    got.rejected.pop(name, None)
    if state.confirming:
        guess = state.guesses.pop(name, None)
        reply = plain_yes_no(text)
        if reply is False and _no_of_another(spec, text, name, guess, lang):
            # "没有扣满，…": a no of another question, not of this one; but it might have been
            # meant for this one too, so it confirms nothing: the guess is asked again, and the
            # next reply settles it as any reply does (a yes, a no, or an answer to something else
            # that passes it over). A reply that also speaks of the guess ("没车，不过户口已经迁到
            # 城里了", "没坏，是个牛排造型的抱枕"), reads otherwise for it, or says more that is not
            # read and no no ("没车，我们乡下的") may deny it in words not read: then only a yes does.
            state.guesses[name] = guess
            rest = text[clause_spans(text)[0][1]:]
            doubted = (r is not None and r.value != guess) or _speaks_of(spec, rest, name) or \
                _unread(spec, rest, name, lang)
            if doubted and name not in state.implied:
                state.implied.append(name)
            reply = None
            other = False
        # "不对，说错了，是四天": the no may open a correction of another answer, or deny the guess
        # as well ("不对，不是事假，请三天"): neither taken nor denied, the guess is asked again
        # (unless the reply denies its option)
        again = reply is False and guess is not None and got.correction and _corrects_other(state, got, name) and \
            not (isinstance(guess, str) and guess in negated_options(spec.slots[name], text))
        # a no that gives another guess of the question its value ("不对，是三个月") is said of that
        # one: this guess is neither denied nor taken, and is asked about again
        again = again or (reply is False and guess is not None and any(n in got.found for n in together))
        verdict = _right_or_wrong(text)
        if verdict is not None:
            # a reply that only says whether what was said back is right ("对", "嗯嗯", "不对不对"):
            # to "您是说独生子女：否，对吗？", "对" is 否 confirmed (not 是); "对，已备案" says more
            r, reply = None, verdict
        elif spec.slots[name].type == "boolean" and r is not None and r.value == reply and \
                _right_or_wrong(text[slice(*clause_spans(text)[0])]) is not None:
            # read from its opening 对 alone ("对，有两个哥哥" where 有两个哥哥 reads nothing), the
            # reply says the guess is right; the rest, if it reads, says what the slot holds
            rest = text[clause_spans(text)[0][1]:]
            r = read_yes_no(spec, name, rest, asked=True) if rest.strip() else None
        if r is not None and r.sure:
            out.filled[name] = state.values[name] = r.value  # the answer to the question just asked
        elif again:
            state.guesses[name] = guess
        elif (r is not None and r.value == guess) or reply is True or \
                (reply is None and other and name not in state.implied):  # an inference needs a yes
            out.confirmed[name] = state.values[name] = guess  # yes, or passed over for another answer
            if reply is None and name not in state.passed:
                state.passed.append(name)
        elif reply is None and guess is not None:
            state.guesses[name] = guess  # nothing said about it: ask again
        elif reply is False and isinstance(guess, str):
            state.denied.setdefault(name, []).append(guess)  # an option denied is not offered again
    elif r is not None and r.sure:
        old = state.values.get(name)
        state.values[name] = r.value
        if old != r.value:
            out.corrected[name] = (old, r.value)
    elif other and (state.contested or name in state.passed):
        # "which is right?" of two values said with confidence, or of a guess against one only
        # passed over, passed over for another answer: neither decides; the question is asked
        # again when the tree needs it ("十天了" said back and passed over, then "到今天刚好二十天":
        # either may be the days since the injury). A guess against an answer the user gave
        # ("住了二十多年" against a dog's age, in another unit) leaves the answer held.
        state.values.pop(name, None)
        if name in state.passed:
            state.passed.remove(name)
    if name not in state.guesses and name in state.implied:
        state.implied.remove(name)  # confirmed or denied
    state.confirming, state.conflict, state.contested = False, None, False


def passed_over(spec: FormSpec, state: FormState, text: str, got: Read, out: Turn) -> None:
    """The guesses restated with the last question (an implicit confirmation): a reply that
    answers something, says nothing of them and takes nothing back confirms them. One that opens
    by taking back ("不对", "不是，…", "错了") is said of what was said back, not an answer to the
    question: the guesses go, to be asked again, and nothing else it says is taken but a value it
    gives one of them with certainty ("不对，户口是城镇的"). A guessed option denied ("不是事假") is
    not offered again. A reply that gives one of them a value is read as usual; one that opens
    with a no in its own words ("不到一个月") neither confirms them nor drops them. A plain yes
    ("是", "对") can only be said of them (the question with them asks for no yes or no)."""
    noted, state.noted = [n for n in state.noted if n in state.guesses and n not in state.values], []
    if not noted:
        return
    reply = plain_yes_no(text)
    # asked about with a guess of their own ("您是说…；…，对吗？"), they go with a bare no as that
    # guess does, but not with a no that corrects another answer held ("不对，有合同"), as it
    # does not go either
    asked_too = state.confirming and state.asked is not None
    taken_back = (_TAKES_BACK.match(text.strip().lower()) is not None or
                  (asked_too and _BARE_NO.fullmatch(_PLAIN.sub("", text.lower())) is not None)) and \
        not (asked_too and got.correction and _corrects_other(state, got, str(state.asked)))
    if taken_back and not asked_too:
        kept = {n: r if r.sure else _in_its_unit(spec, state, n, r, noted, text) for n, r in got.found.items() if n in noted}
        got.found = {n: r for n, r in kept.items() if r is not None}
        got.rejected = {}
    # (asked about with a guess of their own, what the reply says of any of them, or of anything
    # else, is read as it would be were they not asked about with it: "不对，是私家车，八年")
    # (a yes with a "but" after it, "对，不过不是七八天", may be said of the guess asked about alone:
    # the others are asked about again, as after a reply unsure of anything)
    but = asked_too and reply is True and _BUT.search(text.lower()) is not None
    unsure = but or any(w in text.lower() for w in UNSURE)
    yes_to_them = reply is True and not got.found and not unsure
    if yes_to_them:
        got.rejected = {}  # "对" is no failed answer to the question asked with them
    answered = (any(n not in noted for n in got.found) and not unsure) or yes_to_them
    for name in noted:
        guess = state.guesses[name]
        denied = isinstance(guess, str) and guess in negated_options(spec.slots[name], text)
        if name in got.found and not denied:
            continue
        if denied or taken_back or _sets_against(spec, name, text):
            # (a reply that names the guess's slot beside a no or a contrast, and reads no value
            # for it, "三口人，户口那个不对", may deny it: the question comes again)
            state.guesses.pop(name)
            if denied:
                state.denied.setdefault(name, []).append(guess)
        elif answered and not got.correction and reply is not False:
            out.confirmed[name] = state.values[name] = state.guesses.pop(name)
            if name not in state.passed:
                state.passed.append(name)


def _in_its_unit(spec: FormSpec, state: FormState, name: str, r: Reading, noted: list[str],
                 text: str) -> Reading | None:
    """The new value of the guess said back that a taking-back reply gives and says nothing else
    ("（我记下的是：购买天数 20）" — "不对，是四十天"): a number in that slot's own unit, where no
    other number was said back and the question asked for none: the user's own correction,
    certain. Not a bound ("三十来天" may hold the guess it takes back), a date ("不对，是15日", "是19年
    的") or a hedge ("不对吧"), nor anything said beside the number, which may say whose it is or
    what it counts ("不是，20天是我妈那台", "不对，我驾龄5年")."""
    numeric = ("integer", "number")
    asked = spec.slots.get(state.asked or "")
    if spec.slots[name].type not in numeric or r.converted or (asked is not None and asked.type in numeric) \
            or any(n != name and spec.slots[n].type in numeric for n in noted):
        return None
    rest = text.strip()
    while (opener := _TAKES_BACK.match(rest.lower().lstrip("，,。. "))) is not None:  # "不对不对，是四十天"
        rest = rest.lstrip("，,。. ")[opener.end():]
    said = quantities(rest)
    if r.span is not None or len(said) != 1 or _FILLER.sub("", rest[:said[0].start] + rest[said[0].end:]) \
            or _CALENDAR.search(rest[said[0].start:said[0].end + 1]):
        return None  # a bound ("三十来天") may hold the guess it takes back; a date is no duration
    return replace(r, sure=True)


_FILLER = re.compile(r"[\s，,。.！!~…]|其实|应该|就是|是|了|啊|呀")
# a day of the month, a month's name, a year ("15日", "是3月的", "20年的"): a date, not how long
_CALENDAR = re.compile(r"[日号]|(?<![个多半])月|年的|^\d\d\s*年")


# the no words that bind to the verb or thing after them ("没扣满", "没有过期"): 不是, 不对 and a bare
# 不 say no to what was asked ("不是数码的", "不想要了")
_BOUND_NO = ("没有", "没", "未", "无")


def _no_of_another(spec: FormSpec, text: str, name: str, guess: object, lang: str) -> bool:
    """Whether a reply opening with 没 or 没有 ("没有扣满，还剩好几分", "没过期") says it of another
    question: the no runs on, with no break, into words the rules read as another slot's answer,
    and the reply denies no option of the slot asked about. Such a reply neither denies the guess
    nor passes it over: the guess is asked about again."""
    first = text[slice(*clause_spans(text)[0])].strip()
    opening = next((w for w in _BOUND_NO if first.startswith(w)), None)
    if opening is None or not re.match(r"[\u4e00-\u9fff]", first[len(opening):]) or re.search(r"\s", first):
        return False  # a plain no: "没有", "没有，是水果", "没 是吃的"
    if isinstance(guess, str) and negated_options(spec.slots[name], text):
        return False  # "没有数码的，…" denies an option of the slot asked about
    return any(n != name for n in read(spec, first, None, lang).found)


# words that say what a thing is instead, or set one thing against another: "是个抱枕", "不过户口…"
_CONTRAST = re.compile(r"^\s*(?:是|就是|其实|而是)|不是|其实|不过|但是|可是|只是|而是|也不|倒是|不对|错了|\bbut\b|"
                       r"\bactually\b|\bnot\b", re.I)


def _slot_words(spec: FormSpec, name: str) -> list[str]:
    """The words that name a slot or its options. (A number slot's cue words take in the words of
    the branch that asks it, "事假" for the days of leave: said of much else, they are left out.)"""
    slot = spec.slots[name]
    cues = cue_words(spec, name) if slot.type in ("enum", "boolean") else []
    return [w for w in (*cues, *(w.lower() for ws in slot.choices().values() for w in ws)) if w]


def _speaks_of(spec: FormSpec, text: str, name: str) -> bool:
    """Whether the text names the slot, says what something is ("牛排是做好的熟食罐头", "是个抱枕")
    or sets one thing against another ("不过户口已经迁到城里了")."""
    low = text.lower()
    return any(w in low for w in _slot_words(spec, name)) or _COPULA.search(low) is not None or \
        any(_CONTRAST.search(low[s:e]) for s, e in clause_spans(low))


_COPULA = re.compile(r"(?<![还要])是(?!不是)")  # 是 saying what a thing is (还是 "or", 要是 "if" say no such thing)


def _unread(spec: FormSpec, text: str, name: str, lang: str) -> bool:
    """Whether a clause of the text says something the rules do not read as another question's
    answer, and no no either ("没车，我们乡下的": it may be said of the guess; "没车，连电动三轮都
    没有" only says the no again)."""
    for s, e in clause_spans(text):
        clause = text[s:e]
        if clause.strip(" ，。,.!！") and not any(c in clause for c in NEGATORS) and \
                not any(n != name for n in read(spec, clause, None, lang).found):
            return True
    return False


def _sets_against(spec: FormSpec, name: str, text: str) -> bool:
    """Whether a clause of the reply names the slot beside a no or a contrast ("户口那个不对")."""
    low, words = text.lower(), _slot_words(spec, name)
    return any(_CONTRAST.search(low[s:e]) and any(w in low[s:e] for w in words) for s, e in clause_spans(low))


def _corrects_other(state: FormState, got: Read, name: str) -> bool:
    """Whether the reply restates an answer already held, other than ``name``, with a new value
    the rules read (not a match by meaning): what a "不对" opening it takes back."""
    return any(n != name and n in state.values and (r.sure or r.source == "rule") and r.value != state.values[n]
               for n, r in got.found.items())


# replies that say only whether what was said back is right, not what the slot holds (有, 没有
# say that), said once or over again
_SAYS_WRONG = r"不对|不是|否|错了|no|nope|wrong"
_WRONG = re.compile(rf"(?:{_SAYS_WRONG})+")
_BUT = re.compile(r"不过|但是|但|可是|只是|就是(?!这样|这个|的|[啊呀吧，,。.!！]|$)|\b(?:but|however|though|except)\b")
_BARE_NO = re.compile(rf"(?:{_SAYS_WRONG}|不|没有|没)+")  # a no and nothing else, in any word
_PLAIN = re.compile(r"[\s,.!，。！~、]+|[的啊呀吧呢哦啦嘛]")  # what a reply that says only that may hold
_RIGHT = re.compile(r"(?:对|是|嗯|没错|对头|正确|好|可以|就|这样|yes|yeah|yep|right|correct|ok|okay)+")


def _right_or_wrong(text: str) -> bool | None:
    """Whether a reply says only that what was said back is right (True) or wrong (False), or
    None where it says anything else ("对，已备案", "没领过")."""
    if re.search(r"[?？]", text) or HESITATES.search(text):
        return None  # "对？", "嗯……": asking back or trailing off
    t = _PLAIN.sub("", text.lower())
    return False if _WRONG.fullmatch(t) else True if _RIGHT.fullmatch(t) else None


def plain_yes_no(text: str) -> bool | None:
    """A yes or no that is the reply itself or opens it ("对", "不是，…", "不是3周"), not one inside
    a clause; a 嗯 asking back ("嗯？") or trailing off ("嗯……") is neither."""
    first = text[slice(*clause_spans(text)[0])].strip()
    if len(first) <= 3:
        return None if HESITATES.search(text) and yes_no(first) else yes_no(first)
    low = first.lower()
    opens = low.startswith(tuple(w for w in _OPENING_NO if not w.isascii())) or low.split(" ", 1)[0] in _OPENING_NO
    return False if opens else None  # "not 3 weeks" is a no; "nothing else" is not
