"""Wire formats of an answer: the whole response, and the events of a stream.

The request path (gateway/answer.py, serving.py, cached.py) is one for every endpoint that
generates; what differs is how the answer is written: Chat Completions and Completions as
chunks of one shape, the Responses API as a sequence of typed events. Each is a :class:`Wire`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol

from ..fleet.backend import Usage
from ..protocol import sse


class Wire(Protocol):
    def whole(self, text: str, finish: str, usage: Usage, plusn: dict[str, Any],
              tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The complete response."""
        ...

    def opening(self) -> list[bytes]:
        """The events before the first token."""
        ...

    def delta(self, text: str) -> bytes:
        """The event of one piece of text."""
        ...

    def calls(self, tool_calls: list[dict[str, Any]]) -> bytes:
        """The event of tool calls (OpenAI's streamed deltas: index, id, name, arguments)."""
        ...

    async def closing(self, finish: str, usage: Usage, plusn: dict[str, Any]) -> list[bytes]:
        """The events after the last token (the stream ended cleanly)."""
        ...

    def failure(self, envelope: dict[str, Any], finish: str | None) -> list[bytes]:
        """The events that end a stream with an error after its first byte."""
        ...


# A wire for the model name a request is served under (known once the backend is chosen).
MakeWire = Callable[[str], Wire]


class ChunkWire:
    """Chat Completions and Completions: every event a chunk of one shape."""

    def __init__(self, rid: str, model: str, *, chunk_fn: Callable[..., dict[str, Any]],
                 whole_fn: Callable[..., dict[str, Any]], include_usage: bool, role: bool) -> None:
        self.rid, self.model = rid, model
        self.whole_fn = whole_fn
        self.include_usage, self.role = include_usage, role
        created = int(time.time())
        self.chunk: Callable[..., dict[str, Any]] = lambda **kw: chunk_fn(rid, created, model, **kw)
        self._template: tuple[bytes, bytes] | None = None  # rendered at the first delta: a whole answer needs none

    def whole(self, text: str, finish: str, usage: Usage, plusn: dict[str, Any],
              tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        # Only a chat answer can hold tool calls, so whole_fn is given them only when there are some.
        calls = {"tool_calls": tool_calls} if tool_calls else {}
        return self.whole_fn(self.rid, self.model, text, finish, usage, plusn, **calls)

    def opening(self) -> list[bytes]:
        return [sse(self.chunk(role=True, text=""))] if self.role else []

    def delta(self, text: str) -> bytes:
        if self._template is None:
            # Every content event is the same JSON but for its text: render it once and splice
            # each token's text in, which keeps per-token work off the event loop.
            head, tail = sse(self.chunk(text="\x00")).split(b'"\\u0000"')
            self._template = head, tail
        head, tail = self._template
        return head + json.dumps(text, ensure_ascii=False).encode() + tail

    def calls(self, tool_calls: list[dict[str, Any]]) -> bytes:
        return sse(self.chunk(tool_calls=tool_calls))

    async def closing(self, finish: str, usage: Usage, plusn: dict[str, Any]) -> list[bytes]:
        last = self.chunk(finish=finish)
        if not self.include_usage:
            last["plusn"] = plusn
            return [sse(last), sse("[DONE]")]
        tail = self.chunk()
        tail["choices"] = []
        tail["usage"] = usage.as_dict()
        tail["plusn"] = plusn
        return [sse(last), sse(tail), sse("[DONE]")]

    def failure(self, envelope: dict[str, Any], finish: str | None) -> list[bytes]:
        # e.g. the output guard: say why the answer stops, then the error
        stop = [sse(self.chunk(finish=finish))] if finish else []
        return [*stop, sse(envelope), sse("[DONE]")]


def chunk_wire(rid: str, *, chunk_fn: Callable[..., dict[str, Any]], whole_fn: Callable[..., dict[str, Any]],
               include_usage: bool = False, role: bool = False) -> MakeWire:
    def make(model: str) -> Wire:
        return ChunkWire(rid, model, chunk_fn=chunk_fn, whole_fn=whole_fn, include_usage=include_usage, role=role)

    return make
