"""Words typed by sound.

Chinese is typed through its pronunciation (pinyin), so the commonest slip is a homophone: 被裁
圆了 for 被裁员了, 灵活救业 for 灵活就业. A word of three characters or more, said with one
character swapped for another that can be read the same (tones aside), is taken for that word,
as a guess to confirm. Two-character words are left out: one swap in two is too often another
word (本是 for 本市). pypinyin gives each character's readings, every one of a character that
has several (行 is xing and hang).
"""

from __future__ import annotations

from functools import lru_cache

from .utterance import NEGATORS

_MIN = 3  # the shortest word read through a slip


@lru_cache(maxsize=16384)
def readings(ch: str) -> frozenset[str]:
    """The toneless readings of a Chinese character; none for anything else."""
    if not "\u3400" <= ch <= "\u9fff":
        return frozenset()
    # pypinyin builds its table of 40,000 characters when imported (0.2 s): loaded at the first
    # message that matches no option word, not when the gateway starts
    from pypinyin import Style, pinyin

    return frozenset(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])


def sound_spans(text: str, words: dict[str, list[str]]) -> list[tuple[str, int, int]]:
    """(key, start, end) wherever the text says a word of ``words`` (key → its words) with one
    character swapped for a homophone; never a negator swapped in (本人没职 says no 辞职)."""
    out: list[tuple[str, int, int]] = []
    for key, ws in words.items():
        for w in ws:
            if len(w) < _MIN or not all(readings(c) for c in w):
                continue
            if sum(c in text for c in w) < len(w) - 1:
                continue  # (each character but the one swapped stands in the text: most words fail here)
            for i in range(len(text) - len(w) + 1):
                seg = text[i:i + len(w)]
                diff = [j for j, (a, b) in enumerate(zip(seg, w, strict=True)) if a != b]
                if len(diff) == 1 and seg[diff[0]] not in NEGATORS and readings(seg[diff[0]]) & readings(w[diff[0]]):
                    out.append((key, i, i + len(w)))
    return out
