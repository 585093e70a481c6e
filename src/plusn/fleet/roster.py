"""The fleet: the registry of a deployment's members (models and what is built from them), each
with its limiter."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from ..config import Settings
from ..errors import InvalidRequest, ModelNotFound
from .backend import (
    Backend,
    Delta,
    EmbeddingBackend,
    Generation,
    GenRequest,
    Member,
    RunMember,
    StreamMember,
    media_part,
    unsupported,
)
from .chat_text import media_refused
from .limiter import Limiter

log = logging.getLogger("plusn.fleet")


@dataclass
class FleetContext:
    """What a backend may need from the deployment (paths), without reaching for globals."""

    settings: Settings


# ``name@knob`` → the member ``name`` with its knob set (a threshold, a version): routing and
# skills know what a knob means; the fleet only keeps the result.
Knob = Callable[[Member, str], Backend]


def check_supported(name: str, member: Member, req: GenRequest) -> None:
    """A 400 naming the model and the capability when ``req`` needs one it lacks: a model that
    cannot call tools or see images must never answer as if it had read them."""
    lacking = unsupported(member.capabilities, req)
    if lacking is None:
        return
    if lacking[0] == "tools":
        raise InvalidRequest(
            f"model {name!r} cannot call tools (its capabilities have no 'tools'); choose a model with "
            "tools in /v1/models, or send tool_choice \"none\" to have the tools ignored",
            param="tools", code="unsupported_for_model")
    raise media_refused(name, *(media_part(req.messages) or ("a message", "unknown")))


class Fleet:
    """The registry of a deployment's members: it looks them up, starts them once, runs and
    streams them while holding one of their slots, and holds their limiters. What the members
    are, and what is built from them, is assembled elsewhere (``plusn.assemble``)."""

    MAX_KNOBBED = 256  # routes with a threshold or version in their name (router:x@0.8), kept at once

    def __init__(self) -> None:
        self.members: dict[str, Member] = {}
        self.limiters: dict[str, Limiter] = {}
        self.created = int(time.time())
        self.knob: Knob | None = None
        self._started: set[str] = set()
        self._start_locks: dict[str, asyncio.Lock] = {}

    def add_model(self, name: str, member: Member) -> None:
        """Add a model, queued by its own settings' limits."""
        ms = member.settings
        self.members[name] = member
        self.limiters[name] = Limiter(name, ms.max_concurrency, ms.max_queue, ms.queue_timeout_s)
        self._start_locks[name] = asyncio.Lock()

    def remove(self, name: str) -> None:
        """Forget a member (a rebuilt route replaces it); requests holding it finish as they are."""
        del self.members[name], self.limiters[name], self._start_locks[name]
        self._started.discard(name)
        for knobbed in [n for n in self.members if n.startswith(name + "@")]:
            self.remove(knobbed)

    def add(self, name: str, backend: Member) -> None:
        """Add a composite member (its own members do their own queueing)."""
        self.members[name] = backend
        self.limiters[name] = Limiter(name, 1_000_000, 0, 1.0)
        self._start_locks[name] = asyncio.Lock()

    async def run(self, name: str, req: GenRequest) -> tuple[Generation, Backend]:
        """Call a member by name, holding one of its slots: how composites reach members."""
        backend = await self.backend(name, req.kind, req)
        async with self.limiters[name].slot():
            return await backend.generate(req), backend

    async def run_stream(self, name: str, req: GenRequest) -> AsyncGenerator[tuple[Backend, Delta], None]:
        """Stream a member by name, holding one of its slots until the stream ends."""
        backend = await self.backend(name, req.kind, req)
        async with self.limiters[name].slot():
            async for delta in backend.stream(req):
                yield backend, delta

    def pinned(self, own: Mapping[str, Member]) -> tuple[RunMember, StreamMember]:
        """``run`` and ``run_stream`` for members built together (one generation of routes): a
        name one of them calls resolves to its own generation's member even after a reload has
        replaced it, so a request finishes on the policy it started with. (Models are never
        replaced, and composites queue nowhere, so the old member is called directly.)"""

        async def run(name: str, req: GenRequest) -> tuple[Generation, Backend]:
            member = own.get(name)
            if member is None or self.members.get(name) is member:
                return await self.run(name, req)
            assert isinstance(member, Backend)
            check_supported(name, member, req)
            return await member.generate(req), member

        async def run_stream(name: str, req: GenRequest) -> AsyncGenerator[tuple[Backend, Delta], None]:
            member = own.get(name)
            if member is None or self.members.get(name) is member:
                async for item in self.run_stream(name, req):
                    yield item
                return
            assert isinstance(member, Backend)
            check_supported(name, member, req)
            async for delta in member.stream(req):
                yield member, delta

        return run, run_stream

    async def start(self) -> list[str]:
        """Start the members marked ``preload``; return their names."""
        loaded = []
        for name, member in self.members.items():
            if member.settings.preload:
                await self._ensure_started(name)
                loaded.append(name)
        return loaded

    async def _ensure_started(self, name: str) -> Member:
        member = self.members[name]
        if name in self._started:
            return member
        async with self._start_locks[name]:
            if name not in self._started:
                t0 = time.perf_counter()
                await member.start()
                self._started.add(name)
                log.info("loaded %s in %.2fs", name, time.perf_counter() - t0)
        return member

    def limiter_of(self, backend: Member) -> Limiter:
        """The limiter of a member looked up earlier (``backend`` may be it behind the guards,
        under its name). A reload may have removed a route since, while a request in flight still
        holds it: composites queue nowhere, so it gets an unbounded one. Models are never removed."""
        limiter = self.limiters.get(backend.name)
        return limiter if limiter is not None else Limiter(backend.name, 1_000_000, 0, 1.0)

    def idle(self, name: str) -> bool:
        """Whether ``name`` is loaded and has a free slot with nobody waiting: work that is no
        client's (shadow calls) goes only there, so it never queues ahead of a client."""
        limiter = self.limiters.get(name)
        return (name in self._started and limiter is not None and limiter.queued == 0
                and limiter.running < limiter.max_concurrency)

    def slot(self, name: str) -> AbstractAsyncContextManager[None]:
        """One of ``name``'s slots, for a caller that streams from its backend itself."""
        return self.limiters[name].slot()

    async def close(self) -> None:
        for name in list(self._started):
            try:
                await self.members[name].close()
            except Exception:  # closing must go on for the others
                log.exception("error closing %s", name)
        self._started.clear()

    def names(self) -> list[str]:
        return list(self.members)

    def _lookup(self, name: str) -> Member:
        member = self.members.get(name)
        if member is None and "@" in name and self.knob is not None:
            base, _, knob = name.rpartition("@")
            if isinstance(self.members.get(base), Backend):
                # Clients choose these names, so keep only the most recent few: a stream of
                # made-up thresholds must not grow the fleet without end.
                knobbed = [n for n in self.members if "@" in n]
                if len(knobbed) >= self.MAX_KNOBBED:
                    for old in knobbed[: len(knobbed) - self.MAX_KNOBBED + 1]:
                        if self.limiters[old].running == 0:
                            del self.members[old], self.limiters[old], self._start_locks[old]
                            self._started.discard(old)
                self.add(name, self.knob(self.members[base], knob))
                member = self.members[name]
        if member is None:
            available = ", ".join(self.names()) or "(none)"
            raise ModelNotFound(
                f"The model {name!r} does not exist. Available models: {available}",
                param="model",
            )
        return member

    def member(self, name: str) -> Member:
        """The member serving ``name`` (not started); ModelNotFound names the available ones."""
        return self._lookup(name)

    async def backend(self, name: str, kind: str, req: GenRequest | None = None) -> Backend:
        """The started generation backend for ``name`` that can serve ``kind`` requests (and
        ``req``, when given: its tools and image parts)."""
        member = self._lookup(name)
        caps = member.capabilities
        if not isinstance(member, Backend):
            raise InvalidRequest(
                f"model {name!r} is an embedding model; use /v1/embeddings", param="model"
            )
        if kind == "chat" and not caps.chat:
            raise InvalidRequest(
                f"model {name!r} is a base model without a chat template; "
                "send it a prompt on /v1/completions",
                param="model",
                code="unsupported_for_model",
            )
        if kind == "completion" and not caps.completion:
            raise InvalidRequest(
                f"model {name!r} serves chat only; use /v1/chat/completions",
                param="model",
                code="unsupported_for_model",
            )
        if req is not None:
            check_supported(name, member, req)
        await self._ensure_started(name)
        return member

    async def embedder(self, name: str) -> EmbeddingBackend:
        member = self._lookup(name)
        if not isinstance(member, EmbeddingBackend):
            raise InvalidRequest(f"model {name!r} does not make embeddings", param="model")
        await self._ensure_started(name)
        return member

    @functools.cached_property
    def _reference(self) -> Backend | None:
        priced = [m for m in self.members.values()
                  if isinstance(m, Backend) and (m.settings.price.input_per_1k or m.settings.price.output_per_1k)]
        if not priced:
            return None
        return max(priced, key=lambda m: m.settings.price.input_per_1k + m.settings.price.output_per_1k)

    def reference(self) -> Backend | None:
        """The most expensive generation model (the "1" of 1+N): savings are measured against it.
        Computed once: only models carry prices, and the models do not change while serving."""
        return self._reference

    def describe_loaded(self) -> dict[str, bool]:
        return {name: name in self._started for name in self.members}

    def describe(self) -> list[dict[str, Any]]:
        """Entries for ``/v1/models``: OpenAI's fields plus what plusn knows of each model."""
        out = []
        for name, member in self.members.items():
            ms = member.settings
            caps = ms.capabilities.model_dump()
            kinds = [k for k in ("chat", "completion", "embeddings") if caps[k]]
            out.append(
                {
                    "id": name,
                    "object": "model",
                    "created": self.created,
                    "owned_by": "plusn",
                    "plusn": {
                        "type": ms.type,
                        "description": ms.description,
                        "endpoints": kinds,
                        "base_model": caps["completion"] and not caps["chat"] and not caps["embeddings"],
                        "capabilities": caps,
                        "price": ms.price.model_dump(),
                        "max_concurrency": ms.max_concurrency,
                        "loaded": name in self._started,
                        "circuit": getattr(member, "circuit", lambda: None)(),
                    },
                }
            )
        return out
