"""The builders of the routes a deployment serves: routers, cascades, grounded routes and ``auto``
(``assemble.SERVED`` lists them in build order)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import Capabilities, ModelSettings, Settings
from ..errors import ConfigError, InvalidRequest
from ..fleet.backend import Backend, Embedder, EmbeddingBackend, Member, RunMember, StreamMember, query_embed
from ..knowledge.catalog import Knowledge
from ..knowledge.grounding import GroundedBackend, Screen
from ..mcp.client import McpServers
from .cascade import CascadeBackend
from .dispatch import DispatchBackend, first_chat_model
from .router import LearnedRouterBackend
from .spec import RouterSpec
from .verifiers import AgreementVerifier, BayesVerifier, LogprobVerifier, VoteVerifier


def _settings(kind: str, description: str, members: list[Member], tools: bool = False) -> ModelSettings:
    """A composite's settings: what every member can do. ``tools``: whether the composite passes
    tool calls through at all (then it can when every member can)."""
    chat = all(m.capabilities.chat for m in members) if members else True
    completion = all(m.capabilities.completion for m in members) if members else False
    langs = sorted({lang for m in members for lang in m.capabilities.languages})
    caps = Capabilities(chat=chat, completion=completion, languages=langs or ["en"],
                        remote=any(m.capabilities.remote for m in members),
                        context_window=min((m.capabilities.context_window for m in members), default=4096),
                        tools=tools and bool(members) and all(m.capabilities.tools for m in members),
                        vision=bool(members) and all(m.capabilities.vision for m in members))
    return ModelSettings(type=kind, description=description, capabilities=caps)


@dataclass
class RouteParts:
    """What routes are built from: the members so far by name (a live view: each kind sees the
    kinds built before it), calls to them, the embedding models, and for grounded routes the
    knowledge and the passage screens; for agents the sessions to MCP servers."""

    members: Mapping[str, Member]
    run: RunMember
    stream: StreamMember
    embedder: Embedder
    knowledge: Knowledge
    screens: list[Screen]
    # the sessions to MCP servers, for the agents' mcp tools (kept across a rebuild)
    mcp: McpServers | None = None


def build_routers(s: Settings, p: RouteParts) -> dict[str, Backend]:
    """``router:<name>`` for each learned router."""
    return {f"router:{name}": build_router(s, p, name, router) for name, router in s.routers.items()}


def build_cascades(s: Settings, p: RouteParts) -> dict[str, Backend]:
    """``cascade:<name>`` for each cascade; one may start with a router's estimate."""
    out: dict[str, Backend] = {}
    for name, spec in s.cascades.items():
        members = [p.members[m] for m in spec.members()]
        reference = spec.reference()
        start = None
        if spec.start is not None:
            start_router = p.members[f"router:{spec.start.router}"]
            assert isinstance(start_router, LearnedRouterBackend)  # checked by the config
            start = start_router.estimator
        out[f"cascade:{name}"] = CascadeBackend(
            f"cascade:{name}", spec, p.run,
            _settings("cascade", spec.description or f"cascade over {', '.join(spec.members())}", members),
            reference_price=p.members[reference].settings.price if reference else None, start=start)
    return out


def build_grounded(s: Settings, p: RouteParts) -> dict[str, Backend]:
    """``route:<name>`` for each route that answers from knowledge (a knowledge base, SQL or
    the date), over the model or route it names."""
    out: dict[str, Backend] = {}
    for name, route in s.routes.items():
        if route.grounded(s.dispatch.knowledge):
            target = p.members.get(route.target())
            out[f"route:{name}"] = GroundedBackend(
                f"route:{name}", route, route.target(), route.kb(s.dispatch.knowledge), p.knowledge, p.run,
                _settings("grounded", route.description or f"{name}: grounded answers from {route.target()}",
                          [target] if target is not None else []), screens=p.screens)
    return out


def build_auto(s: Settings, p: RouteParts) -> dict[str, Backend]:
    """``auto``: rules, then intents, then the default route; absent when there is nothing to
    dispatch to."""
    generators = {n: m for n, m in p.members.items() if isinstance(m, Backend)}
    default_target = first_chat_model(generators)
    if not s.routes and default_target is None:
        return {}
    grounded = {n: f"route:{n}" for n in s.routes if f"route:{n}" in p.members}  # route → who serves it
    embedder = p.members.get(s.dispatch.intent_model) if s.dispatch.intents else None
    # What auto can do is what every model it may hand a request to can do (e.g. enforce a
    # JSON schema by grammar); a route to a skill or an agent counts as unknown, so as no.
    names = {grounded.get(n) or r.target() for n, r in s.routes.items()} | {default_target or ""}
    targets = [p.members.get(n) for n in names if n]
    reachable = [t for t in targets if t is not None]
    caps = _settings("dispatcher", "rules, then intents, then the default route", [])
    caps.capabilities.structured_output = bool(reachable) and len(reachable) == len(targets) and all(
        t.capabilities.structured_output for t in reachable)
    # Tools and images go on to the route chosen, which must take them (else a 400 names it), so
    # auto takes them when any route it may choose does.
    caps.capabilities.tools = any(t.capabilities.tools for t in reachable)
    caps.capabilities.vision = any(t.capabilities.vision for t in reachable)
    return {"auto": DispatchBackend(
        "auto", s.dispatch, s.routes, default_target or "", p.run, caps,
        embedder=embedder if isinstance(embedder, EmbeddingBackend) else None, served_by=grounded,
        stream_call=p.stream,
    )}


def check_targets(s: Settings, served: Mapping[str, Member]) -> None:
    """Every route to a skill or an agent names one that was built (they come after routes)."""
    for name, route in s.routes.items():
        dest = route.target()
        if dest.startswith(("skill:", "agent:")) and dest not in served:
            kind, _, what = dest.partition(":")
            raise ConfigError(f"unknown {kind} {what!r}", file=s.source, key=f"routes.{name}.{kind}")


def build_router(s: Settings, p: RouteParts, name: str, spec: RouterSpec) -> LearnedRouterBackend:
    """The router from its fitted weights (nothing is trained here); paced when it has a budget."""
    members = [p.members[m] for m in spec.models()]
    reference = None
    if spec.budget is not None:
        reference = spec.budget.reference or max(spec.models(), key=lambda m: spec.costs.get(m, 0.0))
    try:
        return LearnedRouterBackend(
            f"router:{name}", spec, p.run,
            _settings("router", spec.description or f"learned router over {', '.join(m.name for m in members)}",
                      members, tools=True),
            embed=query_embed(p.embedder, spec.embedding_model),
            reference_price=p.members[reference].settings.price if reference else None)
    except ValueError as exc:
        raise ConfigError(str(exc), file=s.source, key=f"routers.{name}") from None


def with_knob(base: Member, knob: str, run: RunMember) -> Backend:
    """``cascade:name@X`` / ``router:name@X``: the same route with its threshold set to X (a
    fixed threshold: a cascade's budget pacing is off)."""
    if not isinstance(base, (LearnedRouterBackend, CascadeBackend)):
        raise InvalidRequest(f"{base.name!r} has no threshold to set with '@'", param="model")
    try:
        value = float(knob)
    except ValueError:
        raise InvalidRequest(f"the threshold after '@' must be a number, not {knob!r}", param="model") from None
    if isinstance(base, LearnedRouterBackend):
        if not 0 < value < 1:
            raise InvalidRequest("a router's threshold is a probability between 0 and 1", param="model")
        return base.with_threshold(f"{base.name}@{knob}", value)
    v: Any = base.spec.verifier
    if isinstance(v, BayesVerifier):
        if not 0 <= value <= 1:
            raise InvalidRequest("a bayes verifier's threshold is a probability between 0 and 1", param="model")
        v = v.model_copy(update={"threshold": value})
    elif isinstance(v, VoteVerifier):
        v = v.model_copy(update={"threshold": value})
    elif isinstance(v, AgreementVerifier):
        v = v.model_copy(update={"min_votes": max(1, int(value))})
    elif isinstance(v, LogprobVerifier):
        v = v.model_copy(update={"min_logprob": value})
    else:
        raise InvalidRequest(f"the {v.type} verifier of {base.name!r} has no threshold", param="model")
    spec = base.spec.model_copy(update={"verifier": v, "budget": None})
    return CascadeBackend(f"{base.name}@{knob}", spec, run, base.settings, start=base.starter)
