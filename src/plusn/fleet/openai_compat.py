"""Any OpenAI-compatible server: vLLM, Ollama, llama.cpp's server, SGLang, cloud APIs.

One pooled ``aiohttp.ClientSession`` per model. aiohttp rather than httpx on this path because
it is the gateway's hottest loop: on loopback it spends about a quarter of httpx's CPU per
request (0.26 ms against 0.93 ms, measured on this project's 2-core machine), which is most of
what a gateway adds. Streams pass through chunk by chunk; upstream usage is asked for
(``stream_options.include_usage``) and used when given. The API key is read from an
environment variable named in config, never from the config file itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import from_json

from ..config import Capabilities
from ..errors import (
    InvalidRequest,
    Overloaded,
    PlusnError,
    RateLimited,
    UpstreamError,
    UpstreamTimeout,
)
from .backend import Backend, Delta, Generation, GenRequest, Usage, rough_tokens


class Timeouts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    connect: float = Field(5.0, gt=0)
    # Longest silence between two bytes, which bounds the wait for the first token too.
    read: float = Field(60.0, gt=0)
    # Whole request, first byte to last.
    total: float = Field(600.0, gt=0)


class OpenAIOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str  # e.g. http://gpu-1:8000/v1
    # The upstream's own name for the model; defaults to this model's name in plusn.
    upstream_model: str | None = None
    # Name of the environment variable holding the key (None: send no key).
    api_key_env: str | None = None
    timeouts: Timeouts = Field(default_factory=Timeouts)
    max_connections: int = Field(100, ge=1)
    headers: dict[str, str] = Field(default_factory=dict)
    # Sent when a request sends none (None: the server's own default, unknown here, so its
    # answers count as sampled and the response cache does not keep them).
    temperature: float | None = Field(None, ge=0, le=2)


_RETRY_AFTER_DEFAULT = 1.0


def _loads(raw: str | bytes) -> Any:
    """JSON from an upstream: pydantic-core's parser (several times faster on the hot path),
    else Python's, which also reads what some servers send that is not strictly valid (a lone
    surrogate escape from a token cut mid-character)."""
    try:
        return from_json(raw)
    except ValueError:
        return json.loads(raw)


def _upstream_error(status: int, body: bytes, headers: Any, name: str) -> PlusnError:
    try:
        msg = json.loads(body)["error"]["message"]
    except Exception:
        msg = body[:300].decode("utf-8", "replace") or f"HTTP {status}"
    where = f"upstream of model {name!r} answered {status}: {msg}"
    retry = headers.get("retry-after")
    try:
        retry_s = float(retry) if retry else _RETRY_AFTER_DEFAULT
    except ValueError:
        retry_s = _RETRY_AFTER_DEFAULT
    if status == 429:
        return RateLimited(where, retry_after=retry_s, code="upstream_rate_limited")
    if status == 503:
        return Overloaded(where, retry_after=retry_s, code="upstream_overloaded")
    if status in (400, 413, 422):
        # The request itself was refused (e.g. too long for the model): the client can fix it.
        return InvalidRequest(where, code="upstream_rejected")
    if status == 504:
        return UpstreamTimeout(where)
    return UpstreamError(where)


class OpenAIBackend(Backend):
    Options = OpenAIOptions
    options: OpenAIOptions
    default_retries = 2
    default_breaker = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: aiohttp.ClientSession | None = None
        self._base = self.options.base_url.rstrip("/") + "/"

    @classmethod
    def capability_defaults(cls, configured: Capabilities) -> dict[str, bool]:
        # The upstream is sent what the client sent; it knows what its model can do.
        return {"tools": True, "vision": True}

    @property
    def upstream_model(self) -> str:
        return self.options.upstream_model or self.name

    async def start(self) -> None:
        o = self.options
        headers = {"content-type": "application/json", **o.headers}
        if o.api_key_env:
            key = os.environ.get(o.api_key_env)
            if key:
                headers["authorization"] = f"Bearer {key}"
        t = o.timeouts
        self._client = aiohttp.ClientSession(
            headers=headers,
            connector=aiohttp.TCPConnector(limit=o.max_connections, limit_per_host=o.max_connections),
            # sock_read: the longest silence between two bytes, which bounds the first token too
            timeout=aiohttp.ClientTimeout(total=None, connect=t.connect, sock_read=t.read),
            raise_for_status=False, auto_decompress=True, trust_env=False,
            read_bufsize=1 << 20,  # SSE lines (one chunk each) up to 1 MiB
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def probe(self) -> bool:
        """The circuit breaker's health probe: does the server answer ``GET /models``?"""
        try:
            async with self._client_or_fail().get(
                    self._base + "models", timeout=aiohttp.ClientTimeout(total=self.options.timeouts.connect)) as r:
                return r.status < 500
        except (aiohttp.ClientError, TimeoutError, PlusnError):
            return False

    def _payload(self, req: GenRequest, stream: bool) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = dict(req.extra)
        if not self.capabilities.tools:  # only tool_choice "none" gets here: the tools are ignored
            for key in ("tools", "tool_choice", "parallel_tool_calls"):
                body.pop(key, None)
        body["model"] = self.upstream_model
        for key in ("max_tokens", "temperature", "top_p", "stop", "seed", "response_format"):
            value = getattr(req, key)
            if value is not None:
                body[key] = value
        if req.temperature is None and self.options.temperature is not None:
            body["temperature"] = self.options.temperature
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        if req.kind == "chat":
            body["messages"] = req.messages
            return "chat/completions", body
        body["prompt"] = req.prompt
        return "completions", body

    def _translate(self, exc: BaseException) -> PlusnError:
        if isinstance(exc, TimeoutError):  # aiohttp's ServerTimeoutError and connect timeouts are TimeoutErrors
            return UpstreamTimeout(f"upstream of model {self.name!r} timed out ({type(exc).__name__})")
        if isinstance(exc, aiohttp.ClientPayloadError):
            return UpstreamError(f"upstream of model {self.name!r} broke off its answer ({type(exc).__name__})")
        return UpstreamError(f"cannot reach the upstream of model {self.name!r}: {exc!r}")

    def _client_or_fail(self) -> aiohttp.ClientSession:
        if self._client is None:
            raise UpstreamError(f"model {self.name!r} is not started")
        return self._client

    async def generate(self, req: GenRequest) -> Generation:
        path, body = self._payload(req, stream=False)
        client = self._client_or_fail()
        try:
            async with asyncio.timeout(self.options.timeouts.total):
                async with client.post(self._base + path, data=json.dumps(body)) as resp:
                    status, raw, headers = resp.status, await resp.read(), resp.headers
        except TimeoutError:
            raise UpstreamTimeout(f"upstream of model {self.name!r} took longer than {self.options.timeouts.total:g}s") from None
        except aiohttp.ClientError as exc:
            raise self._translate(exc) from exc
        if status >= 400:
            raise _upstream_error(status, raw, headers, self.name)
        try:
            data = _loads(raw)
            choice = data["choices"][0]
            text = choice["message"]["content"] if req.kind == "chat" else choice["text"]
            if text is not None and not isinstance(text, str):
                raise TypeError("text is not a string")
            finish = choice.get("finish_reason") or "stop"
            usage = self._usage(data.get("usage"), req, text or "")
            calls = choice["message"].get("tool_calls") if req.kind == "chat" else None
            if calls is not None and not (isinstance(calls, list) and all(isinstance(c, dict) for c in calls)):
                raise TypeError("tool_calls is not a list of objects")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise UpstreamError(f"upstream of model {self.name!r} sent an unexpected body") from exc
        return Generation(text or "", str(finish), usage, self.name, tool_calls=calls or None)

    def _usage(self, raw: Any, req: GenRequest, text: str) -> Usage:
        if isinstance(raw, dict) and "prompt_tokens" in raw:
            # int() raises on junk, which the callers report as an upstream error
            return Usage(int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0))
        # Some servers send no usage; estimate rather than meter zero.
        prompt = req.prompt if req.kind == "completion" else " ".join(
            str(m.get("content") or "") for m in req.messages
        )
        return Usage(len(rough_tokens(prompt)), len(rough_tokens(text)))

    async def stream(self, req: GenRequest) -> AsyncGenerator[Delta, None]:
        path, body = self._payload(req, stream=True)
        client = self._client_or_fail()
        deadline = time.monotonic() + self.options.timeouts.total
        finish: str | None = None
        usage_raw: Any = None
        parts: list[str] = []
        try:
            async with client.post(self._base + path, data=json.dumps(body)) as resp:
                if resp.status >= 400:
                    raw = await resp.read()
                    raise _upstream_error(resp.status, raw, resp.headers, self.name)
                async for chunk in resp.content:
                    if time.monotonic() > deadline:
                        raise UpstreamTimeout(f"upstream of model {self.name!r} exceeded its total timeout")
                    line = chunk.decode("utf-8", "replace").strip()
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    for text, fin, usage, calls in self._parse_event(data, req.kind):
                        if usage is not None:
                            usage_raw = usage
                        if text:
                            parts.append(text)
                            yield Delta(text)
                        if calls:
                            yield Delta(tool_calls=calls)
                        if fin:
                            finish = fin
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._translate(exc) from exc
        except ValueError as exc:  # a line longer than the read buffer
            raise UpstreamError(f"upstream of model {self.name!r} sent a malformed stream: {exc}") from exc
        if finish is None:
            raise UpstreamError(f"upstream of model {self.name!r} ended the stream without finishing")
        try:
            usage_final = self._usage(usage_raw, req, "".join(parts))
        except (ValueError, TypeError) as exc:
            raise UpstreamError(f"upstream of model {self.name!r} sent malformed usage") from exc
        yield Delta("", finish, usage_final)

    def _parse_event(self, data: str, kind: str) -> list[tuple[str | None, str | None, Any, list[Any] | None]]:
        """(text, finish_reason, usage, tool-call fragments) for each choice of one SSE event;
        junk is an UpstreamError."""
        try:
            chunk = _loads(data)
        except ValueError:
            return []  # comments and keep-alives that are not JSON
        if not isinstance(chunk, dict):
            raise UpstreamError(f"upstream of model {self.name!r} sent a malformed event")
        if "error" in chunk:
            raise UpstreamError(f"upstream of model {self.name!r} failed mid-stream: {chunk['error']}")
        usage = chunk.get("usage") or None
        choices = chunk.get("choices") or []
        if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
            raise UpstreamError(f"upstream of model {self.name!r} sent malformed choices")
        out: list[tuple[str | None, str | None, Any, list[Any] | None]] = [(None, None, usage, None)] if usage else []
        for c in choices:
            delta = c.get("delta") if kind == "chat" else None
            text = (delta.get("content") if isinstance(delta, dict) else None) if kind == "chat" else c.get("text")
            if text is not None and not isinstance(text, str):
                raise UpstreamError(f"upstream of model {self.name!r} sent non-text content")
            calls = delta.get("tool_calls") if isinstance(delta, dict) else None
            if calls is not None and not (isinstance(calls, list) and all(isinstance(f, dict) for f in calls)):
                raise UpstreamError(f"upstream of model {self.name!r} sent malformed tool calls")
            fin = c.get("finish_reason")
            out.append((text, str(fin) if fin else None, None, calls or None))
        return out
