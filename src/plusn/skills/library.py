"""Loading skills: the starter library in the package plus YAML or Markdown files from config.

A YAML skill is one mapping. A Markdown skill is YAML front matter between ``---`` lines,
and its body is the template. A later file with the same name replaces an earlier one (so a
deployment can override a starter skill). Errors name the file, the key and the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from ..config import parse_yaml, read_text, validated
from ..errors import ConfigError
from .spec import SkillSpec


@dataclass(frozen=True)
class Skill:
    spec: SkillSpec
    version: str
    source: str

    @property
    def name(self) -> str:
        return self.spec.name


def _parse(text: str, source: str) -> tuple[dict[str, Any], yaml.Node | None, int]:
    """The mapping, its YAML node (for line numbers) and the line offset of the YAML in the file."""
    if source.endswith(".md"):
        lines = text.splitlines()
        if not lines or lines[0].strip() != "---":
            raise ConfigError("a Markdown skill starts with YAML front matter between '---' lines", file=source)
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        except StopIteration:
            raise ConfigError("the front matter has no closing '---' line", file=source) from None
        data, node = parse_yaml("\n".join(lines[1:end]), source)
        if "template" in data:
            raise ConfigError("a Markdown skill's template is its body, not a front-matter key", file=source,
                              key="template")
        data["template"] = "\n".join(lines[end + 1 :]).strip()
        return data, node, 1
    data, node = parse_yaml(text, source)
    return data, node, 0


def load_file(path: Path) -> Skill:
    data, node, offset = _parse(read_text(path, "skill"), str(path))
    data.setdefault("name", path.stem)
    spec = validated(SkillSpec, data, node, str(path), offset)
    return Skill(spec, spec.version(), str(path))


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml", ".md") and p.is_file())


def starter_dir() -> Path:
    return Path(str(files("plusn.skills").joinpath("library")))


def load_skills(paths: list[Path], *, builtin: bool = True, source: str = "<config>") -> dict[str, Skill]:
    """Every skill, by name: the starter library first, then ``paths`` (files or folders) in order."""
    roots = ([starter_dir()] if builtin else []) + paths
    out: dict[str, Skill] = {}
    for root in roots:
        if not root.exists():
            raise ConfigError(f"no such skill file or folder: {root}", file=source, key="skills.paths")
        for f in _files(root):
            skill = load_file(f)
            out[skill.name] = skill
    return out
