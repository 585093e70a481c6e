"""Loading agents: one YAML file each, from the folders and files in ``agents.paths``.

Errors name the file, the dotted key and the line; ``plusn agents validate`` reports them
without starting anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import parse_yaml, read_text, validated
from ..errors import ConfigError
from .spec import AgentSpec


@dataclass(frozen=True)
class Agent:
    spec: AgentSpec
    version: str
    source: str

    @property
    def name(self) -> str:
        return self.spec.name


def load_file(path: Path) -> Agent:
    data, node = parse_yaml(read_text(path, "agent"), str(path))
    data.setdefault("name", path.stem)
    spec = validated(AgentSpec, data, node, str(path))
    return Agent(spec, spec.version(), str(path))


def agent_files(paths: list[Path], source: str = "<config>") -> list[Path]:
    out: list[Path] = []
    for root in paths:
        if not root.exists():
            raise ConfigError(f"no such agent file or folder: {root}", file=source, key="agents.paths")
        out += [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml"))
    return out


def load_agents(paths: list[Path], source: str = "<config>") -> dict[str, Agent]:
    out: dict[str, Agent] = {}
    for f in agent_files(paths, source):
        agent = load_file(f)
        if agent.name in out:
            raise ConfigError(f"two agents are named {agent.name!r} ({out[agent.name].source} and {f})",
                              file=str(f), key="name")
        out[agent.name] = agent
    return out
