"""Answers outside the option lists, matched by meaning with the gateway's embedding model.

"买了套房子" is no option word of 购房, and "to pay rent" is not Chinese; both mean an option.
An utterance is embedded whole and compared with every option's words (its value and its
synonyms), embedded once per form. Only when the whole is undecided (no option clears the
bounds below) and it has several clauses are the clauses embedded too, so that "我在本市上班，
想提公积金去付房租" has "想提公积金去付房租" on its own. Most messages that reach this pass
are short, so a turn usually pays for one embedding of one text, and a text seen before (a
retry, the same reply in another conversation) for none: vectors are cached per text.

Raw cosine similarities of a small embedding model crowd together (0.8–0.9 for almost any two
short Chinese texts), so they are **centred**: the mean embedding of the form's own texts
(options, questions, labels) is subtracted first, which leaves what tells them apart.

Across languages a small multilingual model places a text and its translation apart along a
direction that is much the same whatever the text says (the language's own mean). That
direction is measured once per model on everyday sentence pairs on no form's topic
(:data:`PARALLEL`) and taken out of every text in proportion to its English, so an English reply
is compared with Chinese option words for what it says, not for being English; and the option
words are embedded as passages, the replies as queries. No word of any form is translated. It
helps (the right option scores higher), but a small model still misses many English replies
("I was laid off" stays below the bound), and then the form asks again.

The match is **calibrated** per slot against the form itself, with an explicit "not this slot":
the form's other texts (the other slots' words, every question and label) are scored against
the slot's options the same way, and they are what an utterance that is *not* about the slot
looks like. An utterance is read as an option only when it beats most of them, by a margin over
the runner-up that they rarely reach. Even then it is a guess, confirmed before a decision
rests on it: a small model is sometimes clearly wrong.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .answers import BARE_YES, NO, UNSURE, YES
from .glosses import glosses
from .predicates import HINT
from .quantities import quantities
from .recognize import negated_options
from .spec import FormSpec
from .utterance import TAKE_BACK, Reading, clause_spans

Embed = Callable[[list[str]], Awaitable[list[list[float]]]]
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_LATIN_SPLIT = re.compile(r"\b(?:to|for|because|so|since|as|and|but)\b", re.I)
_ENGLISH = 0.5  # a text at least this English (see english_share) is read as English
_GUESS_QUANTILE = 0.9  # a guess beats this share of the texts that are not about the slot
_CACHE = 2048  # texts whose embeddings are kept (a few hundred kilobytes)
# What a message that answers nothing looks like, in any form: it calibrates "not this slot".
SMALL_TALK = ("你好", "谢谢", "好的", "嗯", "请问", "我想问一下", "这个怎么办", "我不太清楚", "还有别的吗", "什么意思",
              "能帮我看看吗", "麻烦了", "hello", "thanks", "ok", "what do you mean", "can you help me", "I have a question")
# More of it in English, for the English words' own space (see .glosses), where it is all there is
ENGLISH_SMALL_TALK = ("good morning", "sorry, one moment", "is this the right place to ask", "what should I do now",
                      "I need some help with this", "please wait a second", "could you explain that again",
                      "I am not sure what you mean", "that is all, thank you", "let me check")


# Everyday sentences said in Chinese and in English, on no form's topic. A multilingual model
# puts the two languages apart along one direction, much the same for any content; the mean
# difference of these pairs is that direction, taken out of every text in proportion to its
# English, so that an English reply lands nearer its Chinese option than near any English text.
PARALLEL = (
    ("你好", "hello"), ("谢谢你的帮助", "thank you for your help"), ("我想问一个问题", "I want to ask a question"),
    ("今天天气很好", "the weather is nice today"), ("明天可能会下雨", "it might rain tomorrow"),
    ("请再说一遍", "please say that again"), ("我没听懂", "I did not understand"), ("我现在有点忙", "I am a bit busy now"),
    ("孩子明年上小学", "my child starts primary school next year"), ("我的手机丢了", "I lost my phone"),
    ("医院的号挂不上", "I cannot get a hospital appointment"), ("网上可以办吗", "can I do it online"),
    ("大概要等多久", "how long do I have to wait"), ("我忘了带身份证", "I forgot to bring my ID card"),
    ("周末开门吗", "are you open on weekends"), ("我已经等了半个小时", "I have been waiting for half an hour"),
    ("这个表格怎么填", "how do I fill in this form"), ("我的邮件没有收到", "I did not receive the email"),
    ("他昨天去北京了", "he went to Beijing yesterday"), ("我们下周见", "see you next week"),
    ("这家餐馆的菜很好吃", "the food in this restaurant is good"), ("我每天早上跑步", "I go running every morning"),
    ("火车晚点了", "the train is late"), ("我需要打印这份文件", "I need to print this document"),
    ("密码忘记了", "I forgot the password"), ("价格太贵了", "the price is too high"),
    ("我不同意这个说法", "I do not agree with that"), ("她病了，今天没来", "she is ill and did not come today"),
    ("我正在学开车", "I am learning to drive"), ("电脑突然坏了", "the computer suddenly broke down"),
)
_BLANK = re.compile(r"[\s，。！？；、,.!?;~～…]+")
# the words that take an answer back ("不对，说错了，是十五个月"): they say which answer is wrong,
# not what an option is, and land near a "none of these" option's words (都不是)
_TAKING_BACK = re.compile("|".join(re.escape(w) for w in TAKE_BACK), re.I)
_YES_NO = {w.replace(" ", "") for w in (*YES, *NO, *UNSURE, *BARE_YES)}
_CJK = re.compile(r"[\u3400-\u9fff]")
# what may stand beside a quantity and say no more: particles, bounds, the money said in
_AROUND = re.compile(r"一共|总共|大概|大约|差不多|左右|上下|出头|[吧啊呀呢的了哦嘛嗯约块钱元买花]|"
                     r"\b(?:about|around|roughly|approximately|in total|total|yuan|rmb)\b", re.I)
_LATIN_WORD = re.compile(r"[A-Za-z]+")
# a clause that denies ("车不是营运的", "not a company job") is nearest what it denies: no vote for it
# (a copula denied: "不是", "it isn't a…", not any negation: "I'm not travelling anymore" means 退票)
_DENYING = re.compile(r"不是|并非|不属于|\b(?:isn't|aren't|wasn't|weren't)\b|\bnot (?:a|an|the)\b", re.I)
# "我是公司员工", "我在滴滴上跑车": the speaker as subject says nothing of which option is meant, and
# in a short text it weighs as much as the words that do; a clause is also read without it
_SPEAKER = re.compile(r"^(?:我们|咱们|我家|我(?![们家]))(?:是(?!不|否))?(?=[\u4e00-\u9fff])(?!的)")


def english_share(text: str) -> float:
    """How much of a text is English: its Latin words against its Chinese words (about two
    characters each); 0 for Chinese text, 1 for English."""
    en, zh = len(_LATIN_WORD.findall(text)), len(_CJK.findall(text)) / 2
    return en / (en + zh) if en + zh else 0.0


@dataclass
class _Slot:
    options: list[str]  # canonical option of each prototype row
    vectors: Any  # centred prototype embeddings, one row per word
    guess: float = 0.0  # the calibrated bounds (see the module's docstring)
    sure: float = 0.0
    margin: float = 0.0


@dataclass
class _Space:
    """Prototypes and their calibration in one embedding space: the form's own words, or their
    English (see :mod:`.glosses`), where English replies are compared English to English."""

    mean: Any
    topic: Any  # None: nothing taken out
    slots: dict[str, _Slot]
    placed: bool  # texts are placed (the language direction taken out) before they are compared


@dataclass
class _Index:
    spec: FormSpec  # kept so that the id it is cached under stays its own
    own: _Space
    english: _Space
    topic: frozenset[str] = frozenset()  # the characters of its questions and labels, less its options
    said: frozenset[str] = frozenset()  # the words its questions say (2–8 characters), none an option's


def _unit(v: Any) -> Any:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n == 0, 1, n)


def units(text: str) -> list[str]:
    """The utterance and, when it has several, its clauses (Latin text also at connectives,
    so that "withdraw my fund to pay rent" has "pay rent" on its own)."""
    parts = [text[s:e].strip() for s, e in clause_spans(text)]
    if text.isascii():
        parts = [p.strip() for part in parts for p in _LATIN_SPLIT.split(part)]
    parts = [p for p in parts if p and p != text.strip()]
    parts += [_SPEAKER.sub("", p) for p in (parts or [text.strip()]) if _SPEAKER.match(p)]
    return [text.strip(), *dict.fromkeys(p for p in parts if p and p != text.strip())]


def _a_quantity_only(text: str) -> bool:
    """Whether the text says a quantity and next to nothing else ("两千出头吧", "about 260 yuan")."""
    spans = quantities(text)
    if not spans:
        return False
    rest = text
    for q in reversed(spans):
        rest = rest[: q.start] + " " + rest[q.end:]
    rest = _AROUND.sub(" ", rest)
    return len(_CJK.findall(rest)) < 2 and len(_LATIN_WORD.findall(rest)) < 2


class Meaning:
    """Matches utterances to a form's options by embedding; one per agent, indexes cached per form."""

    def __init__(self, embed: Embed, cache: int = _CACHE, passages: Embed | None = None) -> None:
        self.embed = embed
        # The option words are embedded as passages, what a reply is looked up against: a model
        # trained for retrieval matches a query to a passage across languages better than two
        # queries. (A model with one kind of embedding gives the same function twice.)
        self.passages = passages or embed
        self._indexes: dict[int, _Index] = {}
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._size = cache
        self._language: Any = None  # the direction from Chinese to English (see PARALLEL)

    async def vectors(self, texts: list[str], passage: bool = False) -> Any:
        """The texts' unit embeddings, one row each; only those not seen lately are embedded, in
        one call (the model's cost is per text, so one call for several saves only its overhead)."""
        keys = [("p\0" if passage else "") + t for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if missing:
            embed = self.passages if passage else self.embed
            fresh = _unit(np.asarray(await embed([k[2:] if passage else k for k in missing]), dtype=np.float32))
            for k, v in zip(missing, fresh, strict=True):
                self._cache[k] = v
        for k in keys:
            self._cache.move_to_end(k)
        rows = np.stack([self._cache[k] for k in keys])
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return rows

    async def placed(self, texts: list[str], passage: bool = False) -> Any:
        """The texts' unit embeddings with their English moved onto Chinese (see PARALLEL), so
        that a text and its translation are compared for their meaning, not their language."""
        rows = await self.vectors(texts, passage)
        share = np.asarray([english_share(t) for t in texts], dtype=np.float32)[:, None]
        if not share.any() or not PARALLEL:
            return rows  # Chinese only: nothing to move, and the pairs need not be embedded
        if self._language is None:  # once per model, at the first English text (60 short embeddings)
            both = await self.vectors([t for pair in PARALLEL for t in pair])
            self._language = both[1::2].mean(axis=0) - both[0::2].mean(axis=0)
        return _unit(rows - share * self._language)

    async def _index(self, spec: FormSpec) -> _Index:
        found = self._indexes.get(id(spec))
        if found is not None and found.spec is spec:
            return found
        enums = {n: s for n, s in spec.slots.items() if s.type == "enum"}
        rows = [(n, canon, w) for n, s in enums.items() for canon, ws in s.choices().items() for w in dict.fromkeys(ws)]
        # The questions and labels fix the centre; they are no "not this slot" examples, since
        # a question on a branch is about its option ("正常还款" is about 偿还房贷).
        asks = [_TEMPLATE.sub("", s.ask) for s in spec.slots.values()] + [s.label for s in spec.slots.values() if s.label]
        others = [w for s in spec.slots.values() for w in (*s.yes_words, *s.no_words)] + list(SMALL_TALK)
        # read without the speaker too, as replies are (see units): "不太清楚" is small talk as well
        others += [_SPEAKER.sub("", t) for t in others if _SPEAKER.match(t) and _SPEAKER.sub("", t)]
        own = await self._space(enums, rows, others, asks, placed=True)
        # English replies: the options' English words, the author's and the dictionary's
        # the dictionary is a file read (a quarter second, once per form): not on the event loop
        english = await asyncio.to_thread(glosses, [w for _, _, w in rows])
        en_rows = list(dict.fromkeys([*(r for r in rows if english_share(r[2]) >= _ENGLISH),
                                      *((n, canon, g) for n, canon, w in rows for g in english.get(w, []))]))
        # English said of several options of a slot ("business trip" of 国内出差 and 国际出差)
        # tells none of them apart
        owners: dict[tuple[str, str], set[str]] = {}
        for n, canon, w in en_rows:
            owners.setdefault((n, w), set()).add(canon)
        en_rows = [r for r in en_rows if len(owners[(r[0], r[2])]) == 1]
        # not about an option, in English: small talk, and the English of the other slots' labels
        # and words (a reply to another question: "38 weeks", "I've paid for two years")
        named = [w for n, s in spec.slots.items() if n not in enums for w in (s.label or "", *s.aliases, *s.yes_words)]
        en_others = [t for t in others if english_share(t) >= _ENGLISH] + list(ENGLISH_SMALL_TALK) + \
            list(dict.fromkeys(g for gs in (await asyncio.to_thread(glosses, named)).values() for g in gs))
        en = await self._space(enums, en_rows, en_others, [], placed=False)
        # what the questions say, less the answers they list ("（职工 / 灵活就业 / 失业人员）")
        options = {c for _, _, w in rows for c in w}  # 离职 is an answer even where a question says it
        topic = frozenset("".join(HINT.sub("", a) for a in asks)) - options
        index = self._indexes[id(spec)] = _Index(spec, own, en, topic, _said(asks, [w for _, _, w in rows]))
        return index

    async def _space(self, enums: dict[str, Any], rows: list[tuple[str, str, str]], others: list[str],
                     asks: list[str], placed: bool) -> _Space:
        """The prototypes of ``rows`` (slot, option, word), centred on them and the questions, the
        form's topic taken out, and each slot calibrated against what is not about it: the other
        slots' words and ``others`` (small talk, yes/no words)."""
        if not rows:
            return _Space(None, None, {}, placed)  # no words in this space (a form with no English)
        embed = self.placed if placed else self.vectors
        vectors = np.concatenate([await embed([w for _, _, w in rows], passage=True), await embed(others + asks)])
        mean = np.concatenate([vectors[: len(rows)], vectors[len(rows) + len(others):]]).mean(axis=0)
        centred = _unit(vectors - mean)
        # The form's topic (what its questions share: 公积金, 提取) is in almost every message and
        # tells no option from another: its direction is taken out.
        topic = _unit(centred[len(rows) + len(others):].mean(axis=0)) if asks else None
        if topic is not None:
            centred = _unit(centred - np.outer(centred @ topic, topic))
        protos, background = centred[: len(rows)], centred[len(rows): len(rows) + len(others)]
        slots = {}
        for name in enums:
            mine = [i for i, r in enumerate(rows) if r[0] == name]
            if len({rows[i][1] for i in mine}) < 2:
                continue  # fewer than two options have words here: nothing to tell apart
            slot = _Slot([rows[i][1] for i in mine], protos[mine])
            # not this slot: the other slots' words, and small talk
            null = [protos[i] for i, r in enumerate(rows) if r[0] != name] + list(background)
            slot.guess, slot.sure, slot.margin = self._bounds(slot, null)
            slots[name] = slot
        return _Space(mean, topic, slots, placed)

    async def _utterance(self, space: _Space, texts: list[str]) -> Any:
        """The texts, embedded, centred and without the topic, like the space's prototypes."""
        v = _unit((await self.placed(texts) if space.placed else await self.vectors(texts)) - space.mean)
        return v if space.topic is None else _unit(v - np.outer(v @ space.topic, space.topic))

    @staticmethod
    def _space_of(index: _Index, name: str, text: str) -> _Space:
        """English replies go to the English space where the slot has one; everything else to the form's own."""
        if english_share(text) >= _ENGLISH and name in index.english.slots:
            return index.english
        return index.own

    async def _ranked(self, space: _Space, name: str, text: str, denied: frozenset[str] = frozenset(),
                      topic: frozenset[str] = frozenset(), said: frozenset[str] = frozenset()) -> list[tuple[str, float]]:
        """The options of ``name`` by their best score against the whole text, then, when the
        whole decides nothing and the text has several clauses, against each clause; a clause
        nearest an option the text denies ("车不是营运的") is no vote for it, nor one that says
        nothing but the form's own questions do (``topic``: "想退", "能退吗" to a returns form); a
        short request in the questions' own words (``said``) matches nothing at all."""
        slot = space.slots[name]
        parts = units(text)
        if _the_request_only(parts[0], said, topic):
            return [(o, -1.0) for o in dict.fromkeys(slot.options)]  # "想办个停车月卡": the request itself
        whole = self._scores(slot, await self._utterance(space, parts[:1]))
        if not _DENYING.search(parts[0]) and (len(parts) == 1 or _clears(slot, whole)):
            return whole
        none = [(o, -1.0) for o in dict.fromkeys(slot.options)]  # undecided: no option clears
        kept = [p for p in parts[1:] if not _DENYING.search(p) and _says_more(p, topic)]
        if not kept:
            return none  # a denial and nothing else ("车不是营运的"): nearest to what it denies
        vectors = await self._utterance(space, kept)
        # each clause on its own: "社保是自己交的" clears beside "没有单位", which is near
        # another option; clauses that clear for different options leave it undecided
        each = [self._scores(slot, vectors[i:i + 1]) for i in range(len(kept))]
        clear = [r for r in each if _clears(slot, r) and r[0][0] not in denied]
        if clear and len({r[0][0] for r in clear}) == 1:
            return max(clear, key=lambda r: r[0][1] - r[1][1] if len(r) > 1 else r[0][1])
        return none if clear else self._scores(slot, vectors)

    @classmethod
    def _bounds(cls, slot: _Slot, null: list[Any]) -> tuple[float, float, float]:
        """(guess, sure, margin): what the texts that are not about the slot reach against its
        options: the best score most of them stay under, the highest, and the margin over the
        runner-up most of them stay under."""
        scores = [cls._scores(slot, np.asarray([v])) for v in null]
        bests = np.array([s[0][1] for s in scores]) if scores else np.array([0.0])
        gaps = np.array([s[0][1] - s[1][1] if len(s) > 1 else s[0][1] for s in scores]) if scores else bests
        return float(np.quantile(bests, _GUESS_QUANTILE)), float(bests.max()), float(np.quantile(gaps, _GUESS_QUANTILE))

    @staticmethod
    def _scores(slot: _Slot, vectors: Any) -> list[tuple[str, float]]:
        """Each option's best similarity to any of the utterance's units, best first."""
        sims = vectors @ slot.vectors.T  # units × prototypes
        best: dict[str, float] = {}
        for j, canon in enumerate(slot.options):
            best[canon] = max(best.get(canon, -1.0), float(sims[:, j].max()))
        return sorted(best.items(), key=lambda x: -x[1])

    async def read(self, spec: FormSpec, name: str, text: str) -> Reading | None:
        """The option of slot ``name`` the text means, as a guess or sure; None: not this slot."""
        text = _TAKING_BACK.sub(" ", text)
        bare = _BLANK.sub("", text)
        if spec.slots[name].type != "enum" or not bare:
            return None
        if bare.lower().rstrip("的了啊呀吧呢") in _YES_NO:
            return None  # a bare yes or no ("没有") is no option, however near one it lands
        if _a_quantity_only(text):
            return None  # "两千出头吧", "5天": a number, which no option's words are, wherever it lands
        index = await self._index(spec)
        denied = frozenset(negated_options(spec.slots[name], text))
        top = await self._top(index, name, text, denied)
        if top is None or top in denied:
            return None  # "不是国际出差，就是去郑州": the words nearest an option can be the ones denied
        # Always a guess: a small model's best match can be wrong with a clear margin ("卡丢了"
        # nearer 退卡 than 挂失), and a wrong decision is worse than one more question.
        return Reading(top, sure=False, source="meaning")

    async def _top(self, index: _Index, name: str, text: str, denied: frozenset[str]) -> str | None:
        """The option that clears the bounds. An English reply is read in both spaces: the
        dictionary's English is the stronger signal but a noisy one (个体户 is also "a private
        firm", so "I work for a company" lands on 灵活就业), so one space must clear and the
        other rank the same option first, ahead of the rest."""
        if name not in index.own.slots:
            return None
        ranked = await self._ranked(index.own, name, text, denied, index.topic, index.said)
        if english_share(text) < _ENGLISH or name not in index.english.slots:
            return ranked[0][0] if _clears(index.own.slots[name], ranked) else None
        other = await self._ranked(index.english, name, text, denied)
        agree = ranked[0][0] == other[0][0] and all(len(r) < 2 or r[0][1] > r[1][1] for r in (ranked, other))
        # the dictionary's space clears only above every text that is not about the slot (its
        # English is noisy, and its "not this slot" texts are few: "hello" is among them)
        english = index.english.slots[name]
        clears = _clears(index.own.slots[name], ranked) or _clears(english, other, english.sure)
        return ranked[0][0] if agree and clears else None

    async def explain(self, spec: FormSpec, name: str, text: str) -> dict[str, Any]:
        """The scores and bounds behind a reading (for tuning a form's synonyms)."""
        space = self._space_of(await self._index(spec), name, text)
        slot = space.slots[name]
        ranked = await self._ranked(space, name, text, frozenset(negated_options(spec.slots[name], text)))
        return {"scores": ranked, "guess": slot.guess, "sure": slot.sure, "margin": slot.margin}


_FUNCTION = frozenset("想要我你他她能吗了的是个一可以吧呢啊呀哦请问下这那好么怎样还就都也再又在有没不")
_WISH = re.compile(r"想|要|办|申请|咨询|问")  # a request says what one wants
_APPLYING = frozenset("办申咨询了解查")  # 办, 申请, 咨询, 了解, 查: what one wants done, not what one has
_ONE_OF = re.compile(r"[一两几][张个份辆本项件]")  # "再办一张": one of the thing asked for, no count of it
_SHORT = 12  # Chinese characters: a request, not an account of one's case


def _said(asks: list[str], options: list[str]) -> frozenset[str]:
    """The words of the form's questions, 2 to 8 characters long, that neither hold an option's
    word nor are part of one (so that "停车月卡" is the form's, and neither "外地户籍" of "本市户籍还是
    外地户籍？" nor "护理" of a question beside the option 生活护理费)."""
    words = set()
    for ask in asks:
        ask = HINT.sub("", ask)
        words |= {ask[i:i + n] for n in range(2, 9) for i in range(len(ask) - n + 1)}
    return frozenset(w for w in words if not any(o in w or w in o for o in options if len(o) > 1 or o == w))


def _says_more(part: str, topic: frozenset[str]) -> bool:
    """Whether a clause holds a Chinese character beyond function words and the form's own
    questions (or is not Chinese): "想退" to a returns form says only what the form is about."""
    han = [c for c in part if "\u4e00" <= c <= "\u9fff"]
    return not han or any(c not in topic and c not in _FUNCTION for c in han)


def _the_request_only(text: str, said: frozenset[str], topic: frozenset[str]) -> bool:
    """Whether a short text says nothing but words of the form's questions, function words and a
    wish to apply ("想办个停车月卡", "我想再办一张月卡" to a parking permit's form): the request
    itself, which is no answer to any of its questions, however near an option it lands."""
    han = _ONE_OF.sub("", "".join(c for c in text if "\u4e00" <= c <= "\u9fff"))  # "再办一张"
    if not han or len(han) > _SHORT or not _WISH.search(han):
        return False
    i, rest = 0, []
    while i < len(han):  # the questions' longest words taken out, left to right
        n = next((n for n in range(min(8, len(han) - i), 1, -1) if han[i:i + n] in said), 0)
        if n == 0:
            rest.append(han[i])
        i += max(n, 1)
    return all(c in _FUNCTION or c in _APPLYING or c in topic for c in rest)


def _clears(slot: _Slot, ranked: list[tuple[str, float]], bound: float | None = None) -> bool:
    """Whether the best option beats a "not this slot" bound (the guess's, most of those texts,
    unless another is given: the sure one, all of them), by a margin over the runner-up."""
    best, second = ranked[0][1], (ranked[1][1] if len(ranked) > 1 else 0.0)
    return best >= (slot.guess if bound is None else bound) and best - second >= slot.margin / 2
