"""Words for BM25, in Chinese and English alike.

Chinese has no spaces, so a keyword index built on whitespace cannot find 公积金 inside
"住房公积金提取条件". jieba segments Chinese into words; its search mode also emits the shorter
words inside long ones (公积金 → 公积, 积金, 公积金), so a query for either finds the other.
Latin text is lower-cased and lightly stemmed by SQLite's porter tokenizer downstream.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from typing import Any

from ..errors import MissingDependency

_jieba: Any = None
_lock = threading.Lock()
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w", re.UNICODE)
# Latin words this short and this common carry no signal and slow OR queries down.
STOPWORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were", "what", "when", "where", "which", "who", "whom", "why", "will", "with", "how", "do", "does", "did"]
)


def _segmenter() -> Any:
    """jieba, loaded once (its dictionary takes about a second) and quietly."""
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                try:
                    import jieba
                except ImportError as exc:
                    raise MissingDependency("Chinese word segmentation needs jieba: pip install 'plusn[knowledge]'") \
                        from exc

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def words(text: str, *, query: bool = False) -> list[str]:
    """The words of ``text`` for a keyword index; stopwords are dropped from queries only."""
    text = normalise(text)
    tokens = _segmenter().cut_for_search(text) if _CJK.search(text) else re.findall(r"\w+", text)
    out = [t.strip() for t in tokens if _WORD.search(t)]
    out = [t for t in out if t]
    if query:
        out = [t for t in out if t not in STOPWORDS] or out
    return out


def rough_tokens(text: str) -> int:
    """An estimate of a multilingual tokenizer's count: a CJK character is about one token,
    a Latin word about 1.3."""
    cjk = len(_CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z0-9]+", text))
    return cjk + int(latin * 1.3) + 1
