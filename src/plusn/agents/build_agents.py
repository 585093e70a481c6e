"""Add ``agent:<name>`` to the fleet, one per agent file, after checking what each one uses."""

from __future__ import annotations

from collections.abc import Mapping

from ..config import Capabilities, ModelSettings, Settings
from ..errors import ConfigError
from ..fleet.backend import Backend, EmbeddingBackend, Member
from .backend import AgentBackend
from .library import Agent, load_agents
from .state import StateStore
from .tools import AgentEnv


def _check(agent: Agent, s: Settings, known: dict[str, Backend], agents: dict[str, Agent],
           known_members: Mapping[str, Member]) -> None:
    """Every model, skill, knowledge base, database and agent the file names exists."""

    def fail(msg: str, key: str) -> None:
        raise ConfigError(msg, file=agent.source, key=key)

    def chat(name: str, key: str) -> None:
        m = known.get(name)
        if not (isinstance(m, Backend) and m.capabilities.chat):
            fail(f"no chat model or route named {name!r}", key)

    spec = agent.spec
    if spec.model is not None:
        chat(spec.model, "model")
    for i, t in enumerate(spec.tools):
        key = f"tools[{i}]"
        if t.kb is not None and t.kb not in s.knowledge:
            fail(f"unknown knowledge base {t.kb!r}; knowledge bases: {', '.join(s.knowledge) or '(none)'}", key)
        if t.db is not None and t.db not in s.sql:
            fail(f"unknown SQL database {t.db!r}; databases: {', '.join(s.sql) or '(none)'}", key)
        if t.skill is not None and f"skill:{t.skill}" not in known:
            fail(f"unknown skill {t.skill!r}", key)
        if t.agent is not None and t.agent not in agents:
            fail(f"unknown agent {t.agent!r}", key)
    for i, n in enumerate(spec.nodes):
        for step in (n, n.step):
            if step is None:
                continue
            if step.model is not None:
                chat(step.model, f"nodes[{i}].model")
            if step.skill is not None and f"skill:{step.skill}" not in known:
                fail(f"unknown skill {step.skill!r}", f"nodes[{i}].skill")
        if n.form is not None and n.form.extractor is not None:
            chat(n.form.extractor, f"nodes[{i}].form.extractor" if spec.form is None else "form.extractor")
        if n.form is not None and n.form.embedding not in ("auto", "none") and \
                not isinstance(known_members.get(n.form.embedding), EmbeddingBackend):
            fail(f"no embedding model named {n.form.embedding!r}",
                 f"nodes[{i}].form.embedding" if spec.form is None else "form.embedding")


def embeddings(agent: Agent, members: Mapping[str, Member]) -> dict[str, str]:
    """The embedding model of each form node that matches by meaning: its own, or with "auto"
    the fleet's first embedding model; a form without one reads by rules alone."""
    first = next((n for n, m in members.items() if isinstance(m, EmbeddingBackend)), None)
    out = {}
    for n in agent.spec.nodes:
        if n.form is not None and n.form.embedding != "none":
            name = first if n.form.embedding == "auto" else n.form.embedding
            if name is not None:
                out[n.id] = name
    return out


def pick_model(agent: Agent, settings: Settings, known: dict[str, Backend]) -> str:
    if agent.spec.model is not None:
        return agent.spec.model
    default = settings.agents.default_model
    if default is not None:
        if default not in known:
            raise ConfigError(f"no chat model or route named {default!r}", file=settings.source,
                              key="agents.default_model")
        return default
    if "auto" in known:
        return "auto"
    first = next((n for n, m in known.items() if isinstance(m, Backend) and m.capabilities.chat), None)
    return first or ""


def build_agents(settings: Settings, members: Mapping[str, Member], env: AgentEnv) -> dict[str, Backend]:
    """``agent:<name>`` for each agent file; ``members``: everything built so far, by name."""
    s = settings.agents
    agents = load_agents(s.resolved(settings.source), settings.source)
    if not agents:
        return {}
    known: dict[str, Backend] = {n: m for n, m in members.items() if isinstance(m, Backend)}
    store = StateStore(settings.state_db(), s.state_ttl_s)
    out: dict[str, Backend] = {}
    for name, agent in agents.items():
        _check(agent, settings, known, agents, members)
        model = pick_model(agent, settings, known)
        needs_model = agent.spec.kind == "agent" or any(n.type == "llm" for n in agent.spec.nodes)
        if needs_model and not model:
            raise ConfigError("this agent calls a model, and the fleet has no chat model", file=agent.source,
                              key="model")
        caps = Capabilities(chat=True, completion=False, languages=[agent.spec.language])
        agent_settings = ModelSettings(type=agent.spec.kind, description=agent.spec.description, capabilities=caps,
                                       preload=False)  # nothing to load
        out[f"agent:{name}"] = AgentBackend(f"agent:{name}", agent, model, env, agent_settings, store,
                                            embeddings(agent, members))
    return out
