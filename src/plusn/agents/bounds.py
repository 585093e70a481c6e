"""Bound words: the closed class of words that make a number a limit rather than the value.

不到一年, 不满 3 个月, 少于30天, less than a year: below it. 超过三年, 一年以上, more than 2
years, at least 6 months: above it. 30天以内, 三个月之内, at most 5: not above it. 大约一年,
一年左右, about 2 years: near it, on either side. (二十多天 and 一年多 are read with the number
itself, in :mod:`.quantities`.) Chinese usage, as in law, counts the number itself in 以上, 以下
and 以内, and not in 超过 or 不满.

A "below" bound starts at nothing: what the forms count (years paid, days since, an income) is
never negative, so 不到一年 is 0 up to 1.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Bound:
    """The interval a number's bound words allow, and the span of the number with those words."""

    start: int
    end: int
    low: float
    high: float
    low_in: bool
    high_in: bool

# Words before the number, longest first where one holds another (不超过 before 超过): kind.
_BEFORE = {
    "below": ["不到", "不满", "不足", "不够", "不及", "未满", "未到", "未够", "未足", "没到", "没满", "没够", "没有到",
              "没有满", "少于", "低于", "小于", "less than", "fewer than", "under", "below", "not yet"],
    "above": ["超过", "多于", "高于", "大于", "超出", "more than", "over", "above", "greater than", "longer than"],
    "least": ["至少", "起码", "最少", "不少于", "不低于", "不小于", "不止", "at least", "no less than",
              "not less than", "no fewer than"],
    "most": ["最多", "至多", "顶多", "不超过", "不多于", "不高于", "不大于", "at most", "no more than",
             "not more than", "up to", "within"],
    # 满两年 is two years completed and the third begun: past two, short of three (a policy's 满 is
    # "at least", but a person says 满 of the count they have reached)
    "reached": ["满", "已满", "刚满"],
    "near": ["大约", "大概", "约莫", "差不多", "将近", "接近", "快要", "快", "about", "around", "approximately", "roughly",
             "nearly", "almost"],
}
# Words after the number (and its unit).
_AFTER = {"least": ["以上", "开外", "or more", "or longer", "or above", "and over", "and up", "plus"],
          "most": ["以内", "之内", "以下", "内", "or less", "or fewer", "or under", "or below"],
          "near": ["左右", "上下", "前后", "or so", "give or take"]}
_SHORT_OF = re.compile(r"(?:还差|差)(?:一点|一些|几天|几个月|[\d一二两三四五六七八九十几]+\s*(?:天|个月|月|周|年))?"
                       r"(?:才|就)(?:到|满)$")  # 还差几天才到6个月; not 差不多满, 出差满
_SOON = ("快要", "快", "马上", "马上就", "就要", "将要", "即将", "下个月", "下周", "明年", "还差", "要")  # 快满: not yet
_NEAR = 0.1  # "about a year" may be a tenth either way: near a threshold it says too little to decide
_CLOSE = {"将近", "接近", "快要", "快", "nearly", "almost"}  # close to the number and below it (快半年)


# A bound word negated turns around: 没超过 is at most, "not fewer than" at least. (不超过 and
# the like are listed as words of their own; these cover the other negators.)
_NEGATED = {"above": "most", "below": "least", "least": "below", "most": "above", "reached": "below"}
_NEGATORS = ("没有", "没", "未", "并非", "不是", "not ", "no ")


def _before(text: str, start: int) -> tuple[str, int] | None:
    head = text[:start].rstrip().lower()
    short = _SHORT_OF.search(head)
    if short is not None:  # "还差几天才到6个月", "差一点满一年": short of it
        return "below", short.start()
    best: tuple[str, str] | None = None
    for kind, ws in _BEFORE.items():
        for w in ws:
            if head.endswith(w) and (not w[0].isascii() or not head[: -len(w)][-1:].isalpha()) and \
                    (best is None or len(w) > len(best[1])):
                best = (kind, w)
    if best is None:
        return None
    kind, word = best
    at = len(head) - len(word)
    if word in ("快", "快要") and head[:at][-1:] in set("很挺最太好那这较真多得"):
        return None  # 很快16天就办完: fast, not nearly
    if kind == "reached":  # 快满一年 is not yet a year; 差不多满一年 about one
        soon = next((w for w in _SOON if head[:at].endswith(w)), None)
        if soon is not None:
            return "near:close", at - len(soon)
        about = next((w for w in _BEFORE["near"] if head[:at].endswith(w)), None)
        if about is not None:
            return "near", at - len(about)
    negator = next((n for n in _NEGATORS if head[:at].endswith(n)), None)
    if negator is not None and kind in _NEGATED:
        kind, at = _NEGATED[kind], at - len(negator)
    return kind + (":close" if word in _CLOSE else ""), at


def _after(text: str, end: int) -> tuple[str, int] | None:
    tail = text[end:]
    for kind, ws in _AFTER.items():
        for w in ws:
            at = len(tail) - len(tail.lstrip()) if w.isascii() else 0  # "2 years or more"
            word = tail[at: at + len(w)].lower()
            if word == w and not (w.isascii() and tail[at + len(w): at + len(w) + 1].isalpha()) and \
                    not (w == "内" and tail[1:2] and tail[1:2] in "部容地"):  # 内部, 内容 say no bound
                return kind, end + at + len(w)
    return None


def bound(text: str, start: int, end: int, value: float, lo: float, hi: float) -> Bound | None:
    """The interval the bound words around the number at ``start:end`` allow, or None when
    there are none. ``lo``–``hi``: the number's own interval (二十多天 is 20 up to 30)."""
    before, after = _before(text, start), _after(text, end)
    if before is None and after is None:
        return None
    kind = (before or after or ("", 0))[0]
    if before is not None and kind == "reached" and after is not None:
        kind = after[0]  # 满一年以上: the words after say more than 满
    if before is not None:
        start = before[1]
    if after is not None and (before is None or after[0] == "near"):  # 大约一年左右 says near once
        end = after[1]
    floor = 0.0 if lo > 0 else -math.inf  # below a positive number is down to nothing
    if kind == "below":
        return Bound(start, end, low=floor, high=lo, low_in=True, high_in=False)
    if kind == "above":
        return Bound(start, end, low=hi, high=math.inf, low_in=False, high_in=False)
    if kind == "least":
        return Bound(start, end, low=lo, high=math.inf, low_in=True, high_in=False)
    if kind == "reached":
        return Bound(start, end, low=lo, high=hi + min(1.0, hi) if hi > 0 else hi + 1, low_in=True, high_in=False)  # 满半年: to a year
    if kind == "most":
        return Bound(start, end, low=floor, high=hi, low_in=True, high_in=True)
    # around the number's own interval (大约二十多天 is 18 up to 33), by a tenth of it, but never
    # by more than the place of its last digit: 两千八左右 is said to the hundred (2,700 to 2,900)
    width = min(abs(value) * _NEAR, _place(value))
    top = hi if kind == "near:close" else hi + width
    return Bound(start, end, low=lo - width, high=top, low_in=True, high_in=kind != "near:close")


def _place(value: float) -> float:
    """The place of the last digit a number is said to: 2800 to the hundred, 28 to the one, 1.5
    to the tenth (a round 1000 to the thousand)."""
    v = abs(value)
    if v == 0:
        return 1.0
    if v == round(v):
        place = 1.0
        while v % (place * 10) == 0:
            place *= 10
        return place
    place = 0.1
    while abs(v / place - round(v / place)) > 1e-6 and place > 1e-6:
        place /= 10
    return place
