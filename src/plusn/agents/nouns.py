"""The nouns of a Chinese reply that may name an option by what they are.

"耳机拆开听了一下，音质一般" answers "which kind of goods?" with a thing, 耳机, that no option lists.
A small embedding model places the word alone near 数码电子, but the whole sentence, mostly about
unpacking and listening, lands nowhere; so :mod:`.meaning` also compares the nouns alone. jieba
(MIT) segments the text and tags the parts of speech; it is loaded once, on first use, in a
worker thread (its dictionary takes about a second).

A noun is only a candidate when it says what something is, not where or what not: after a
preposition it is a place or a party ("在本市工作" is where one works, not which registration one
has), and after a negation it is what is absent ("没有房子").
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

# jieba's noun tags: common nouns, other proper nouns and the names it gives unknown words
# (车厘子 is tagged as a person's name). Places (ns) and organisations (nt) are where one is or
# works, which forms ask about apart.
_NOUN_TAGS = frozenset({"n", "nz", "nr", "nrt", "nw"})
_NEGATORS = frozenset({"没", "没有", "不", "无", "非", "不是", "未", "别"})
_BEFORE = 2  # words before a noun looked at for a preposition or a negation
# characters that say nothing of what a thing is (想, 要, 了, 吗…)
FUNCTION_CHARS = frozenset("想要我你他她能吗了的是个一可以吧呢啊呀哦请问下这那好么怎样还就都也在有没不")

_lock = threading.Lock()
_posseg: Any = None
_missing = False


def _tagger() -> Any:
    """jieba's part-of-speech tagger, or None without jieba (the nouns are then not looked at)."""
    global _posseg, _missing
    if _posseg is None and not _missing:
        with _lock:
            if _posseg is None and not _missing:
                try:
                    import jieba
                    import jieba.posseg
                except ImportError:
                    _missing = True
                    log.info("jieba is not installed: replies are matched by meaning without their nouns")
                    return None
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _posseg = jieba.posseg
    return _posseg


def nouns(text: str, topic: frozenset[str] = frozenset()) -> list[str]:
    """The text's nouns of two characters or more that may name an option (see the module's
    docstring), less those made only of the form's ``topic`` characters and function words."""
    tagger = _tagger()
    if tagger is None:
        return []
    words = [(w.word, w.flag) for w in tagger.cut(text)]
    out: list[str] = []
    for i, (word, flag) in enumerate(words):
        if flag not in _NOUN_TAGS or len(word) < 2 or all(c in topic or c in FUNCTION_CHARS for c in word):
            continue
        if any(f == "p" or w in _NEGATORS for w, f in words[max(0, i - _BEFORE):i]):
            continue
        out.append(word)
    return list(dict.fromkeys(out))
