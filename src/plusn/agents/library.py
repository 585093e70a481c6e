"""Loading agents: one YAML file each, from the folders and files in ``agents.paths``.

Errors name the file, the dotted key and the line; ``plusn agents validate`` reports them
without starting anything.
"""

from __future__ import annotations

from pathlib import Path

from ..config import parse_yaml, read_text
from ..errors import ConfigError
from ..yaml_library import Entry, definition_files, entry
from .spec import AgentSpec

Agent = Entry[AgentSpec]


def load_file(path: Path) -> Agent:
    data, node = parse_yaml(read_text(path, "agent"), str(path))
    return entry(AgentSpec, path, data, node)


def agent_files(paths: list[Path], source: str = "<config>") -> list[Path]:
    return definition_files(paths, (".yaml", ".yml"), source=source, key="agents.paths", what="agent")


def load_agents(paths: list[Path], source: str = "<config>") -> dict[str, Agent]:
    out: dict[str, Agent] = {}
    for f in agent_files(paths, source):
        agent = load_file(f)
        if agent.name in out:
            raise ConfigError(f"two agents are named {agent.name!r} ({out[agent.name].source} and {f})",
                              file=str(f), key="name")
        out[agent.name] = agent
    return out
