"""The composition root: what a deployment is built from, in order.

1. the members: each configured model through the backend registry, behind redaction when it
   is remote and behind retries, fallbacks and a circuit breaker where any applies;
2. the fleet: the registry that looks members up, starts, runs and streams them;
3. knowledge (bases and SQL databases, opened on first use) and the safety screens;
4. what is served under a name: routes (routers, cascades, grounded routes, ``auto``), then
   skills, then agents, in the order of the table :data:`SERVED`.

Every builder gets the narrow parts it uses (call a member, look a name up, embed), never the
whole deployment. The gateway, the CLI commands, the evals and the benches build through
:func:`assemble`; :meth:`Deployment.rebuild_routes` runs step 4 again on a running deployment.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from .agents.build_agents import build_agents
from .agents.tools import AgentEnv
from .cache.spec import CacheSettings
from .config import CircuitBreaker, Settings
from .fleet.backend import Backend, EmbeddingBackend, EmbedQuery, Member, query_embed
from .fleet.model_types import validate_model, with_type_defaults
from .fleet.resilience import Breaker, ResilientBackend
from .fleet.roster import Fleet, FleetContext
from .knowledge.catalog import Knowledge
from .knowledge.grounding import Screen
from .mcp.client import McpServers
from .routing.build_routes import (
    RouteParts,
    build_auto,
    build_cascades,
    build_grounded,
    build_routers,
    check_targets,
    with_knob,
)
from .routing.dispatch import DispatchBackend
from .routing.versions import policy_version
from .safety.guard import passage_screen
from .safety.remote import RedactingBackend
from .skills.backend import SkillBackend
from .skills.build_skills import build_skills
from .skills.versions import remember
from .telemetry.traced_model import TracedModel


@dataclass
class Deployment:
    """One deployment, assembled: its settings, the fleet serving every name, its knowledge
    and its passage screens."""

    settings: Settings
    fleet: Fleet
    knowledge: Knowledge
    screens: list[Screen] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)  # the names step 4 added, for a rebuild
    policy: str = ""  # the version of what step 4 built from (see policy_version)
    skill_versions: str = ""  # the version of each skill step 4 built, e.g. "faq=3f2a...,sum=91c0..."
    # one session per MCP server the agents name, opened on first use; kept across rebuilds
    mcp: McpServers = field(default_factory=McpServers)

    async def start(self) -> list[str]:
        """Start the members marked ``preload`` (their names are returned), begin ingesting the
        knowledge bases' configured paths, and record each skill version served, so that it
        stays callable by its version."""
        loaded = await self.fleet.start()
        self.knowledge.warm()
        skills = [m.skill for m in self.fleet.members.values() if isinstance(m, SkillBackend)]
        if skills:
            await asyncio.to_thread(remember, self.settings.state_db(), skills)
        return loaded

    async def close(self) -> None:
        await self.knowledge.close()
        await self.fleet.close()
        await self.mcp.close()  # after the agents: none of them calls a tool any more

    def safety_embed(self) -> Any:
        """The safety detector's second-stage embedder (a query embedding of one text), if
        configured and in the fleet."""
        name = self.settings.safety.second_stage_model
        if name is None or not isinstance(self.fleet.members.get(name), EmbeddingBackend):
            return None
        return query_embed(self.fleet.embedder, name)

    # What the response cache reads (plusn.cache.response_cache.Served).

    @property
    def cache_settings(self) -> CacheSettings:
        return self.settings.cache

    def is_model(self, name: str) -> bool:
        return name in self.settings.models

    def member(self, name: str) -> Member:
        return self.fleet.member(name)

    def versions(self) -> str:
        """The versions of the routes and the skills that serve now: an answer made under
        others is not reused."""
        return f"{self.policy};{self.skill_versions}"

    def knowledge_generations(self) -> str:
        return self.knowledge.generations()

    def cache_embed(self) -> EmbedQuery | None:
        name = self.settings.cache.embedding_model
        if name is None or not isinstance(self.fleet.members.get(name), EmbeddingBackend):
            return None
        return query_embed(self.fleet.embedder, name)

    def rebuild_routes(self, settings: Settings) -> None:
        """Step 4 again, from ``settings`` whose models are unchanged (e.g. refitted routes):
        the new routes, skills and agents replace the old ones as a whole, or, if building them
        fails, the old ones stay. Requests in flight finish on the members they started with.

        Synchronous on purpose: no request can see the fleet between the old and the new."""
        old = {name: self.fleet.members[name] for name in self.routes}
        for name in self.routes:
            self.fleet.remove(name)
        try:
            routes = build_served(settings, self.fleet, self.knowledge, self.screens, self.mcp)
        except Exception:
            for name in [n for n in self.fleet.members if n not in settings.models and n not in old]:
                if name in self.fleet.members:
                    self.fleet.remove(name)
            for name, member in old.items():
                self.fleet.add(name, member)
            raise
        carry_sticky(old.get("auto"), self.fleet.members.get("auto"))
        self.settings, self.routes, self.policy = settings, routes, policy_version(settings)
        self.skill_versions = skill_versions(self.fleet)


def skill_versions(fleet: Fleet) -> str:
    return ",".join(sorted(f"{m.skill.name}={m.skill.version}" for m in fleet.members.values()
                           if isinstance(m, SkillBackend)))


def carry_sticky(old: Member | None, new: Member | None) -> None:
    """The conversations that escalated stay on their tier across a reload (their memory moves
    to the new dispatcher, where it keeps sessions the same way)."""
    if (isinstance(old, DispatchBackend) and isinstance(new, DispatchBackend) and old.sticky is not None
            and new.sticky is not None and old.spec.sticky_ttl_s == new.spec.sticky_ttl_s):
        new.sticky = old.sticky


def build_members(settings: Settings, fleet: Fleet) -> dict[str, Member]:
    """Step 1: each configured model, wrapped as it must be. Resilience reaches its fallbacks
    through ``fleet``, which holds them once they are added."""
    ctx = FleetContext(settings)
    out: dict[str, Member] = {}
    for name, ms in settings.models.items():
        cls, options = validate_model(name, ms, settings.source)
        member = cls(name, with_type_defaults(ms, cls), options, context=ctx)
        if isinstance(member, Backend):
            if member.capabilities.remote and settings.safety.redact_remote:
                member = RedactingBackend(member, restore=settings.safety.restore)
            member = resilient(member, cls, fleet)
            if settings.telemetry.otlp_endpoint:  # only then: an untraced fleet pays nothing
                member = TracedModel(member, ms.type)
        out[name] = member
    return out


def resilient(member: Backend, cls: type[Member], fleet: Fleet) -> Backend:
    """The member behind retries, fallbacks and a circuit breaker, where any applies."""
    ms = member.settings
    retries = cls.default_retries if ms.retries is None else ms.retries
    spec = ms.circuit_breaker
    if spec is None:
        spec = cls.default_breaker
    if spec is True:
        spec = CircuitBreaker()
    breaker = None
    if isinstance(spec, CircuitBreaker):
        inner = getattr(member, "inner", member)
        breaker = Breaker(spec, getattr(inner, "probe", None))
    if not (retries or ms.fallbacks or breaker or ms.first_token_timeout_s):
        return member
    return ResilientBackend(member, fleet, retries=retries, breaker=breaker)


# Builds what is served under one kind of name from the settings and the parts built so far.
Builder = Callable[[Settings, RouteParts], dict[str, Backend]]

# Everything served under a model name besides the configured models (step 1), by prefix, in
# build order: each builder sees what the rows above it added. A new kind is one row here.
SERVED: list[tuple[str, Builder]] = [
    ("router:", build_routers),
    ("cascade:", build_cascades),  # may start with a router's estimate
    ("route:", build_grounded),  # grounded answers over a model, router or cascade
    ("auto", build_auto),  # rules, intents, default: hands requests to any of the above
    ("skill:", lambda s, p: build_skills(s, p.members, p.run)),  # a prompt on a model or route
    ("agent:", lambda s, p: build_agents(s, p.members, AgentEnv(p.run, p.members.get, p.knowledge, p.screens,
                                                                p.embedder, p.mcp))),
]


def build_served(settings: Settings, fleet: Fleet, knowledge: Knowledge, screens: list[Screen],
                 mcp: McpServers | None = None) -> list[str]:
    """Step 4: each row of :data:`SERVED`, added to the fleet as it is built. Returns the names
    added."""
    built: dict[str, Member] = {}  # this generation: its members call each other, not a reload's
    run, stream = fleet.pinned(built)
    parts = RouteParts(fleet.members, run, stream, fleet.embedder, knowledge, screens, mcp)
    for prefix, build in SERVED:
        for name, backend in build(settings, parts).items():
            assert name.startswith(prefix), (prefix, name)  # a builder serves its own kind only
            fleet.add(name, backend)
            built[name] = backend
    check_targets(settings, fleet.members)
    return list(built)


def assemble(settings: Settings) -> Deployment:
    """Build a deployment from its settings; nothing is loaded or started yet."""
    fleet = Fleet()
    for name, member in build_members(settings, fleet).items():  # 1, 2
        fleet.add_model(name, member)
    knowledge = Knowledge(settings, fleet.embedder)  # 3
    deployment = Deployment(settings, fleet, knowledge)

    def knob(member: Member, value: str) -> Backend:  # name@knob: a skill's version, else a threshold
        if isinstance(member, SkillBackend):
            return member.version_of(value, deployment.settings.state_db())
        return with_knob(member, value, fleet.run)

    fleet.knob = knob
    if settings.safety.screen_passages:
        deployment.screens.append(passage_screen(settings.safety, deployment.safety_embed()))
    deployment.routes = build_served(settings, fleet, knowledge, deployment.screens, deployment.mcp)  # 4
    deployment.policy = policy_version(settings)
    deployment.skill_versions = skill_versions(fleet)
    return deployment


@asynccontextmanager
async def deployed(settings: Settings) -> AsyncIterator[Deployment]:
    """A deployment for one job (a CLI command, an eval, a bench): members start on first use,
    and everything is closed after."""
    deployment = assemble(settings)
    try:
        yield deployment
    finally:
        await deployment.close()
