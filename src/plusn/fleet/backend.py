"""The Backend contract: everything that answers is a Backend.

A backend takes a :class:`GenRequest` (chat messages or a plain prompt) and gives either a
complete :class:`Generation` or a stream of :class:`Delta` chunks whose last one carries the
usage. Routers and cascades (later) are backends made of backends, so they keep this shape.
One abstract method, :meth:`Backend.stream`, is all a new backend has to write.
"""

from __future__ import annotations

import abc
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..config import Capabilities, ModelSettings
from .tool_calls import call_deltas


def content_text(content: Any) -> str:
    """The text of a message's content, which may be a string or a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


# Content parts a text model can read; any other kind (image_url, input_audio, file...) is media.
TEXT_PARTS = frozenset({"text", "input_text", "output_text", "refusal"})


def media_part(messages: list[dict[str, Any]]) -> tuple[str, str] | None:
    """Where the first part that is not text is, and its type: ``("messages[1].content[0]",
    "image_url")``; None when every part is text."""
    for i, m in enumerate(messages):
        content = m.get("content")
        if isinstance(content, list):
            for j, p in enumerate(content):
                kind = p.get("type", "text") if isinstance(p, dict) else "text"
                if kind not in TEXT_PARTS:
                    return f"messages[{i}].content[{j}]", str(kind)
    return None


def needs_tools(req: GenRequest) -> bool:
    """Whether a request may be answered with a tool call (tools given, tool_choice not none)."""
    return bool(req.extra.get("tools")) and req.extra.get("tool_choice") != "none"


def unsupported(caps: Capabilities, req: GenRequest) -> tuple[str, str] | None:
    """(the capability ``req`` needs and ``caps`` lacks, the parameter that needs it), or None."""
    if req.kind != "chat":
        return None
    if not caps.tools and needs_tools(req):
        return "tools", "tools"
    if not caps.vision and media_part(req.messages) is not None:
        return "vision", "messages"
    return None


def merge_tool_deltas(calls: dict[int, dict[str, Any]], fragments: list[dict[str, Any]]) -> None:
    """Add a stream's tool-call fragments to ``calls`` (by index), as OpenAI clients do: the id,
    type and name arrive once, the arguments in pieces."""
    for f in fragments:
        call = calls.setdefault(int(f.get("index", 0)), {"id": "", "type": "function",
                                                          "function": {"name": "", "arguments": ""}})
        if f.get("id"):
            call["id"] = f["id"]
        if f.get("type"):
            call["type"] = f["type"]
        fn = f.get("function") or {}
        if fn.get("name"):
            call["function"]["name"] += fn["name"]
        if fn.get("arguments"):
            call["function"]["arguments"] += fn["arguments"]


_TOKEN = re.compile(r"[\u3400-\u9fff]|\s*[^\s\u3400-\u9fff]+|\s+")


def rough_tokens(text: str) -> list[str]:
    """Split text into word-ish pieces (one per CJK character) that join back to the text;
    a token estimate where no tokenizer is at hand."""
    return _TOKEN.findall(text)


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(slots=True)
class GenRequest:
    """A generation request, already validated at the edge."""

    kind: Literal["chat", "completion"]
    messages: list[dict[str, Any]] = field(default_factory=list)
    prompt: str = ""
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    seed: int | None = None
    # OpenAI's response_format as sent ({"type": "json_object"} or {"type": "json_schema", ...}).
    response_format: dict[str, Any] | None = None
    # Anything else the client sent that a pass-through backend may forward (tools, n, ...).
    extra: dict[str, Any] = field(default_factory=dict)
    # The client's conversation id (x-plusn-session), for sticky routing.
    session: str | None = None
    # Who is asking (the API key's id; None when the gateway is open): a paused workflow belongs
    # to its caller, so another caller cannot resume or read it.
    user: str | None = None
    # Who is asking, as access tokens ("key:<name>", "team:<team>"): knowledge-base documents with
    # an access list are found only by the viewers it names (plusn.knowledge).
    viewer: frozenset[str] = frozenset()
    # Models that already failed this request: fallbacks skip them (so fallbacks cannot loop).
    tried: frozenset[str] = frozenset()


@dataclass(slots=True)
class Call:
    """One call a composite backend (router, cascade) made to a member, as metered."""

    model: str
    usage: Usage
    cost: float
    note: str = ""  # e.g. "accepted", "escalated: answers disagree"

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, **self.usage.as_dict(), "cost": round(self.cost, 10), "note": self.note}


@dataclass(slots=True)
class Generation:
    """A complete answer. Composite backends list their member calls and their route."""

    text: str
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    calls: list[Call] = field(default_factory=list)
    route: dict[str, Any] | None = None
    # OpenAI-style tool calls ({"id", "type": "function", "function": {"name", "arguments"}}) from
    # a model that supports `tools`; agents read them, the text protocol serves the others.
    tool_calls: list[dict[str, Any]] | None = None


@dataclass(slots=True)
class Delta:
    """One chunk of a stream. The last chunk has ``finish_reason`` and ``usage`` set
    (and, from a composite backend, its ``calls`` and ``route``)."""

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    calls: list[Call] | None = None
    route: dict[str, Any] | None = None
    # Tool-call fragments as OpenAI streams them ({"index", "id"?, "type"?, "function": {"name"?,
    # "arguments"?}}); :func:`merge_tool_deltas` puts them together.
    tool_calls: list[dict[str, Any]] | None = None


class Member:
    """What every fleet member shares: a name, its settings, a start and a close."""

    #: The extra to install when this backend's dependencies are missing, e.g. "local".
    extra: str | None = None
    #: Backend-specific settings model (pydantic) for the keys beyond ModelSettings.
    Options: Any = None
    #: Resilience defaults (docs/resilience.md): an in-process model's errors are not transient,
    #: a server's often are.
    default_retries: int = 0
    default_breaker: bool = False

    def __init__(self, name: str, settings: ModelSettings, options: Any, *, context: Any) -> None:
        self.name = name
        self.settings = settings
        self.options = options
        self.context = context

    @property
    def capabilities(self) -> Capabilities:
        return self.settings.capabilities

    @classmethod
    def capability_defaults(cls, configured: Capabilities) -> dict[str, bool]:
        """What this type can do where the config leaves it unsaid (``tools``, ``vision``)."""
        return {}

    @classmethod
    def check_dependencies(cls) -> None:
        """Raise :class:`~plusn.errors.MissingDependency` if an optional import is missing."""

    async def start(self) -> None:
        """Load weights, open pools. Called once from the app's lifespan."""

    async def close(self) -> None:
        """Release what :meth:`start` opened."""


# A fleet member by name (Fleet.member).
Lookup = Callable[[str], "Member"]


class Backend(Member, abc.ABC):
    """A model (or anything that answers like one) in the fleet."""

    #: Whether answering embeds the question anyway (intents, retrieval): the response cache's
    #: meaning match then costs nothing more, so it is on by default.
    embeds_query: bool = False

    @abc.abstractmethod
    def stream(self, req: GenRequest) -> AsyncGenerator[Delta, None]:
        """Yield chunks; the last one carries ``finish_reason`` and ``usage``."""

    async def generate(self, req: GenRequest) -> Generation:
        """A complete answer; by default the stream, collected."""
        parts: list[str] = []
        gen = Generation("", model=self.name)
        calls: dict[int, dict[str, Any]] = {}
        async for d in self.stream(req):
            parts.append(d.text)
            if d.tool_calls:
                merge_tool_deltas(calls, d.tool_calls)
            if d.finish_reason:
                gen.finish_reason = d.finish_reason
            if d.usage is not None:
                gen.usage = d.usage
            if d.calls is not None:
                gen.calls = d.calls
            if d.route is not None:
                gen.route = d.route
        gen.text = "".join(parts)
        gen.tool_calls = [calls[i] for i in sorted(calls)] or None
        return gen

    def default_temperature(self) -> float | None:
        """The temperature this model samples at when a request sends none; None: not known
        here (a server's own default)."""
        t = getattr(self.options, "temperature", None)
        return float(t) if t is not None else None

    def sampled(self, temperature: float | None, lookup: Lookup) -> bool:
        """Whether an answer to a request at ``temperature`` (None: the request sent none) may be
        sampled, so the same request may get another answer; the response cache keeps only
        determined answers. ``lookup`` finds a member by name, for backends made of others."""
        t = self.default_temperature() if temperature is None else temperature
        return t is None or t > 0

    def call_of(self, usage: Usage, note: str = "") -> Call:
        """This backend's call as a composite records it, priced by this model's config."""
        return Call(self.name, usage, self.settings.price.cost(usage.prompt_tokens, usage.completion_tokens), note)


def sampled_member(lookup: Lookup, name: str, temperature: float | None) -> bool:
    """:meth:`Backend.sampled` of the member ``name`` (one that cannot answer counts as sampled)."""
    try:
        member = lookup(name)
    except Exception:  # a name that is gone (a reload): nothing to vouch for
        return True
    return not isinstance(member, Backend) or member.sampled(temperature, lookup)


class Wrapper(Backend):
    """A backend seen through a layer (redaction, resilience); everything else is the inner one's."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner.name, inner.settings, inner.options, context=inner.context)
        self.inner = inner

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    def sampled(self, temperature: float | None, lookup: Lookup) -> bool:
        return self.inner.sampled(temperature, lookup)

    def __getattr__(self, name: str) -> Any:  # anything backend-specific (e.g. received, in tests)
        return getattr(self.inner, name)


class Composite(Backend):
    """A backend made of backends that decides on whole answers (a cascade, a router).

    Subclasses write :meth:`generate`; the stream is the decided answer, its route on the
    first chunk and the member calls on the last.
    """

    async def generate(self, req: GenRequest) -> Generation:
        raise NotImplementedError

    def sampled(self, temperature: float | None, lookup: Lookup) -> bool:
        """Unknown unless the composite says: assume its answers vary."""
        return True

    async def stream(self, req: GenRequest) -> AsyncGenerator[Delta, None]:
        gen = await self.generate(req)
        if gen.text:
            yield Delta(gen.text, route=gen.route)
        for fragments in call_deltas(gen.tool_calls or []):
            yield Delta(route=gen.route, tool_calls=fragments)
        yield Delta("", gen.finish_reason, gen.usage, calls=gen.calls, route=gen.route)


class EmbeddingBackend(Member, abc.ABC):
    """A model that turns texts into vectors."""

    @abc.abstractmethod
    async def embed(self, texts: list[str], *, kind: str = "passage") -> tuple[list[list[float]], int]:
        """Vectors for ``texts`` and the number of tokens consumed."""

    def cached(self, text: str) -> bool:
        """Whether this query's embedding is at hand already (backends with a cache say so)."""
        return False


# Call or stream a member by name, holding one of its slots: how composites reach members.
RunMember = Callable[[str, GenRequest], Awaitable[tuple[Generation, Backend]]]
StreamMember = Callable[[str, GenRequest], AsyncGenerator[tuple[Backend, Delta], None]]
# The started embedding model of that name; and a query embedding of one text.
Embedder = Callable[[str], Awaitable[EmbeddingBackend]]
EmbedQuery = Callable[[str], Awaitable[list[float]]]


def query_embed(embedder: Embedder, name: str | None) -> EmbedQuery | None:
    """A query embedding of one text by the embedding model ``name`` (None: no model named)."""
    if name is None:
        return None

    async def embed(text: str) -> list[float]:
        backend = await embedder(name)
        vectors, _ = await backend.embed([text], kind="query")
        return vectors[0]

    return embed


class Members(Protocol):
    """The fleet as a member sees it: call another member, or stream from it while holding one
    of its slots (resilience's fallbacks, composites)."""

    async def run(self, name: str, req: GenRequest) -> tuple[Generation, Backend]: ...

    async def backend(self, name: str, kind: str, req: GenRequest | None = None) -> Backend: ...

    def slot(self, name: str) -> AbstractAsyncContextManager[None]: ...
