"""Slot filling over a decision tree.

Each turn the form reads the user's message for every fact it can recognise, not only the one
it asked about, so a user who says everything at once is asked nothing more, and a user who
changes an answer ("不对，是外地户口") is corrected. Then it walks the policy tree from the
root: the first question whose slot is still unknown is asked; a leaf is the decision, returned
with the path taken. Recognition is by rules (options and their synonyms, patterns, numbers,
yes/no words); a configured extractor model reads the long tail.
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..templating import TemplateProblem, evaluate, render
from .spec import FormSpec, Slot, TreeNode

_NUM = re.compile(r"(?<![\d.])(-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(?![eE][+-]?\d)\s*(万|千|百|k|K|w|W)?")
_SCALE = {"万": 10_000, "w": 10_000, "W": 10_000, "千": 1_000, "k": 1_000, "K": 1_000, "百": 100}
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
# The longest word found decides ("没错" is yes though "没" is no); an unsure answer is neither.
_NO = ("不是", "没有", "不可以", "不能", "不对", "不行", "无", "否", "没", "不", "no", "nope", "not", "false", "n")
_YES = ("是的", "是", "有", "对", "可以", "能", "好的", "没错", "没问题", "不错", "当然", "yes", "yeah", "yep", "true",
        "y", "sure", "of course")
_UNSURE = ("不知道", "不清楚", "不确定", "说不好", "不记得", "not sure", "don't know", "dont know", "unsure", "no idea")
_WORDISH = re.compile(r"^[a-z]+$")

WORDS = {
    "zh": {"corrected": "已更正：{label} → {value}。", "invalid": "这个回答不符合要求：{why}。",
           "number": "需要一个数字", "range_low": "不能小于 {n}", "range_high": "不能大于 {n}",
           "choose": "请从以下选项中选择：{options}", "yesno": "请回答“是”或“否”", "date": "请按 2024-05-01 的格式给出日期",
           "pattern": "格式不正确"},
    "en": {"corrected": "Noted: {label} is now {value}.", "invalid": "That answer does not work: {why}.",
           "number": "a number is needed", "range_low": "it cannot be less than {n}",
           "range_high": "it cannot be more than {n}", "choose": "please choose one of: {options}",
           "yesno": "please answer yes or no", "date": "please give the date as 2024-05-01",
           "pattern": "the format is not right"},
}


class Invalid(ValueError):
    pass


@dataclass
class FormState:
    values: dict[str, Any] = field(default_factory=dict)
    asked: str | None = None  # the slot the last question was about

    def as_dict(self) -> dict[str, Any]:
        return {"values": self.values, "asked": self.asked}

    @classmethod
    def of(cls, d: dict[str, Any] | None) -> FormState:
        d = d or {}
        return cls(dict(d.get("values") or {}), d.get("asked"))


@dataclass
class Turn:
    """What one turn of the form did, and what to say."""

    reply: str | None = None  # the next question (the form waits), else None
    asked: str | None = None
    decision: dict[str, Any] | None = None  # when the tree reached a leaf
    filled: dict[str, Any] = field(default_factory=dict)
    corrected: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)


def _words(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS["en"])


_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
             "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
_CN_NUM = re.compile(r"[零〇一二两三四五六七八九十百千万]+")


def _chinese_number(s: str) -> int | None:
    """三 → 3, 十二 → 12, 两千五百 → 2500, 三万 → 30000, 三万五 → 35000 (the everyday forms)."""
    total, section, digit, last_unit = 0, 0, None, 1
    for ch in s:
        if ch in _CN_DIGIT:
            digit = _CN_DIGIT[ch]
        elif ch in _CN_UNIT:
            section += (1 if digit is None else digit) * _CN_UNIT[ch]
            digit, last_unit = None, _CN_UNIT[ch]
        elif ch == "万":
            total += (section + (digit or 0)) * 10_000
            section, digit, last_unit = 0, None, 10_000
    if digit is not None and last_unit >= 100 and section % last_unit == 0:
        digit *= last_unit // 10  # 两千五 is 2500, 三万五 is 35000: a lone last digit is the next place down
    value = total + section + (digit or 0)
    return value if s else None


def _number(text: str, units: dict[str, float] | None = None) -> float | None:
    """The first number in a reply, in Arabic or Chinese numerals, times a unit that follows it
    when the slot has ``units`` (e.g. 年: 12 for a count of months)."""
    text = text.replace("，", ",")
    m = _NUM.search(text)
    if m is not None:
        value = float(m.group(1).replace(",", "")) * _SCALE.get(m.group(2) or "", 1)
        end = m.end()
    else:
        cn = _CN_NUM.search(text)
        if cn is None:
            return None
        value, end = float(_chinese_number(cn.group(0)) or 0), cn.end()
        if text[: cn.start()].rstrip().endswith("负"):
            value = -value
    if units:
        after = text[end:].lstrip()
        for word, factor in sorted(units.items(), key=lambda x: -len(x[0])):
            if after.startswith(word):
                return value * factor
    return value


def _found(t: str, w: str) -> int:
    """Where the word ``w`` occurs in ``t`` (whole words for Latin text), or -1."""
    if _WORDISH.match(w.replace(" ", "").replace("'", "")):
        m = re.search(rf"\b{re.escape(w)}\b", t)
        return m.start() if m else -1
    return t.find(w)


def _yes_no(text: str, yes: list[str] | None = None, no: list[str] | None = None) -> bool | None:
    """Yes or no in a reply, or None when it is neither or unsure. The slot's own words count
    first; then the longest yes/no word found wins ("没错" is yes though "没" is no), a word at
    the very start winning ties ("是的，没有逾期" is yes)."""
    t = text.strip().lower()
    own = [(len(w), value) for words, value in ((no or [], False), (yes or [], True)) for w in words
           if w.lower() in t]
    if own:  # the longest wins: "没有逾期" (yes) over "逾期" (no)
        return max(own, key=lambda x: x[0])[1]
    if any(_found(t, w) >= 0 for w in _UNSURE):
        return None
    hits = [(at == 0, len(w), value) for words, value in ((_NO, False), (_YES, True)) for w in words
            if (at := _found(t, w)) >= 0]
    if not hits:
        return None
    starts = [h for h in hits if h[0]]
    return max(starts or hits, key=lambda h: h[1])[2]


def _options_in(slot: Slot, text: str) -> list[str]:
    """The canonical options whose words occur in the text (longest words first, no overlaps)."""
    t = text.lower()
    words = sorted(((w.lower(), canon) for canon, ws in slot.choices().items() for w in ws), key=lambda x: -len(x[0]))
    found: list[str] = []
    taken = [False] * len(t)
    for w, canon in words:
        if not w:
            continue
        # Latin words match whole words only ("local" is not in "locally"); CJK has no spaces.
        starts = [m.start() for m in re.finditer(rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])", t)] \
            if w.isascii() else [m.start() for m in re.finditer(re.escape(w), t)]
        for start in starts:
            span = range(start, start + len(w))
            if not any(taken[i] for i in span):
                for i in span:
                    taken[i] = True
                if canon not in found:
                    found.append(canon)
    return found


def validate(slot: Slot, value: Any, lang: str) -> Any:
    """The value in its slot's type, or :class:`Invalid` with what is wrong, in the form's language."""
    w = _words(lang)
    if slot.type in ("integer", "number"):
        if isinstance(value, str):
            n = _number(value, slot.units)
            if n is None:
                raise Invalid(w["number"])
            value = n
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or abs(value) > 1e15:
            raise Invalid(w["number"])
        value = round(value) if slot.type == "integer" else float(value)
        if slot.min is not None and value < slot.min:
            raise Invalid(w["range_low"].format(n=_fmt(slot.min)))
        if slot.max is not None and value > slot.max:
            raise Invalid(w["range_high"].format(n=_fmt(slot.max)))
        return value
    if slot.type == "boolean":
        if isinstance(value, str):
            yn = _yes_no(value, slot.yes_words, slot.no_words)
            if yn is None:
                raise Invalid(w["yesno"])
            value = yn
        if not isinstance(value, bool):
            raise Invalid(w["yesno"])
        return value
    if slot.type == "enum":
        if not isinstance(value, (str, int, float)):
            raise Invalid(w["choose"].format(options=" / ".join(slot.choices())))
        hits = [str(value)] if str(value) in slot.choices() else _options_in(slot, str(value))
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


def _fmt(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)


def _pattern_in(pattern: str, text: str) -> str | None:
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


def recognise(spec: FormSpec, text: str, asked: str | None, lang: str,
              values: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """(values recognised in the message, slots whose answer was invalid: why); ``values`` are
    the answers so far, to tell a correction from a repetition."""
    values = values or {}
    found: dict[str, Any] = {}
    rejected: dict[str, str] = {}
    for name, slot in spec.slots.items():
        if name == asked:
            continue
        if slot.type == "enum":
            hits = _options_in(slot, text)
            if len(hits) == 1:
                found[name] = hits[0]
        elif slot.type == "string" and slot.pattern is not None and slot.aliases:
            # a pattern is looked for in any message only near a word that names the slot
            m = _pattern_in(slot.pattern, text)
            if m is not None and any(a in text for a in slot.aliases):
                found[name] = m
        elif slot.aliases:
            for alias in slot.aliases:
                at = text.find(alias)
                if at != -1:
                    with contextlib.suppress(Invalid):
                        found[name] = validate(slot, text[at + len(alias):at + len(alias) + 24], lang)
                    break
    if asked is not None and asked in spec.slots:
        slot = spec.slots[asked]
        if slot.type == "boolean" and any(values.get(k) != v for k, v in found.items()):
            # "不对，我是本地户口" corrects another answer; its "不对" is not a no to this question.
            return found, rejected
        raw: Any = text
        if slot.type == "string" and slot.pattern is not None:
            raw = _pattern_in(slot.pattern, text) or text
        try:
            found[asked] = validate(slot, raw, lang)
        except Invalid as exc:
            rejected[asked] = str(exc)
    return found, rejected


def walk(spec: FormSpec, values: dict[str, Any]) -> tuple[str | None, TreeNode | None, list[dict[str, Any]]]:
    """(the slot to ask next, the leaf reached, the path so far)."""
    path: list[dict[str, Any]] = []
    if spec.tree is None:
        for name, slot in spec.slots.items():
            if name not in values:
                return name, None, path
            path.append({"slot": name, "label": slot.label or name, "value": values[name]})
        return None, TreeNode(decision="complete"), path
    node: TreeNode | None = spec.tree
    while node is not None:
        if node.decision is not None:
            return None, node, path
        assert node.slot is not None
        if node.slot not in values:
            return node.slot, None, path
        value = values[node.slot]
        path.append({"slot": node.slot, "label": spec.slots[node.slot].label or node.slot, "value": value})
        key = str(value).lower() if isinstance(value, bool) else _fmt(value) if isinstance(value, float) else str(value)
        nxt = node.cases.get(key)
        if nxt is None:
            for c in node.when:
                try:
                    ok = evaluate(c.if_, {**values, "value": value})
                except TemplateProblem:
                    ok = False
                if ok:
                    nxt = c.then
                    break
        node = nxt if nxt is not None else node.default
    return None, None, path  # no case matched and there is no default


def turn(spec: FormSpec, state: FormState, text: str | None, lang: str,
         extracted: dict[str, Any] | None = None) -> Turn:
    """Read one user message (None on the first turn of a workflow that reached the form with
    nothing to read), update the values and say what comes next."""
    out = Turn()
    w = _words(lang)
    if text:
        found, rejected = recognise(spec, text, state.asked, lang, state.values)
        if extracted:
            for name, value in extracted.items():
                if name not in found and name in spec.slots:
                    try:
                        found[name] = validate(spec.slots[name], value, lang)
                        rejected.pop(name, None)
                    except Invalid:
                        pass
        for name, value in found.items():
            old = state.values.get(name)
            if name in state.values and old != value:
                out.corrected[name] = (old, value)
            elif name not in state.values:
                out.filled[name] = value
            state.values[name] = value
        out.rejected = rejected
    need, leaf, path = walk(spec, state.values)
    notes = []
    if spec.confirm_corrections:
        for name, (_, new) in out.corrected.items():
            notes.append(w["corrected"].format(label=spec.slots[name].label or name, value=_show(new, lang)))
    if need is not None:
        if need in out.rejected:
            notes.append(w["invalid"].format(why=out.rejected[need]))
        state.asked = need
        question = render(spec.slots[need].ask, dict(state.values))
        out.reply = "\n".join([*notes, question])
        out.asked = need
        return out
    state.asked = None
    if leaf is None:
        out.decision = {"decision": None, "path": path, "values": dict(state.values), "answer": None,
                        "notes": notes}
        return out
    answer = render(leaf.answer, {**state.values, "decision": leaf.decision}) if leaf.answer else leaf.decision
    out.decision = {"decision": leaf.decision, "path": path, "values": dict(state.values), "answer": answer,
                    "notes": notes}
    return out


def _show(value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    return _fmt(value) if isinstance(value, float) else str(value)
