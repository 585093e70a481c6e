"""How an answer is scored against its reference: each metric gives a score in [0, 1].

The arena's task files name a metric per task (or the suite names one for all). The judge
metric is not here: it needs a model, so :mod:`plusn.evals.arena` runs it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from typing import Any

from ..errors import InvalidRequest

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def normalise(text: str) -> str:
    """Case, width, punctuation and spacing folded, so 'Paris.' matches 'paris' and 'ＡＢＣ' 'abc'."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    """Words for F1: English words, and Chinese characters one by one (no segmenter needed to
    compare two short answers)."""
    out: list[str] = []
    for word in normalise(text).split():
        if _CJK.search(word):
            out.extend(ch for ch in word if not ch.isspace())
        else:
            out.append(word)
    return out


def last_number(text: str) -> float | None:
    """The last number in the text (GSM8K style: the final answer comes last)."""
    found = _NUMBER.findall(unicodedata.normalize("NFKC", text))
    if not found:
        return None
    try:
        return float(found[-1].replace(",", ""))
    except ValueError:
        return None


def exact(answer: str, reference: Any, **_: Any) -> float:
    return float(normalise(answer) == normalise(str(reference)))


def contains(answer: str, reference: Any, **_: Any) -> float:
    """The reference (or any of a list of references) appears in the answer as a whole word or
    number: 4 is not found in 14, nor "no" in "not"; Chinese, written without spaces, is found
    anywhere."""
    refs = reference if isinstance(reference, list) else [reference]
    got = normalise(answer)
    for r in refs:
        want = normalise(str(r))
        if want and re.search(rf"(?<![0-9a-z]){re.escape(want)}(?![0-9a-z])", got):
            return 1.0
    return 0.0


def numeric(answer: str, reference: Any, *, tolerance: float = 1e-6, **_: Any) -> float:
    """The answer's last number equals the reference within a relative tolerance."""
    want = reference if isinstance(reference, (int, float)) else last_number(str(reference))
    got = last_number(answer)
    if want is None or got is None:
        return 0.0
    return float(abs(got - float(want)) <= tolerance * max(1.0, abs(float(want))))


def regex(answer: str, reference: Any, *, pattern: str | None = None, **_: Any) -> float:
    """The answer matches ``pattern`` (or the reference read as a pattern)."""
    try:
        return float(re.search(pattern or str(reference), answer, re.IGNORECASE) is not None)
    except re.error as exc:
        raise InvalidRequest(f"bad regex {pattern or reference!r}: {exc}", param="pattern") from None


def json_field(answer: str, reference: Any, *, field: str | None = None, **_: Any) -> float:
    """The answer is JSON (bare or in a code fence) and its ``field`` (dotted path) equals the reference."""
    if not field:
        raise InvalidRequest("the json_field metric needs a field (a dotted path)", param="field")
    text = answer.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fence:
        text = fence.group(1)
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        return 0.0
    try:
        value: Any = json.JSONDecoder().raw_decode(text[start:])[0]
    except ValueError:
        return 0.0
    for part in field.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return 0.0
    if isinstance(reference, (int, float)) and not isinstance(reference, bool):
        return numeric(str(value), reference)
    return exact(json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value,
                 reference if isinstance(reference, str) else json.dumps(reference, ensure_ascii=False))


def f1(answer: str, reference: Any, **_: Any) -> float:
    """Token-overlap F1 (SQuAD style); the best over a list of references."""
    refs = reference if isinstance(reference, list) else [reference]
    got = tokens(answer)
    best = 0.0
    for r in refs:
        want = tokens(str(r))
        common = sum((Counter(got) & Counter(want)).values())
        if common:
            p, rc = common / len(got), common / len(want)
            best = max(best, 2 * p * rc / (p + rc))
    return best


METRICS: dict[str, Callable[..., float]] = {
    "exact": exact, "contains": contains, "numeric": numeric, "regex": regex, "json_field": json_field, "f1": f1,
}
# Scored by a model; see plusn.evals.arena.
JUDGE = "judge"
NAMES = sorted([*METRICS, JUDGE])
