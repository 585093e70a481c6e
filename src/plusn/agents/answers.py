"""One answer, checked against its slot: the value in the slot's type, or what is wrong with it.

This is the reading of a reply to a question the form asked, where the whole reply is the
answer: a number (with its unit), yes or no, one of the options, a date, a string that fits its
pattern. :mod:`.recognize` decides which parts of a message answer which slot.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import date
from typing import Any

from .quantities import convert, quantities
from .spec import Slot
from .utterance import SOMEONE_ELSE, STILL_TO_COME, occurrences

_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
# The longest word found decides ("没错" is yes though "没" is no); an unsure answer is neither.
NO = ("不是", "没有", "不可以", "不能", "不对", "不行", "无", "否", "没", "不", "未", "no", "nope", "not", "false", "n")
YES = ("是的", "是", "有", "对", "可以", "能", "好的", "没错", "没问题", "不错", "当然", "yes", "yeah", "yep", "true",
       "y", "sure", "of course", "correct", "right")
HESITATES = re.compile(r"[?？…]|\.\.\.")  # "嗯？" asks back, "嗯……" trails off: neither agrees
# Said alone, these agree ("嗯" to "是否已登记？"); inside a reply they are only a pause ("嗯，没有").
BARE_YES = ("嗯", "嗯嗯", "恩", "恩恩", "嗯呢", "嗯哪", "mhm", "uh-huh", "uh huh", "yup")
UNSURE = ("不知道", "不清楚", "不太清楚", "不确定", "不太确定", "不太记得", "说不好", "说不准", "说不定", "不好说", "不记得", "not sure", "don't know", "dont know", "unsure", "no idea")
_WORDISH = re.compile(r"^[a-z]+$")
# What people say to a decision that takes it as given: yes, thanks, understood (a closed class).
ACK = ("谢谢", "多谢", "好的", "好", "行", "嗯", "嗯嗯", "明白", "明白了", "知道了", "收到", "了解", "ok", "okay",
       "thanks", "thank you", "thx", "got it", "great", "understood", "i see")
_ACK_PUNCT = re.compile(r"[\s，。！？；、,.!?;~～…]+")

WORDS = {
    "zh": {"corrected": "已更正：{label} → {value}。", "invalid": "这个回答不符合要求：{why}。",
           "number": "需要一个数字", "range_low": "不能小于 {n}", "range_high": "不能大于 {n}",
           "choose": "请从以下选项中选择：{options}", "yesno": "请回答“是”或“否”", "date": "请按 2024-05-01 的格式给出日期",
           "pattern": "格式不正确", "confirm": "您是说{values}，对吗？（是 / 否）", "pair": "{label}：{value}", "and": "；",
           "noted": "（我记下的是：{values}。如有不对，请直接更正。）",
           "conflict": "您前面说{label}是“{old}”，这次提到“{new}”。请问哪个是对的？",
           "changed": "根据您补充的信息，结论有变化：", "unchanged": "根据您补充的信息，结论不变：",
           "new_slot": "已记下：{label} → {value}。",
           "exact": "您说“{said}”，这还不足以判断。请问{label}具体是多少？",
           "unread": "这条消息里没有读到能更新以上结论的信息。结论依据的是：{values}。如有变化，请直接说明哪一项；"
                     "要咨询新的事项，请说“重新开始”。"},
    "en": {"corrected": "Noted: {label} is now {value}.", "invalid": "That answer does not work: {why}.",
           "number": "a number is needed", "range_low": "it cannot be less than {n}",
           "range_high": "it cannot be more than {n}", "choose": "please choose one of: {options}",
           "yesno": "please answer yes or no", "date": "please give the date as 2024-05-01",
           "pattern": "the format is not right", "confirm": "Do you mean {values}? (yes / no)", "pair": "{label}: {value}", "and": "; ",
           "noted": "(I have noted {values}. If any of it is wrong, just say so.)",
           "conflict": "You said {label} was \"{old}\", and now \"{new}\". Which is right?",
           "changed": "With what you added, the outcome changes:", "unchanged": "With what you added, the outcome stays:",
           "new_slot": "Noted: {label} is {value}.",
           "exact": "You said \"{said}\", which is not enough to decide. What is the exact {label}?",
           "unread": "Nothing in that message changes the outcome above. It rests on: {values}. If something has "
                     "changed, say which; to ask about something new, say \"start over\"."},
}


class Invalid(ValueError):
    pass


def words(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS["en"])


def found_at(t: str, w: str) -> int:
    """Where the word ``w`` occurs in ``t`` (whole words for Latin text), or -1."""
    if _WORDISH.match(w.replace(" ", "").replace("'", "")):
        m = re.search(rf"\b{re.escape(w)}\b", t)
        return m.start() if m else -1
    return t.find(w)


@functools.lru_cache(maxsize=4096)
def _loose(word: str) -> re.Pattern[str] | None:
    """A slot's own word of three or more Chinese characters, with one more character allowed
    inside it: "已经登记" says 已登记, "没去登记" 没登记, "登记过了" 登记了. The inserted
    character is no negator and no punctuation, so it cannot turn the word around."""
    if len(word) < 3 or not all("\u4e00" <= c <= "\u9fff" for c in word):
        return None
    never = "不没未非无别快将要\\s，。！？；、,.!?;"  # nor what is yet to come: "合同快到期了" has not expired
    gap = f"[^{never}]"
    # before the 了 of a thing done, no complement of direction, which makes another verb ("原来晚到
    # 了" holds no 来晚了: 晚到 is arriving late; "登记过了", "打过针了" are still the word)
    done = f"[^{never}到来去]"
    return re.compile("|".join(f"{re.escape(word[:i])}{done if word[i:] == '了' else gap}{re.escape(word[i:])}"
                               for i in range(1, len(word))))


# What may stand between 有 (or its negation) and the thing had, and leave it the thing had: a count
# with its measure word, whose it is, and its size or its being second-hand ("有一套房", "没有自己的
# 房子", "有辆二手车"). A closed class: anything else between may make another thing ("有人才租房补
# 贴", "有个房贷"; 间 counts rooms, and an old 证 is another card than a new one).
_HAVING = re.compile(r"^(没有|没|无|有)([\u4e00-\u9fff]+)$")
_MODIFIERS = r"(?:[一两二三四五六七八九十几\d]*[个套辆处台部])?(?:自己的|自己|自有的|私人的)?(?:二手的|二手|[小大])?"
# the thing ends there: not 房贷, 车位, nor the 的 of 的话 or 的首付
_NOUN_ENDS = r"(?:(?![\u4e00-\u9fff])|(?=[了啊呀呢哦嘛])|(?=的(?![\u4e00-\u9fff])))"
_CLAUSE_START = re.compile(r"[\s，。！？；、,.!?;]")  # where a clause starts after
# besides SOMEONE_ELSE: in-laws, exes, neighbours, uncles and aunts, he, she and 其他人 (whose it may be)
_OTHERS = re.compile(rf"{SOMEONE_ELSE.pattern}|婆婆|公公|岳父|岳母|丈母娘|丈人|女婿|儿媳|前夫|前妻|邻居|同学|领导|室友|舅|叔|姑|姨|[他她]")
# the user and some adverbs before a thing had said alone ("我们家有一套房", "家里就有辆二手车")
_HOLDER = r"\s*(?:我们家|我家|咱家|家里|我们|我)?(?:都|也|还|就|只|目前|现在)*"
_HAS_ELSEWHERE = re.compile(r"(?<![没])有(?![没])")  # a 有 of its own, not that of 没有 or 有没有


@functools.lru_cache(maxsize=4096)
def _having_gap(word: str) -> tuple[re.Pattern[str], bool] | None:
    """A word of having (有房, 没有车) with the thing's count, owner or size between (``_MODIFIERS``),
    and whether it says having (有) rather than not having."""
    m = _HAVING.match(word)
    if m is None:
        return None
    pattern = f"{m.group(1)}{_MODIFIERS}{re.escape(m.group(2))}{_NOUN_ENDS}"
    if m.group(1) == "有":  # only as the whole reply, with its holder: "有一套房", "我们家有辆二手车"
        return re.compile(f"{_HOLDER}{pattern}[了的啊呀呢哦嘛。.!！\\s]*"), True
    return re.compile(pattern), False


def _had(text: str, word: str) -> int:
    """Where the text says a word of having with something between (see :func:`_having_gap`), of
    no one else named before it in its clause ("没有，爸妈有一套房"), or -1. Having is read so only
    as the whole reply: beside other words the thing may be elsewhere, rented, sold or someone
    else's ("有个房，但是是租的", "有一套房，不过不在本市"); not having, anywhere ("在这边没有自己的房子")."""
    found = _having_gap(word)
    if found is None:
        return -1
    pattern, has = found
    if has:
        return 0 if pattern.fullmatch(text) is not None else -1
    if _HAS_ELSEWHERE.search(text):
        return -1  # "我们家没有私人的车，她有辆二手车": what is had beside it may be the answer
    return _the_users_first(pattern, text)


def _the_users_first(pattern: re.Pattern[str], text: str) -> int:
    """Where the pattern first matches with no one else named before it in its clause, or -1."""
    for m in pattern.finditer(text):
        start = max((b.end() for b in _CLAUSE_START.finditer(text, 0, m.start())), default=0)
        if _OTHERS.search(text, start, m.start()) is None:
            return m.start()
    return -1


@functools.lru_cache(maxsize=4096)
def _split_word(word: str) -> re.Pattern[str] | None:
    """A done word of a verb and its object (备案了, 打针了) said split by 了 or 过: 备了案, 打过针; the
    object ends there ("办了好几次" is no 办好了, "买了多件" no 买多了), and 准备 is another word."""
    if len(word) != 3 or not word.endswith("了") or not all("\u4e00" <= c <= "\u9fff" for c in word):
        return None
    return re.compile(f"(?<![准预设]){re.escape(word[0])}[了过]{re.escape(word[1])}"
                      "(?:(?![\u4e00-\u9fff])|(?=[了的啊呀呢哦嘛吧]))")


def _split(text: str, word: str) -> int:
    """Where the text says a done word split (see :func:`_split_word`) of no one else named before it
    in its clause ("邻居报了名，我还没" says nothing of the user), or -1."""
    pattern = _split_word(word)
    return -1 if pattern is None else _the_users_first(pattern, text)


@functools.lru_cache(maxsize=1024)
def _short_no(rest: str) -> re.Pattern[str]:
    """没 and the rest of a 没有-word, ending where the word ends (a particle may follow)."""
    return re.compile(f"没{re.escape(rest)}(?:(?![\u4e00-\u9fff])|(?=[了的啊呀吧呢哦嘛过]))")


def says(text: str, word: str) -> bool:
    """Whether the text says the word: as it is, with 没 for its opening 没有 where the word ends
    there (没违章 is 没有违章, as 没房 is 没有房; 没房贷 is no 没有房), with one character inside
    (see :func:`_loose`), a word of having with the thing's count, owner or size (:func:`_had`), or a
    done word split by 了 or 过 (:func:`_split`)."""
    return (word.startswith("没有") and len(word) > 2 and _short_no(word[2:]).search(text) is not None) or \
        said_at(text, word) >= 0


def _cannot(t: str, word: str) -> bool:
    """Whether the word is said with 不 right after it, as a potential complement turns it
    around: "审批通过不了" is no 审批通过, "登记办不下来" no 登记办."""
    at = t.find(word)
    return at >= 0 and t[at + len(word): at + len(word) + 1] == "不"


# (a negator with the one a thing is done for between, "没给我们交", "不帮他办"; not after 不是,
# which asks back, "公司不是给我们交了社保嘛", nor in 要不, "if not": "要不给我们交就麻烦了")
_NEGATED_BEFORE = re.compile(r"(?:[不没未无非]|没有|不是|(?<!要)(?:[不没未]|没有)[给帮替为](?:[我你他她]们?|咱们|大家))$")
# English: the author's English yes word after a negation is a no only in a reply that is that and
# nothing else: "[No,] [we|I|our family] don't [really] own a car[.]". Anything more may say it
# beside something else ("A motorbike. We don't own a car", "My family does, I don't own a car",
# "my wife doesn't own a car but I do"), and a negated no word is no yes ("we're not renting").
_EN_ADVERBS = "really|currently|even|yet|actually|ever"  # may stand between a negation and its word
_EN_PLAIN_NO = re.compile(r"(?:(?:no|nope|nah|not really)\s*[,.!]\s*)?(?:(?:i|we|our family|my family|the family|our "
                          r"household)\s+)?(?:(?:do|does|did|have|has|am|are|is)\s+not|(?:do|does|did|have|has|are|is)"
                          rf"n['’]t|['’]m not|['’]re not|never)\s+(?:(?:{_EN_ADVERBS})\s+)?")
_TO_THE_END = re.compile(r"[\s.!。！]*")


# a word of "any" may stand between: 没啥质量问题, 没有什么问题; before a word that is itself
# negated ("没什么不合适的", "没什么不能提供的") it says neither yes nor no plainly
_NEGATED_ANY = re.compile(r"(?:[不没]|没有)(?:什么|啥|多大|太大|任何)$")


def said_at(t: str, word: str) -> int:
    """Where the text says the word: as it is, with a character inside (:func:`_loose`), with things
    between (:func:`_had`) or split (:func:`_split`), or -1 (the short 没 of a 没有-word is not looked for)."""
    at = t.find(word)
    if at < 0:
        loose = _loose(word)
        m = loose.search(t) if loose is not None else None
        at = m.start() if m is not None else _had(t, word)
        at = at if at >= 0 else _split(t, word)
    return at


def _negated(t: str, word: str, yes: bool) -> bool:
    """Whether a negator stands right before the word: "没有自有住房" is no 有自有住房, whatever
    the author's list of no words holds (an English yes word, ``yes``, only in a plain no)."""
    at = said_at(t, word)
    if yes and at >= 0 and word.isascii() and _EN_PLAIN_NO.fullmatch(t[:at]) is not None and \
            _TO_THE_END.fullmatch(t, at + len(word)) is not None:
        return True  # "we don't own a car", and nothing else
    return at > 0 and (_NEGATED_BEFORE.search(t[:at]) is not None or _NEGATED_ANY.search(t[:at]) is not None)


# An English negation right before a word ("we don't own a car", "never had a car", "we dont
# currently really own one"), with an adverb or two between
_EN_NOT_BEFORE = re.compile(r"(?:\bnot|n['’]t|\b(?:dont|doesnt|didnt|isnt|arent|wasnt|werent|hasnt|havent|hadnt|cant|"
                            rf"cannot|wont|wouldnt)|\bnever|\bno longer)\s+(?:(?:{_EN_ADVERBS}|still|in fact)\s+){{0,2}}$")


def denied_in_english(text: str, word: str) -> bool:
    """Whether an English word is said, and said only right after a negation, in a reply that is
    more than that plain no ("We have urban hukou, a family of three, and we don't own a car.").
    Such a reply is read neither way by that word: what else it says may say yes ("A motorbike.
    We don't own a car", "my wife doesn't own a car but I do"), and the rules do not read English
    that far. Said once without a negation ("we didn't own a car before, now we own a car"), it
    is not denied."""
    t = text.strip().lower()
    places = [m.start() for m in re.finditer(rf"\b{re.escape(word)}\b", t)] if word.isascii() else []
    return bool(places) and all(_EN_NOT_BEFORE.search(t[:at]) is not None for at in places) and \
        not _negated(t, word, True)


def _negated_twice(t: str, word: str) -> bool:
    """"没什么不合适的": a no of "any" before a word that is itself negated."""
    at = t.find(word)
    return at > 0 and word[:1] in "不没未无非" and _NEGATED_ANY.search(t[:at]) is not None


def yes_no(text: str, yes: list[str] | None = None, no: list[str] | None = None, modal_yes: bool = True) -> bool | None:
    """Yes or no in a reply, or None when it is neither or unsure. The slot's own words count
    first, turned around by a potential complement's 不 after them or a negator before them;
    then the longest yes/no word found wins ("没错" is yes though "没" is no), a word at the very
    start winning ties ("是的，没有逾期" is yes). ``modal_yes``: 能 and 可以 after a time still to come
    or a report count as yes (the question asks what one can do, not what is done)."""
    t = text.strip().lower()
    own = [(len(w), value != (_cannot(t, w.lower()) != _negated(t, w.lower(), value)))
           for ws, value in ((no or [], False), (yes or [], True)) for w in ws
           if says(t, w.lower()) and not _negated_twice(t, w.lower())]  # 没什么不合适的: neither
    if own:  # the longest wins: "没有逾期" (yes) over "逾期" (no)
        return max(own, key=lambda x: x[0])[1]
    if any(found_at(t, w) >= 0 for w in UNSURE):
        return None
    if _ACK_PUNCT.sub(" ", t).strip(" 的啊呀吧呢哈") in BARE_YES:
        return None if HESITATES.search(t) else True
    hits = [(at == 0, len(w), value) for ws, value in ((NO, False), (YES, True)) for w in ws
            if (at := found_at(t, w)) >= 0 and (modal_yes or not (w in _MODALS and _after_to_come(t, at)))]
    if not hits:
        return None
    starts = [h for h in hits if h[0]]
    return max(starts or hits, key=lambda h: h[1])[2]


def _after_to_come(t: str, at: int) -> bool:
    """Whether a time or plan still to come, or a report, stands before ``at`` in its clause."""
    start = max((m.end() for m in _CLAUSE_START.finditer(t, 0, at)), default=0)
    return any(start <= m.start() < at for m in _MODAL_HEAD.finditer(t))


_MODALS = ("能", "可以")  # a yes alone; after what is still to come or is reported, a modal ("下个月才能拿到")
_MODAL_HEAD = re.compile(rf"{STILL_TO_COME.pattern}|说")
START_OVER = ("重新开始", "从头开始", "重来", "重新来", "重新咨询", "重新问", "换个问题", "另一个问题", "新的问题",
              "start over", "start again", "new question")
_NOT_NOW = re.compile(r"(?:不用|不要|别|不是|不想|不需要|不必|没必要|先不|没说要|"
                      r"(?:don't|do not|doesn't)(?: need to| have to| want to)?|no need to)\s*$")
# a start-over word followed by a verb is something done again ("从头开始交" is paying again)
_DONE_AGAIN = re.compile(r"[交缴算计办申领存扣付还]")


def starts_over(text: str) -> bool:
    """Whether a message asks to leave the case decided and start a new one ("重新开始"; not
    "不用重新开始", nor "要从头开始交吗")."""
    t = text.lower().strip()
    return any(not _NOT_NOW.search(t[:s]) and not _DONE_AGAIN.match(t, e)
               for w in START_OVER for s, e in occurrences(w, t))


def acknowledges(text: str) -> bool:
    """Whether a message only takes what was said as given: a yes or a thanks ("对", "好的谢谢",
    "ok thanks"), made of such words and nothing else."""
    said = rest = " " + _ACK_PUNCT.sub(" ", text.lower()).strip() + " "
    for w in sorted({*ACK, *YES}, key=lambda w: (-len(w), w)):
        rest = rest.replace(f" {w} ", " ") if w.isascii() else rest.replace(w, " ")
    return rest != said and not rest.strip(" 的了啊呀吧呢哈啦")


def option_spans(slot: Slot, text: str, choices: dict[str, list[str]] | None = None) -> list[tuple[str, int, int]]:
    """(canonical option, start, end) of every option word in the text (``choices``: the words
    to look for, by default the slot's own), longest words first and without overlaps; Latin
    words match whole words only ("local" is not in "locally"). Then, where no word stands, a
    word of three Chinese characters or more said with one more inside, as :func:`says` reads
    a yes/no word ("自己辞的职" says 自己辞职; never a negator inside: "本人没辞职")."""
    t = text.lower()
    out: list[tuple[str, int, int]] = []
    taken = [False] * len(t)
    for w, exact, pattern, canon in _matchers(choices or slot.choices()):
        if not (w in t if exact else w[0] in t and w[-1] in t):
            continue  # a substring test first: most words are not in most messages
        for m in pattern.finditer(t):
            span = range(m.start(), m.end())
            if not any(taken[i] for i in span):
                for i in span:
                    taken[i] = True
                out.append((canon, m.start(), m.end()))
    return sorted(out, key=lambda x: x[1])


_MATCHERS: dict[int, tuple[dict[str, list[str]], list[tuple[str, bool, re.Pattern[str], str]]]] = {}


def _matchers(choices: dict[str, list[str]]) -> list[tuple[str, bool, re.Pattern[str], str]]:
    """(word, exact, its pattern, option) for each word, longest first, then the loose ones;
    compiled once per words dict (a slot's derived words are one, kept)."""
    kept = _MATCHERS.get(id(choices))
    if kept is not None and kept[0] is choices:
        return kept[1]
    ws = sorted(((w.lower(), canon) for canon, group in choices.items() for w in group if w), key=lambda x: -len(x[0]))
    out = [(w, True, re.compile(rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])" if w.isascii() else re.escape(w)), canon)
           for w, canon in ws]
    out += [(w, False, loose, canon) for w, canon in ws if (loose := _loose(w)) is not None]
    if len(_MATCHERS) >= 512:
        _MATCHERS.clear()
    _MATCHERS[id(choices)] = (choices, out)
    return out


def options_in(slot: Slot, text: str) -> list[str]:
    """The canonical options whose words occur in the text, in order of first mention."""
    out: list[str] = []
    for canon, _, _ in option_spans(slot, text):
        if canon not in out:
            out.append(canon)
    return out


def number_in(slot: Slot, text: str) -> float | None:
    """The first number in a reply, in the slot's unit (一年半 is 18 for a slot counting months)."""
    unit, said_in = slot.counts_in(), slot.unit_words()
    for q in quantities(text, said_in):
        value = convert(q, unit, said_in)
        if value is not None:
            return value
    return None


def validate(slot: Slot, value: Any, lang: str) -> Any:
    """The value in its slot's type, or :class:`Invalid` with what is wrong, in the form's language."""
    w = words(lang)
    if slot.type in ("integer", "number"):
        if isinstance(value, str):
            n = number_in(slot, value)
            if n is None:
                raise Invalid(w["number"])
            value = n
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or abs(value) > 1e15:
            raise Invalid(w["number"])
        value = round(value) if slot.type == "integer" else float(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 150, not 150.0, in an answer that shows it
        if slot.min is not None and value < slot.min:
            raise Invalid(w["range_low"].format(n=fmt(slot.min)))
        if slot.max is not None and value > slot.max:
            raise Invalid(w["range_high"].format(n=fmt(slot.max)))
        return value
    if slot.type == "boolean":
        if isinstance(value, str):
            yn = yes_no(value, slot.yes_words, slot.no_words)
            if yn is None:
                raise Invalid(w["yesno"])
            value = yn
        if not isinstance(value, bool):
            raise Invalid(w["yesno"])
        return value
    if slot.type == "enum":
        if not isinstance(value, (str, int, float)):
            raise Invalid(w["choose"].format(options=" / ".join(slot.choices())))
        hits = [str(value)] if str(value) in slot.choices() else options_in(slot, str(value))
        if len(hits) != 1:
            raise Invalid(w["choose"].format(options=" / ".join(slot.choices())))
        return hits[0]
    if slot.type == "date":
        m = _DATE.search(str(value))
        try:
            if not m:
                raise ValueError
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            raise Invalid(w["date"]) from None
    text = str(value).strip()
    if slot.pattern is not None and not re.fullmatch(slot.pattern, text):
        raise Invalid(w["pattern"])
    if not text:
        raise Invalid(w["pattern"])
    return text


def fmt(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)


_COUNTED = ("月", "星期", "礼拜", "小时")  # units counted with 个: 3个月, not 3月 (March)


def show(value: Any, lang: str, unit: str | None = None) -> str:
    """A value as the user reads it (8 months in years is 0.67, not 0.6666666666666666), a
    number in Chinese with the ``unit`` it counts in ("13个月", "20天")."""
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if unit and lang == "zh" and isinstance(value, (int, float)):
        return show(value, lang) + ("个" if unit in _COUNTED else "") + unit
    if not isinstance(value, float):
        return str(value)
    if round(value, 2) == value:
        return fmt(value)
    # rounded, and said to be: 52 weeks in years is "about 0.997", never "1", which would read
    # as a whole year where the decision sees less than one
    return ("约" if lang == "zh" else "about ") + fmt(round(value, 3) if round(value, 2).is_integer() else round(value, 2))


def pattern_in(pattern: str, text: str) -> str | None:
    """The first match of a slot's pattern inside a message, not cut out of a longer run of
    letters or digits (a 6-digit code is not the middle of a phone number)."""
    core = pattern[1:] if pattern.startswith("^") else pattern
    if core.endswith("$") and not core.endswith("\\$"):
        core = core[:-1]
    try:
        m = re.search(rf"(?<![0-9A-Za-z])(?:{core})(?![0-9A-Za-z])", text)
    except re.error:
        return None
    return m.group(0) if m else None
