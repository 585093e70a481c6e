"""Add ``skill:<name>`` to the fleet, one per skill, each bound to its model or route."""

from __future__ import annotations

from collections.abc import Mapping

from ..config import Capabilities, ModelSettings, Settings
from ..errors import ConfigError
from ..fleet.backend import Backend, Member, RunMember
from .backend import SkillBackend
from .library import Skill, load_skills, starter_dir


def _chat(member: Member | None) -> bool:
    return isinstance(member, Backend) and member.capabilities.chat


def _base_model(member: Member | None) -> bool:
    """A model that only continues text (no chat template), such as Gemma 3 270M."""
    return isinstance(member, Backend) and not member.capabilities.chat and member.capabilities.completion


def pick_target(skill: Skill, settings: Settings, known: Mapping[str, Member]) -> str:
    wanted = skill.spec.model
    if wanted is not None:
        names = [wanted] if isinstance(wanted, str) else wanted
        for n in names:
            # a base model is only ever the skill's own choice: its prompt must be written for it
            if _chat(known.get(n)) or _base_model(known.get(n)):
                return n
        raise ConfigError(f"skill {skill.name!r} wants {', '.join(names)}, and the fleet has no chat or completion "
                          "model or route of that name", file=skill.source, key="model")
    default = settings.skills.default_model
    if default is not None:
        if not _chat(known.get(default)):
            raise ConfigError(f"no chat model or route named {default!r}", file=settings.source,
                              key="skills.default_model")
        return default
    if _chat(known.get("auto")):
        return "auto"
    first = next((n for n, m in known.items() if _chat(m)), None)
    if first is None:
        raise ConfigError("skills need a chat model, and the fleet has none; set skills.builtin: false or add one",
                          file=settings.source, key="skills")
    return first


def build_skills(settings: Settings, known: Mapping[str, Member], run: RunMember) -> dict[str, Backend]:
    """``skill:<name>`` for each skill; ``known``: everything built so far, by name."""
    s = settings.skills
    skills = load_skills(s.resolved(settings.source), builtin=s.builtin, source=settings.source)
    if not skills:
        return {}
    out: dict[str, Backend] = {}
    has_chat = any(_chat(m) for m in known.values())
    starter = str(starter_dir())
    for name, skill in skills.items():
        if not has_chat and skill.source.startswith(starter):
            continue  # e.g. an embeddings-only deployment: the starter library has nothing to run on
        target = pick_target(skill, settings, known)
        member = known[target]
        caps = Capabilities(chat=True, completion=False, languages=member.capabilities.languages,
                            remote=member.capabilities.remote, context_window=member.capabilities.context_window,
                            structured_output=skill.spec.output is not None)
        skill_settings = ModelSettings(type="skill", description=skill.spec.description, capabilities=caps,
                                       preload=False)  # nothing to load
        out[f"skill:{name}"] = SkillBackend(f"skill:{name}", skill, target, run, skill_settings,
                                            structured=member.capabilities.structured_output,
                                            completion=_base_model(member))
    return out
