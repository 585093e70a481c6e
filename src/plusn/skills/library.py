"""Loading skills: the starter library in the package plus YAML or Markdown files from config.

A YAML skill is one mapping. A Markdown skill is YAML front matter between ``---`` lines,
and its body is the template. A later file with the same name replaces an earlier one (so a
deployment can override a starter skill). Errors name the file, the key and the line.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from ..config import parse_yaml, read_text
from ..errors import ConfigError
from ..yaml_library import Entry, definition_files, entry
from .spec import SkillSpec

Skill = Entry[SkillSpec]


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
    return entry(SkillSpec, path, data, node, offset)


def starter_dir() -> Path:
    return Path(str(files("plusn.skills").joinpath("library")))


def load_skills(paths: list[Path], *, builtin: bool = True, source: str = "<config>") -> dict[str, Skill]:
    """Every skill, by name: the starter library first, then ``paths`` (files or folders) in order."""
    roots = ([starter_dir()] if builtin else []) + paths
    out: dict[str, Skill] = {}
    for f in definition_files(roots, (".yaml", ".yml", ".md"), source=source, key="skills.paths", what="skill"):
        skill = load_file(f)
        out[skill.name] = skill
    return out
