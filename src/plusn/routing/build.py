"""Build the composite routes of a fleet from config: ``cascade:<name>`` and ``auto``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import Capabilities, ModelSettings
from ..errors import InvalidRequest
from ..fleet.base import Backend, EmbeddingBackend, Member
from .cascade import CascadeBackend
from .dispatch import DispatchBackend, first_chat_model
from .verifiers import AgreementVerifier, LogprobVerifier, VoteVerifier

if TYPE_CHECKING:
    from ..fleet.fleet import Fleet


def _settings(kind: str, description: str, members: list[Member]) -> ModelSettings:
    chat = all(m.capabilities.chat for m in members) if members else True
    completion = all(m.capabilities.completion for m in members) if members else False
    langs = sorted({lang for m in members for lang in m.capabilities.languages})
    caps = Capabilities(chat=chat, completion=completion, languages=langs or ["en"],
                        remote=any(m.capabilities.remote for m in members),
                        context_window=min((m.capabilities.context_window for m in members), default=4096))
    return ModelSettings(type=kind, description=description, capabilities=caps)


def build_composites(fleet: Fleet) -> dict[str, Backend]:
    s = fleet.settings
    out: dict[str, Backend] = {}
    for name, spec in s.cascades.items():
        members = [fleet.members[m] for m in spec.members()]
        out[f"cascade:{name}"] = CascadeBackend(
            f"cascade:{name}", spec, fleet.run,
            _settings("cascade", spec.description or f"cascade over {', '.join(spec.members())}", members))
    grounded: dict[str, str] = {}  # route → the member that serves it
    for name, route in s.routes.items():
        if route.grounded(s.dispatch.knowledge):
            from ..knowledge.grounding import GroundedBackend

            target = fleet.members.get(route.target()) or out.get(route.target())
            out[f"route:{name}"] = GroundedBackend(
                f"route:{name}", route, route.target(), route.kb(s.dispatch.knowledge), fleet.knowledge, fleet.run,
                _settings("grounded", route.description or f"{name}: grounded answers from {route.target()}",
                          [target] if target is not None else []), screens=fleet.screens)
            grounded[name] = f"route:{name}"
    generators = {n: m for n, m in fleet.members.items() if isinstance(m, Backend)}
    default_target = first_chat_model(generators)
    if s.routes or default_target is not None:
        embedder = fleet.members.get(s.dispatch.intent_model) if s.dispatch.intents else None
        out["auto"] = DispatchBackend(
            "auto", s.dispatch, s.routes, default_target or "", fleet.run,
            _settings("dispatcher", "rules, then intents, then the default route", []),
            embedder=embedder if isinstance(embedder, EmbeddingBackend) else None, served_by=grounded,
        )
    return out


def with_knob(base: Member, knob: str, fleet: Fleet) -> Backend:
    """``cascade:name@X``: the same cascade with its verifier's threshold set to X."""
    if not isinstance(base, CascadeBackend):
        raise InvalidRequest(f"{base.name!r} has no threshold to set with '@'", param="model")
    try:
        value = float(knob)
    except ValueError:
        raise InvalidRequest(f"the threshold after '@' must be a number, not {knob!r}", param="model") from None
    v: Any = base.spec.verifier
    if isinstance(v, VoteVerifier):
        v = v.model_copy(update={"threshold": value})
    elif isinstance(v, AgreementVerifier):
        v = v.model_copy(update={"min_votes": max(1, int(value))})
    elif isinstance(v, LogprobVerifier):
        v = v.model_copy(update={"min_logprob": value})
    else:
        raise InvalidRequest(f"the {v.type} verifier of {base.name!r} has no threshold", param="model")
    spec = base.spec.model_copy(update={"verifier": v})
    return CascadeBackend(f"{base.name}@{knob}", spec, fleet.run, base.settings)
