"""JSON Lines: one JSON value per line, and a line ends at "\\n" alone.

``str.splitlines`` also breaks at U+2028, U+2029, U+0085 and form feeds, which JSON leaves as
they are inside strings (``json.dumps(..., ensure_ascii=False)`` writes them unescaped), so it
would cut a record in two. Every JSONL reader in plusn goes through here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def lines(text: str) -> list[str]:
    """The text's lines, split at "\\n" only (a trailing "\\r" is left for ``strip``)."""
    return text.split("\n")


def read_lines(path: str | Path) -> list[str]:
    """A UTF-8 file's lines, split at "\\n" only; raises OSError as ``read_text`` does."""
    return lines(Path(path).read_text(encoding="utf-8"))


def read(path: str | Path) -> list[Any]:
    """Every non-blank line of a JSONL file, parsed."""
    return [json.loads(line) for line in read_lines(path) if line.strip()]
