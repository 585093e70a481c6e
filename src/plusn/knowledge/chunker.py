"""Split sections into chunks that respect headings and sentence boundaries.

A chunk never crosses a heading, and it breaks at a sentence end (。！？；… in Chinese,
. ! ? followed by a space in English) or a line break, never inside a sentence unless a
single sentence is longer than the limit. Sizes are in estimated model tokens, because the
embedder reads at most 512 and a chunk that long is slow to embed and vague to cite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .readers import Document
from .text import rough_tokens

# A sentence ends after Chinese end punctuation (and any closing quotes), after Latin end
# punctuation followed by a space, or at a line break.
_SENTENCE = re.compile(r"(?<=[。！？；!?…])[”’」』）)]*|(?<=[.!?;])[\"')\]]*(?=\s)|\n+")


@dataclass
class Chunk:
    ordinal: int
    heading: str  # "Title > Section > Subsection"
    text: str

    def indexed(self) -> str:
        """What the indexes see: the heading path, then the text."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text


def sentences(text: str) -> list[str]:
    out, start = [], 0
    for m in _SENTENCE.finditer(text):
        end = m.end()
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
        start = end
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def _split_long(sentence: str, max_tokens: int) -> list[str]:
    """A sentence over the limit: cut at commas, then by length."""
    parts = [p for p in re.split(r"(?<=[，,、：:])", sentence) if p]
    out: list[str] = []
    buf = ""
    for p in parts:
        while rough_tokens(p) > max_tokens:  # no comma either: cut by characters
            step = max(1, len(p) * max_tokens // rough_tokens(p))
            out.append((buf + p[:step]).strip())
            buf, p = "", p[step:]
        if buf and rough_tokens(buf + p) > max_tokens:
            out.append(buf.strip())
            buf = ""
        buf += p
    if buf.strip():
        out.append(buf.strip())
    return out


def chunk(doc: Document, max_tokens: int = 256, overlap_sentences: int = 1) -> list[Chunk]:
    """Chunks of at most ``max_tokens`` (estimated), sharing ``overlap_sentences`` with the
    previous chunk of the same section so a fact split across the boundary is still found."""
    chunks: list[Chunk] = []
    for section in doc.sections:
        path = list(section.headings)
        if path and path[0] == doc.title:  # a Markdown H1 is usually the title too
            path = path[1:]
        heading = " > ".join([t for t in (doc.title, *path) if t])
        budget = max(32, max_tokens - rough_tokens(heading))
        pieces: list[str] = []
        for s in sentences(section.text):
            pieces.extend(_split_long(s, budget) if rough_tokens(s) > budget else [s])
        buf: list[str] = []
        size = 0
        for p in pieces:
            t = rough_tokens(p)
            if buf and size + t > budget:
                chunks.append(Chunk(len(chunks), heading, join_sentences(buf)))
                keep = buf[-overlap_sentences:] if overlap_sentences else []
                if sum(rough_tokens(k) for k in keep) + t > budget:
                    keep = []
                buf, size = list(keep), sum(rough_tokens(k) for k in keep)
            buf.append(p)
            size += t
        if buf:
            chunks.append(Chunk(len(chunks), heading, join_sentences(buf)))
    return chunks


def join_sentences(parts: list[str]) -> str:
    """Sentences back into text: no space between Chinese sentences, one between Latin ones."""
    out = parts[0]
    for p in parts[1:]:
        cjk_edge = re.match(r"[\u3000-\u9fff\uff00-\uffef]", p[:1]) or re.search(r"[\u3000-\u9fff\uff00-\uffef]$", out)
        out += p if cjk_edge else " " + p
    return out
