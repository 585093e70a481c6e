"""Folders of YAML definitions, one per file: what skills and agents are loaded from.

Each file holds one spec (a pydantic model with a ``name`` and a content ``version()``); its
name defaults to the file's stem. Errors name the file, the dotted key and the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, cast

import yaml

from .config import validated
from .errors import ConfigError


class Spec(Protocol):
    name: str

    def version(self) -> str: ...


S = TypeVar("S", bound=Spec)


@dataclass(frozen=True)
class Entry(Generic[S]):
    """One definition as loaded: its spec, its content version and the file it came from."""

    spec: S
    version: str
    source: str

    @property
    def name(self) -> str:
        return self.spec.name


def entry(spec_type: type[S], path: Path, data: dict[str, Any], node: yaml.Node | None, offset: int = 0) -> Entry[S]:
    """The entry of one file's parsed YAML (``offset``: lines before the YAML in the file)."""
    data.setdefault("name", path.stem)
    # validated() wants a pydantic model type; every spec is one, which a Protocol cannot say.
    spec: S = validated(cast(Any, spec_type), data, node, str(path), offset)
    return Entry(spec, spec.version(), str(path))


def definition_files(roots: list[Path], suffixes: tuple[str, ...], *, source: str, key: str,
                     what: str) -> list[Path]:
    """The files under each root (a file, or a folder searched recursively), root by root, each
    folder's files sorted; a missing root is an error at ``key`` of the config ``source``."""
    out: list[Path] = []
    for root in roots:
        if not root.exists():
            raise ConfigError(f"no such {what} file or folder: {root}", file=source, key=key)
        out += [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.suffix in suffixes and p.is_file())
    return out
