"""A scripted fake backend: replies from config, for tests, demos and rehearsals.

It ships in the package and is configured like any model (``type: scripted``), so tests go
through the real registry, limiter, ledger and HTTP edge. It remembers what it received so a
test can check, for example, that a whole conversation arrived.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import AsyncGenerator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import Overloaded, UpstreamError, UpstreamTimeout
from .backend import Backend, Delta, GenRequest, Usage, content_text, rough_tokens


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    match: str
    reply: str
    # Also require the system message to match this regex (tells a tool call from an answer).
    system: str | None = None


class ScriptedOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Replies used in turn, cycling. "{last_user}" is replaced with the last user message.
    replies: list[str] = Field(default_factory=lambda: ["Hello from the scripted backend."])
    # Regex rules tried first against the last user message (or the prompt).
    rules: list[Rule] = Field(default_factory=list)
    # Seconds between streamed pieces, to rehearse slow models and disconnects.
    delay_s: float = Field(0.0, ge=0)
    # Make every call fail this way, to rehearse upstream trouble.
    fail: Literal["timeout", "upstream", "overloaded"] | None = None
    # Fail as an upstream error after streaming this many pieces (rehearses a mid-stream cut).
    fail_after: int | None = Field(None, ge=0)


class ScriptedBackend(Backend):
    Options = ScriptedOptions
    options: ScriptedOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn = 0
        # The latest requests, for tests to inspect (bounded: a demo may run for days).
        self.received: deque[GenRequest] = deque(maxlen=1000)
        self.cancelled = 0
        self.completed = 0

    def default_temperature(self) -> float | None:
        # One reply is a determined answer; replies in turn stand for a model that samples.
        return 0.0 if len(self.options.replies) == 1 else 1.0

    def _reply_for(self, req: GenRequest) -> str:
        if req.kind == "chat":
            users = [m for m in req.messages if m.get("role") == "user"]
            last = content_text(users[-1].get("content")) if users else ""
        else:
            last = req.prompt
        system = " ".join(content_text(m.get("content")) for m in req.messages if m.get("role") == "system")
        for rule in self.options.rules:
            if re.search(rule.match, last) and (rule.system is None or re.search(rule.system, system)):
                return rule.reply.replace("{last_user}", last)
        reply = self.options.replies[self._turn % len(self.options.replies)]
        self._turn += 1
        return reply.replace("{last_user}", last)

    def _prompt_tokens(self, req: GenRequest) -> int:
        if req.kind == "chat":
            text = " ".join(content_text(m.get("content")) for m in req.messages)
            return len(rough_tokens(text)) + 3 * len(req.messages)
        return len(rough_tokens(req.prompt))

    async def stream(self, req: GenRequest) -> AsyncGenerator[Delta, None]:
        self.received.append(req)
        fail = self.options.fail
        if fail == "timeout":
            raise UpstreamTimeout(f"model {self.name!r} timed out (scripted)")
        if fail == "upstream":
            raise UpstreamError(f"model {self.name!r} failed (scripted)")
        if fail == "overloaded":
            raise Overloaded(f"model {self.name!r} is overloaded (scripted)", retry_after=1)
        pieces = rough_tokens(self._reply_for(req))
        finish = "stop"
        if req.max_tokens is not None and len(pieces) > req.max_tokens:
            pieces, finish = pieces[: req.max_tokens], "length"
        try:
            for i, piece in enumerate(pieces):
                if self.options.fail_after is not None and i >= self.options.fail_after:
                    raise UpstreamError(f"model {self.name!r} broke off mid-answer (scripted)")
                if self.options.delay_s:
                    await asyncio.sleep(self.options.delay_s)
                yield Delta(piece)
        except (asyncio.CancelledError, GeneratorExit):
            self.cancelled += 1
            raise
        self.completed += 1
        yield Delta("", finish, Usage(self._prompt_tokens(req), len(pieces)))
