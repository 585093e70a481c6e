"""The input guard and the passage screen, both on the shipped attack detector.

The detector loads once per process (about 2 MB) on first use; a first-stage check costs
about a tenth of a millisecond.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..errors import PlusnError
from ..fleet.backend import Backend, Composite, Generation, GenRequest, Usage, content_text
from ..knowledge.chunker import join_sentences, sentences
from ..telemetry.spans import span
from .audit import note
from .detector import Detector, Verdict
from .output import Categories, OutputGuard

if TYPE_CHECKING:
    from ..config import SafetySettings


class ContentBlocked(PlusnError):
    """Input the safety policy blocks (HTTP 400, OpenAI's content-policy error type)."""

    status = 400
    type = "invalid_request_error"
    code = "content_policy_violation"


@functools.lru_cache(maxsize=1)
def detector() -> Detector:
    return Detector.load()


def last_user_text(req: GenRequest) -> str:
    if req.kind == "completion":
        return req.prompt
    users = [content_text(m.get("content")) for m in req.messages if m.get("role") == "user"]
    return users[-1] if users else ""


Embed = Callable[[str], Awaitable[Any]]


async def verdict(text: str, policy: SafetySettings, embed: Embed | None) -> Verdict:
    """Both stages where the first is borderline and an embedder is at hand, else the first."""
    det = detector()
    first = det.score(text)
    if embed is not None and det.needs_second(text, first):
        return det.check(text, policy.threshold, vector=await embed(text[:2000]), first=first)
    return det.check(text, policy.threshold, first=first)


async def check_input(req: GenRequest, policy: SafetySettings, embed: Embed | None = None) -> str | None:
    """Apply the input policy to a request. Returns a refusal to answer with, raises
    :class:`ContentBlocked`, or returns None to serve the request."""
    if policy.input == "allow":
        return None
    text = last_user_text(req)
    if not text.strip():
        return None
    with span("plusn.safety.input") as s:
        v = await verdict(text, policy, embed)
        s.set_attributes({"plusn.safety.score": v.score, "plusn.safety.attack": v.attack,
                          "plusn.safety.action": ("blocked" if policy.input == "block" else "flagged") if v.attack
                          else "allowed"})
    if not v.attack:
        return None
    action = "blocked" if policy.input == "block" else "flagged"
    note("input", category="attack", action=action, score=v.score, detail={"language": v.language,
                                                                          "threshold": v.threshold, "stages": v.stages})
    if policy.input != "block":
        return None
    if policy.refusal:
        return policy.refusal
    raise ContentBlocked(f"the request was blocked by the safety policy (category: attack, score {v.score:.2f})",
                         param="messages")


def passage_screen(policy: SafetySettings, embed: Embed | None = None) -> Callable[[str], Awaitable[str | None]]:
    """A screen for retrieved passages: keep out text that reads as injected instructions."""

    async def screen(text: str) -> str | None:
        # An instruction hidden in a long passage is diluted in it: judge the passage by its most
        # suspicious stretch (one or two sentences), found by the cheap first stage.
        window = max(windows(text), key=lambda w: detector().score(w), default=text)
        with span("plusn.safety.passage") as s:
            v = await verdict(window, policy, embed)
            s.set_attributes({"plusn.safety.score": v.score, "plusn.safety.action": "kept_out" if v.attack else "allowed"})
        if not v.attack:
            return None
        note("passage", category="injection", action="kept_out", score=v.score)
        return f"looks like injected instructions (score {v.score:.2f})"

    return screen


class _Refusal(Composite):
    """Answers with the configured refusal in the requested model's place; no model is called,
    so nothing is used or charged."""

    def __init__(self, inner: Backend, text: str) -> None:
        super().__init__(inner.name, inner.settings, None, context=None)
        self.text = text

    async def generate(self, req: GenRequest) -> Generation:
        return Generation(self.text, "content_filter", Usage(0, 0), self.name, [],
                          {"safety": {"input": "blocked", "category": "attack", "refused": True}})


def refusing(backend: Backend, text: str) -> Backend:
    return _Refusal(backend, text)


@functools.lru_cache(maxsize=8)
def _categories(key: str) -> Any:
    import json

    return Categories(json.loads(key))


def guard_output(backend: Backend, policy: SafetySettings) -> Backend:
    """The backend with its replies checked against the output categories."""
    import json

    return OutputGuard(backend, _categories(json.dumps(policy.categories, sort_keys=True)), policy.output)


def input_policy(settings: Any, model: str, who: Any) -> SafetySettings:
    """The input policy for a request: the key's own, else the route's (for ``route:<name>``),
    else the config's."""
    policy: SafetySettings = settings.safety
    action = getattr(who, "safety", None)
    if action is None and model.startswith("route:"):
        route = settings.routes.get(model.removeprefix("route:"))
        action = route.safety if route is not None else None
    return policy.model_copy(update={"input": action}) if action else policy


def windows(text: str, size: int = 2) -> list[str]:
    """The passage's stretches of one and of ``size`` consecutive sentences."""
    parts = sentences(text) or [text]
    out = list(parts)
    out += [join_sentences(parts[i : i + size]) for i in range(max(0, len(parts) - size + 1))]
    return out
