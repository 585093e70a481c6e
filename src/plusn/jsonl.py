"""JSON Lines: one JSON value per line, and a line ends at "\\n" alone.

``str.splitlines`` also breaks at U+2028, U+2029, U+0085 and form feeds, which JSON leaves as
they are inside strings (``json.dumps(..., ensure_ascii=False)`` writes them unescaped), so it
would cut a record in two. Every JSONL reader in plusn goes through here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import ConfigError


def lines(text: str) -> list[str]:
    """The text's lines, split at "\\n" only (a trailing "\\r" is left for ``strip``)."""
    return text.split("\n")


def read_lines(path: str | Path) -> list[str]:
    """A UTF-8 file's lines, split at "\\n" only; raises OSError as ``read_text`` does."""
    return lines(Path(path).read_text(encoding="utf-8"))


def read(path: str | Path) -> list[Any]:
    """Every non-blank line of a JSONL file, parsed."""
    return [json.loads(line) for line in read_lines(path) if line.strip()]


def numbered(path: str | Path, what: str = "") -> list[tuple[int, Any]]:
    """(line number, value) for every non-blank line of a JSONL file; a file that cannot be
    read, or a line that is not JSON, is a ConfigError naming the file and the line. ``what``
    says what the file is for, in the "cannot read" message."""
    try:
        text = read_lines(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read{f' {what}' if what else ''}: {exc.strerror}") from None
    out: list[tuple[int, Any]] = []
    for n, line in enumerate(text, 1):
        if not line.strip():
            continue
        try:
            out.append((n, json.loads(line)))
        except ValueError as exc:
            raise ConfigError(f"{path}:{n}: not JSON: {exc}") from None
    return out
