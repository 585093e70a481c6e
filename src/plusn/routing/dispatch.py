"""``model="auto"``: sticky session → rules → intent → route, each stage explained.

The dispatcher is a Backend made of backends: whatever it picks (a model, a cascade) is called
with the whole conversation, and the response's ``plusn.route`` says what happened and why.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

from ..fleet.backend import (
    Backend,
    Call,
    Composite,
    Delta,
    EmbeddingBackend,
    Generation,
    GenRequest,
    Lookup,
    Usage,
    content_text,
    rough_tokens,
    sampled_member,
)
from ..telemetry.spans import span
from .cascade import MemberCall
from .estimator import prompt_of
from .intents import BACKGROUND, UNKNOWN, IntentClassifier
from .rules import Rules
from .spec import DispatchSpec, RouteSpec
from .sticky import StickyStore, conversation_key

# Stream a member by name through the fleet (its limiter held while the stream lasts).
MemberStream = Callable[[str, GenRequest], AsyncIterator[tuple[Backend, Delta]]]


class DispatchBackend(Composite):
    def __init__(self, name: str, spec: DispatchSpec, routes: dict[str, RouteSpec], default_target: str,
                 call: MemberCall, settings: Any, embedder: EmbeddingBackend | None = None,
                 served_by: dict[str, str] | None = None, stream_call: MemberStream | None = None) -> None:
        super().__init__(name, settings, spec, context=None)
        self.spec = spec
        self.routes = routes
        self.rules = Rules(spec.rules)
        self.default_route = spec.default_route or (next(iter(routes)) if routes else None)
        self.default_target = default_target
        self.sticky = StickyStore(spec.sticky_ttl_s, spec.sticky_max_sessions) if spec.sticky else None
        self._call = call
        self._stream_call = stream_call
        self._embedder = embedder
        # Grounded routes are served by their route:<name> member, which then calls the target.
        self._served_by = served_by or {}
        self.intents: IntentClassifier | None = None
        self.rng = random.Random()  # who goes to a canary (seedable in tests)
        self.embeds_query = bool(spec.intents) and embedder is not None

    async def start(self) -> None:
        """Embed the intent examples once."""
        if self.spec.intents and self._embedder is not None:
            labels, texts = [], []
            for route, examples in self.spec.intents.items():
                labels += [route] * len(examples)
                texts += examples
            background = [*BACKGROUND, *self.spec.unknown_examples]
            labels += [UNKNOWN] * len(background)
            texts += background
            vectors, _ = await self._embedder.embed(texts, kind="query")
            import numpy as np

            self.intents = IntentClassifier(labels, np.array(vectors), threshold=self.spec.intent_threshold,
                                            min_similarity=self.spec.min_similarity)

    def sampled(self, temperature: float | None, lookup: Lookup) -> bool:
        return any(sampled_member(lookup, self._target(r), temperature) for r in self.routes) or (
            not self.routes and sampled_member(lookup, self.default_target, temperature))

    async def classify(self, text: str) -> dict[str, Any] | None:
        if self.intents is None or self._embedder is None:
            return None
        import numpy as np

        # Embedding the query is nearly all of a decision's time; the embedder keeps recent ones.
        cached = self._embedder.cached(text)
        vectors, _ = await self._embedder.embed([text], kind="query")
        res = self.intents.classify(np.array(vectors[0]))
        return {"stage": "intent", "intent": res.intent, "probability": round(res.probability, 4),
                "similarity": round(res.similarity, 4), "scores": res.scores, "cached": cached}

    def _session(self, req: GenRequest) -> str | None:
        if req.session:
            return f"s:{req.session}"
        if req.kind == "chat" and len(req.messages) > 1:
            return conversation_key(req.messages[:-1])
        return None

    async def decide(self, req: GenRequest) -> tuple[str | None, str, list[dict[str, Any]], str | None]:
        """(route, target, stages, rule answer): everything before any model is called; a
        route with a canary sends that share of its traffic to the canary route."""
        with span("plusn.dispatch", **{"plusn.dispatcher": self.name}) as s:
            route, target, stages, answer = await self._decide(req)
            s.set_attributes({"plusn.route": route or "", "plusn.target": target,
                              "plusn.reason": str(stages[-1].get("reason") or stages[-1].get("stage") or "")})
        canary = self.routes[route].canary if route is not None and answer is None else None
        if canary is not None and self._draw(req, route or "") < canary.share:
            stages.append({"stage": "canary", "canary_of": route,
                           "reason": f"{canary.share:.0%} of {route!r} tries {canary.route!r}"})
            return canary.route, self._target(canary.route), stages, None
        return route, target, stages, answer

    def _draw(self, req: GenRequest, route: str) -> float:
        """Who goes to a canary: by conversation where there is one (a conversation stays on one
        side from turn to turn), else at random."""
        session = self._session(req)
        if req.kind == "chat" and req.messages and session is None:  # a first turn: its own text
            session = conversation_key(req.messages[:1])
        if session is None:
            return self.rng.random()
        digest = hashlib.sha256(f"{route}\x00{session}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    async def _decide(self, req: GenRequest) -> tuple[str | None, str, list[dict[str, Any]], str | None]:
        t0 = time.perf_counter()
        stages: list[dict[str, Any]] = []
        session = self._session(req)
        if self.sticky is not None and session is not None:
            pinned = self.sticky.get(session)
            if pinned is not None:
                stages.append({"stage": "sticky", "target": pinned,
                               "reason": "this conversation escalated earlier; it stays on that tier"})
                return None, pinned, stages, None
        last = _last_user(req)
        hit = self.rules.match(last)
        if hit is not None:
            stages.append({"stage": "rule", "rule": hit.rule, "reason": hit.why})
            if hit.answer is not None:
                return None, f"rule:{hit.rule}", stages, hit.answer
            assert hit.route is not None
            return hit.route, self._target(hit.route), stages, None
        intent = await self.classify(prompt_of(req))
        if intent is not None:
            stages.append(intent)
            if intent["intent"] != UNKNOWN:
                route = intent["intent"]
                return route, self._target(route), stages, None
        route = self.default_route
        target = self._target(route) if route is not None else self.default_target
        stages.append({"stage": "default", "reason": "no rule matched and the intent is unknown"
                       if intent is not None else "no rule matched"})
        stages[-1]["decided_ms"] = round((time.perf_counter() - t0) * 1000, 3)
        return route, target, stages, None

    def _target(self, route: str) -> str:
        return self._served_by.get(route) or self.routes[route].target()

    def _block(self, route: str | None, target: str, stages: list[dict[str, Any]]) -> dict[str, Any]:
        block: dict[str, Any] = {"dispatcher": self.name, "route": route, "target": target, "stages": stages}
        if route is not None:
            block["needs_retrieval"] = self.routes[route].needs_retrieval
        block["reason"] = stages[-1].get("reason") or f"intent {stages[-1].get('intent')!r}"
        return block

    @staticmethod
    def _merge(block: dict[str, Any], inner: dict[str, Any] | None) -> dict[str, Any]:
        inner = dict(inner or {})
        if "stages" in inner:  # the cascade's own stages, kept apart from the dispatch stages
            block["cascade_stages"] = inner.pop("stages")
        block.update({k: v for k, v in inner.items() if k not in block})
        return block

    @staticmethod
    def _rule_answer(target: str, answer: str, block: dict[str, Any]) -> Generation:
        usage = Usage(0, len(rough_tokens(answer)))
        return Generation(answer, "stop", usage, target, [Call(target, usage, 0.0, "rule")], block)

    async def generate(self, req: GenRequest) -> Generation:
        route, target, stages, answer = await self.decide(req)
        block = self._block(route, target, stages)
        if answer is not None:  # a rule answered: no model is called
            return self._rule_answer(target, answer, block)
        gen, backend = await self._call(target, req)
        self._merge(block, gen.route)
        calls = gen.calls or [backend.call_of(gen.usage)]
        self._remember(req, gen, target, stages)
        return Generation(gen.text, gen.finish_reason, gen.usage, gen.model, calls, block, gen.tool_calls)

    async def stream(self, req: GenRequest) -> AsyncGenerator[Delta, None]:
        """The chosen route's own stream, passed through as it arrives (the decision comes first)."""
        if self._stream_call is None:
            async for d in super().stream(req):
                yield d
            return
        route, target, stages, answer = await self.decide(req)
        block = self._block(route, target, stages)
        if answer is not None:
            gen = self._rule_answer(target, answer, block)
            yield Delta(gen.text, route=block)
            yield Delta("", "stop", gen.usage, calls=gen.calls, route=block)
            return
        parts: list[str] = []
        first = True
        inner = self._stream_call(target, req)
        try:
            async for backend, d in inner:
                self._merge(block, d.route)
                # the model that answers: a cascade names it; after a fallback, the resilience layer does
                served = ((d.route or {}).get("resilience") or {}).get("served_by")
                block["answered_by"] = served or block.get("answered_by") or backend.name
                parts.append(d.text)
                if d.usage is None:
                    # The route block rides on the first delta, where the gateway reads it.
                    yield Delta(d.text, d.finish_reason, route=block if first else None, tool_calls=d.tool_calls)
                    first = False
                    continue
                calls = d.calls or [backend.call_of(d.usage)]
                if calls:
                    block["answered_by"] = calls[-1].model
                gen = Generation("".join(parts), d.finish_reason or "stop", d.usage, block["answered_by"], calls, block)
                self._remember(req, gen, target, stages)
                yield Delta(d.text, d.finish_reason, d.usage, calls=calls, route=block, tool_calls=d.tool_calls)
        finally:
            # Closed here, not by the loop's finalizer: the target's slot frees at once on a disconnect.
            await inner.aclose()  # type: ignore[attr-defined]

    def _remember(self, req: GenRequest, gen: Generation, target: str, stages: list[dict[str, Any]]) -> None:
        """Pin the conversation when it escalated (or was already pinned)."""
        if self.sticky is None or req.kind != "chat":
            return
        pinned = stages and stages[0]["stage"] == "sticky"
        escalated = int((gen.route or {}).get("escalations", 0)) > 0
        if not (pinned or escalated):
            return
        tier = target if pinned else gen.model
        self.sticky.put(conversation_key([*req.messages, {"role": "assistant", "content": gen.text}]), tier)
        if req.session:
            self.sticky.put(f"s:{req.session}", tier)


def _last_user(req: GenRequest) -> str:
    if req.kind == "completion":
        return req.prompt
    users = [content_text(m.get("content")) for m in req.messages if m.get("role") == "user"]
    return users[-1] if users else ""


def first_chat_model(members: dict[str, Backend]) -> str | None:
    for name, b in members.items():
        if b.capabilities.chat:
            return name
    return None
