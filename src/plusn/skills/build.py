"""Add ``skill:<name>`` to the fleet, one per skill, each bound to its model or route."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import Capabilities, ModelSettings
from ..errors import ConfigError
from ..fleet.base import Backend, Member
from .backend import SkillBackend
from .library import Skill, load_skills, starter_dir

if TYPE_CHECKING:
    from ..fleet.fleet import Fleet


def _chat(member: Member | None) -> bool:
    return isinstance(member, Backend) and member.capabilities.chat


def pick_target(skill: Skill, fleet: Fleet, composites: dict[str, Backend]) -> str:
    known = {**fleet.members, **composites}
    wanted = skill.spec.model
    if wanted is not None:
        names = [wanted] if isinstance(wanted, str) else wanted
        for n in names:
            if _chat(known.get(n)):
                return n
        raise ConfigError(f"skill {skill.name!r} wants {', '.join(names)}, and the fleet has no chat model or route "
                          "of that name", file=skill.source, key="model")
    default = fleet.settings.skills.default_model
    if default is not None:
        if not _chat(known.get(default)):
            raise ConfigError(f"no chat model or route named {default!r}", file=fleet.settings.source,
                              key="skills.default_model")
        return default
    if _chat(known.get("auto")):
        return "auto"
    first = next((n for n, m in fleet.members.items() if _chat(m)), None)
    if first is None:
        raise ConfigError("skills need a chat model, and the fleet has none; set skills.builtin: false or add one",
                          file=fleet.settings.source, key="skills")
    return first


def build_skills(fleet: Fleet, composites: dict[str, Backend]) -> dict[str, Backend]:
    s = fleet.settings.skills
    skills = load_skills(s.resolved(fleet.settings.source), builtin=s.builtin, source=fleet.settings.source)
    if not skills:
        return {}
    known = {**fleet.members, **composites}
    out: dict[str, Backend] = {}
    has_chat = any(_chat(m) for m in known.values())
    starter = str(starter_dir())
    for name, skill in skills.items():
        if not has_chat and skill.source.startswith(starter):
            continue  # e.g. an embeddings-only deployment: the starter library has nothing to run on
        target = pick_target(skill, fleet, composites)
        member = known[target]
        caps = Capabilities(chat=True, completion=False, languages=member.capabilities.languages,
                            remote=member.capabilities.remote, context_window=member.capabilities.context_window,
                            structured_output=skill.spec.output is not None)
        settings = ModelSettings(type="skill", description=skill.spec.description, capabilities=caps,
                                 preload=False)  # nothing to load
        out[f"skill:{name}"] = SkillBackend(f"skill:{name}", skill, target, fleet.run, settings,
                                            structured=member.capabilities.structured_output)
    return out
