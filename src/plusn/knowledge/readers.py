"""Read files into sections: (heading path, text). txt, md, html, pdf, docx.

Headings are kept because they say what a passage is about ("报销 > 差旅 > 住宿标准") even when
the passage itself does not; the chunker prefixes each chunk with its heading path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePath

from ..errors import InvalidRequest, MissingDependency

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")


@dataclass
class Section:
    headings: list[str]
    text: str


@dataclass
class Document:
    title: str
    sections: list[Section] = field(default_factory=list)


def read(path: PurePath, data: bytes | None = None) -> Document:
    """Parse one file (``data`` when the bytes are already in hand)."""
    raw = Path(path).read_bytes() if data is None else data
    suffix = path.suffix.lower()
    if suffix in (".txt", ""):
        return Document(path.stem, [Section([], _decode(raw))])
    if suffix in (".md", ".markdown"):
        return _markdown(path.stem, _decode(raw))
    if suffix in (".html", ".htm"):
        return _html(path.stem, _decode(raw))
    if suffix == ".pdf":
        return _pdf(path, raw)
    if suffix == ".docx":
        return _docx(path, raw)
    raise InvalidRequest(f"{path.name}: unsupported file type {suffix!r} (supported: {', '.join(SUFFIXES)})")


def _decode(raw: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):  # GB18030 covers GBK/GB2312, common for Chinese text files
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace")


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def _markdown(stem: str, text: str) -> Document:
    doc = Document(stem)
    path: list[str] = []
    buf: list[str] = []
    fence = False

    def flush() -> None:
        if "".join(buf).strip():
            doc.sections.append(Section(list(path), "\n".join(buf).strip()))
        buf.clear()

    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        m = None if fence else _MD_HEADING.match(line)
        if m:
            flush()
            level = len(m.group(1))
            del path[level - 1 :]
            path.extend([""] * (level - 1 - len(path)))
            path.append(m.group(2))
            if level == 1 and doc.title == stem:
                doc.title = m.group(2)
        else:
            buf.append(line)
    flush()
    for s in doc.sections:
        s.headings = [h for h in s.headings if h]
    return doc


class _HTMLText(HTMLParser):
    _SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})
    _BLOCK = frozenset({"p", "div", "li", "tr", "br", "section", "article", "table", "ul", "ol", "pre", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.doc = Document("")
        self.path: list[str] = []
        self.buf: list[str] = []
        self.skip = 0
        self.heading: int | None = None
        self.heading_text: list[str] = []
        self.title: list[str] = []
        self.in_title = False

    def flush(self) -> None:
        text = re.sub(r"[ \t\r\f\v]+", " ", "".join(self.buf))
        text = re.sub(r"\n\s*\n+", "\n", text).strip()
        if text:
            self.doc.sections.append(Section([h for h in self.path if h], text))
        self.buf.clear()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
        if tag in self._SKIP:
            self.skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.flush()
            self.heading, self.heading_text = int(tag[1]), []
        elif tag in self._BLOCK:
            self.buf.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in self._SKIP:
            self.skip = max(0, self.skip - 1)
        elif self.heading is not None and tag == f"h{self.heading}":
            level = self.heading
            del self.path[level - 1 :]
            self.path.extend([""] * (level - 1 - len(self.path)))
            self.path.append(" ".join("".join(self.heading_text).split()))
            self.heading = None
        elif tag in self._BLOCK:
            self.buf.append("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        if self.skip:
            return
        (self.heading_text if self.heading is not None else self.buf).append(data)


def _html(stem: str, text: str) -> Document:
    p = _HTMLText()
    p.feed(text)
    p.close()
    p.flush()
    p.doc.title = " ".join("".join(p.title).split()) or stem
    return p.doc


def _pdf(path: PurePath, raw: bytes) -> Document:
    try:
        from io import BytesIO

        from pypdf import PdfReader
    except ImportError as exc:
        raise MissingDependency("reading PDF needs pypdf: pip install 'plusn[knowledge]'") from exc
    try:
        reader = PdfReader(BytesIO(raw))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or path.stem
    except Exception as exc:  # pypdf raises many types for damaged files
        raise InvalidRequest(f"{path.name}: cannot read PDF: {exc}") from exc
    return Document(str(title), [Section([f"p. {i}"], t) for i, t in enumerate(pages, 1) if t.strip()])


def _docx(path: PurePath, raw: bytes) -> Document:
    try:
        from io import BytesIO

        import docx
    except ImportError as exc:
        raise MissingDependency("reading .docx needs python-docx: pip install 'plusn[knowledge]'") from exc
    try:
        d = docx.Document(BytesIO(raw))
    except Exception as exc:  # a zip that is not a Word file, and friends
        raise InvalidRequest(f"{path.name}: cannot read .docx: {exc}") from exc
    doc = Document(d.core_properties.title or path.stem)
    headings: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        if "".join(buf).strip():
            doc.sections.append(Section([h for h in headings if h], "\n".join(buf).strip()))
        buf.clear()

    for para in d.paragraphs:
        style = (para.style.name if para.style is not None else "") or ""
        m = re.match(r"(?:Heading|标题)\s*(\d)", style)
        if m or style == "Title":
            flush()
            level = int(m.group(1)) if m else 1
            del headings[level - 1 :]
            headings.extend([""] * (level - 1 - len(headings)))
            headings.append(para.text.strip())
        elif para.text.strip():
            buf.append(para.text)
    for table in d.tables:  # tables carry facts (prices, limits); keep their text row by row
        for row in table.rows:
            buf.append(" | ".join(c.text.strip() for c in row.cells))
    flush()
    return doc
