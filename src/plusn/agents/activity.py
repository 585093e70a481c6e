"""How long something was done ("在这个公司干了三年", "开了二十年车"): the length of an activity,
not the time since an event that a slot may ask for (the days since an injury, a dog's age, how
long a business has run). Such a duration is no answer said in passing, and it still stands
against another number said beside it: "干了三年，七天前摔的" leaves the days to be asked."""

from __future__ import annotations

import re

from .quantities import DURATIONS, convert_quantity
from .quantity import Quantity
from .spec import Slot
from .utterance import clause_of

# a verb of working right before a duration ("在这个公司干了三年了", "在外面打工十几年"): how long
# someone has worked (the closed class, not a form's words)
_WORKED = re.compile(r"(干活|干|工作|上班|打工|务工|做工|任职|在职)了?(?:快|近|将近|差不多|有)?\s*$")
_OF_WORK = ("工作", "上班", "干活", "打工", "务工", "工龄", "司龄", "入职", "任职", "在职", "就业", "工作年限")
# what may follow a duration that is no object of a verb before it: a particle, an adverb, a
# word of time, a number ("三年了", "两年前", "十来天吧", "一年半以后", "一个月两千")
_NO_OBJECT = re.compile(r"[^\u4e00-\u9fff]|$|[了的吧呢啊呀哦嘛啦前后以之多左来才就也都还又没不是可要内里整半零时期间到至那这"
                        r"一二两三四五六七八九十百千万几]")
# an object that ends its clause, a word or two ("开了二十年车", "打磨了十几年石头"; not "伤了二十天腿还不能动")
_OBJECT = re.compile(r"(?:(?![还都也就才又很没不])[\u4e00-\u9fff]){1,3}[了的啦呢吧啊呀哦。！!\s]*")


def how_long_done(slot: Slot, cues: list[str], low: str, said: Quantity, spans: list[tuple[int, int]]) -> bool:
    """Whether a duration is how long something was done: worked, where the slot counts the
    days of something else ("在电镀厂干了五年" to the days since an injury; a slot in months or
    years may measure the work itself, as residence or contributions do, and "干了两年" to a slot
    whose words hold 干 is its answer), or done to an object that ends the clause ("打磨了十几年
    石头"), where the clause holds none of the slot's words, ``cues`` ("交了三年社保")."""
    if said.unit not in DURATIONS:
        return False
    cs, ce = clause_of(spans, said.start)
    own = slot.own_words().lower()
    verb = _WORKED.search(low, cs, said.start)
    worked = verb is not None and slot.counts_in() == "天" and not any(w in own for w in (*_OF_WORK, verb.group(1)))
    done = low[cs:said.start].endswith("了") and _NO_OBJECT.match(low, said.end) is None and \
        _OBJECT.fullmatch(low, said.end, ce) is not None and not any(c in low[cs:ce] for c in cues)
    return worked or done


def durations_done(slot: Slot, cues: list[str], low: str, found: list[Quantity],
                   spans: list[tuple[int, int]]) -> list[tuple[float, float]]:
    """The durations of things done among ``found``, in the slot's unit: each rivals a guess
    from another number of the message."""
    done = [convert_quantity(q, slot.counts_in(), slot.unit_words()) for q in found if how_long_done(slot, cues, low, q, spans)]
    return [(q.value, q.value) for q in done if q is not None]


# time still to come: 再 or 还得/还要/还需/还差 and a verb of going on, a closed class ("还得再干两年",
# "再交三年就满了", "还差两年"; not 再请两天, the leave asked for, nor 再就业八年), right before the
# number, or before another number earlier in its clause: what that leads to is no answer either
# ("还差两年就交满十五年了" is not fifteen years)
_STILL_TO_GO = r"(?:还差|还得再?|还要再?|还需要?再?|再)(?:干|交|缴|住|等|熬|待|呆|上|做|存|工作|上班|缴费|交费)?\s*"
_TO_COME = re.compile(_STILL_TO_GO + r"$")
_AFTER_TO_COME = re.compile(_STILL_TO_GO + r"[\d一二两三四五六七八九十几半]")
_LEFT = re.compile(r"还|再|剩|差")  # a question of how long is left ("还要多久？")


def to_come(slot: Slot, low: str, said: Quantity, spans: list[tuple[int, int]]) -> bool:
    """Whether a quantity is time still to come, or what it leads to, where the slot asks for no
    time left: no count of what was done or has passed ("单位说还得再干两年" is no two years paid,
    "还差两个月三岁" no age of three)."""
    if _LEFT.search(slot.ask):
        return False
    cs, _ = clause_of(spans, said.start)
    return _AFTER_TO_COME.search(low, cs, said.start) is not None or \
        (said.unit in DURATIONS and _TO_COME.search(low, cs, said.start) is not None)


# a verb of what a slot may count the time of, a closed class: paying in, living, working, studying
_DOING = ("交", "缴", "住", "干", "待", "呆", "做", "存", "上班", "工作", "参保", "上学", "读")


def not_done(slot: Slot, low: str, said: Quantity, spans: list[tuple[int, int]]) -> bool:
    """Whether a duration is how long the slot's doing was not done, where the slot asks how long
    it was: a negator right before the verb ("两个月没交了", "单位忘了交", "漏交了三个月"), a stop
    joined to it ("断缴三个月") or right before the duration ("断了三个月", "欠了半年"). Not a stop
    denied ("三年没断过"), after the duration ("交了三年就停了"), or of another verb ("住了两年没
    回过老家"); nor where the question asks of the not doing ("欠了几个月？")."""
    own = slot.own_words().lower()
    if said.unit not in DURATIONS or re.search(r"[没未忘漏少]|断|停|欠", own):
        return False
    cs, ce = clause_of(spans, said.start)
    clause = low[cs:ce]
    for verb in (v for v in _DOING if v in own and v in clause):
        # (not a bound: "还没交满一年" is less than a year paid)
        if re.search(rf"(?:没有|没|未|忘了|忘记|忘|漏|少)[给再去按时]{{0,2}}{verb}(?![满够到足])|(?<![没未不有])(?:断|停|欠){verb}",
                     clause):
            return True
    return _STOP_BEFORE.search(low, cs, said.start) is not None


_STOP_BEFORE = re.compile(r"(?<![没未不有断])(?:断|停|欠)了?\s*$")  # 断了三个月, 欠了半年; not 没断


def worked_for(text: str, start: int, at: int) -> bool:
    """Whether the number at ``at`` follows a verb of working ("…干了十一年"), from ``start``."""
    return _WORKED.search(text, start, at) is not None
