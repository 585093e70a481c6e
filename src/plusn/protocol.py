"""OpenAI wire schemas: requests validated at the edge, responses built as plain dicts.

Requests allow unknown fields, because real clients send many (``user``, ``logit_bias``,
``parallel_tool_calls``...); a pass-through backend forwards them. What plusn reads is typed,
and a wrong type becomes a 400 that names the parameter.
"""

from __future__ import annotations

import json
import os
import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import InvalidRequest
from .fleet.backend import GenRequest, Usage


def _lone_surrogate(value: Any) -> bool:
    """True if any string inside has a lone UTF-16 surrogate (valid JSON, invalid text)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_lone_surrogate(k) or _lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_lone_surrogate(v) for v in value)
    return False


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Request(_Open):
    """A request body: text in it must be encodable, or no model can read it."""

    @model_validator(mode="before")
    @classmethod
    def _valid_text(cls, data: Any) -> Any:
        if _lone_surrogate(data):
            raise ValueError("the body contains a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text")
        return data


class Message(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None


class FunctionSpec(_Open):
    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] | None = None


class ToolSpec(_Open):
    """One of ``tools``; its type is checked by the model that calls it (an upstream may know
    more types than ``function``)."""

    type: str = "function"
    function: FunctionSpec | None = None


class StreamOptions(_Open):
    include_usage: bool = False


class JsonSchemaSpec(_Open):
    name: str = "response"
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class ResponseFormat(_Open):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaSpec | None = None

    @model_validator(mode="after")
    def _needs_schema(self) -> ResponseFormat:
        if self.type == "json_schema" and (self.json_schema is None or self.json_schema.schema_ is None):
            raise ValueError("response_format of type json_schema needs json_schema.schema")
        return self


Stop = str | Annotated[list[str], Field(max_length=4)] | None


class _Sampling(_Request):
    model: str = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    stop: Stop = None
    seed: int | None = None
    n: int = Field(1, ge=1, le=1, description="plusn returns one choice per request")

    def _stop_list(self) -> list[str] | None:
        if self.stop is None:
            return None
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def _extra(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ChatCompletionRequest(_Sampling):
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    response_format: ResponseFormat | None = None
    # Checked here, then passed on as sent (GenRequest.extra), as every backend reads them there.
    tools: list[ToolSpec] | None = None
    # {"type": "function", "function": {"name": ...}} names one; other kinds go to upstreams as sent.
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None

    def _extra(self) -> dict[str, Any]:
        extra = dict(self.model_extra or {})
        for key in ("tools", "tool_choice"):
            value = getattr(self, key)
            if value is not None:
                extra[key] = [t.model_dump(exclude_unset=True) for t in value] if key == "tools" else value
        return extra

    def to_gen(self) -> GenRequest:
        rf = self.response_format
        return GenRequest(
            kind="chat",
            messages=[m.model_dump(exclude_none=True) for m in self.messages],
            max_tokens=self.max_completion_tokens or self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=self._stop_list(),
            seed=self.seed,
            response_format=rf.model_dump(by_alias=True, exclude_none=True)
            if rf is not None and rf.type != "text"
            else None,
            extra=self._extra(),
        )


class CompletionRequest(_Sampling):
    prompt: str | Annotated[list[str], Field(min_length=1, max_length=1)]
    # OpenAI's default for the legacy endpoint is 16 tokens.
    max_tokens: int | None = Field(16, ge=1)

    def to_gen(self) -> GenRequest:
        prompt = self.prompt if isinstance(self.prompt, str) else self.prompt[0]
        return GenRequest(
            kind="completion",
            prompt=prompt,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=self._stop_list(),
            seed=self.seed,
            extra=self._extra(),
        )


class EmbeddingRequest(_Request):
    model: str = Field(min_length=1)
    input: str | Annotated[list[str], Field(min_length=1, max_length=2048)]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)
    # plusn extension: e5-style models embed queries and passages differently.
    input_type: Literal["query", "passage"] = "passage"

    def texts(self) -> list[str]:
        texts = [self.input] if isinstance(self.input, str) else list(self.input)
        for i, t in enumerate(texts):
            if not t.strip():
                raise InvalidRequest(f"input[{i}] is empty", param="input")
        return texts


# --- responses -----------------------------------------------------------------------------


def sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    """One server-sent event (the Responses API names each event's type too)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (f"event: {event}\n" if event else "").encode() + f"data: {payload}\n\n".encode()


def new_id(prefix: str, sep: str = "-") -> str:
    """``chatcmpl-…``; the Responses API's ids take ``_`` (``resp_…``, ``msg_…``)."""
    return f"{prefix}{sep}{os.urandom(12).hex()}"  # 96 random bits; cheaper than a uuid4 on the hot path


def chat_response(
    rid: str, model: str, text: str, finish: str, usage: Usage, extra: dict[str, Any],
    tool_calls: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:  # as OpenAI: no text beside a call is null content, not ""
        message = {"role": "assistant", "content": text or None, "tool_calls": tool_calls}
    return {
        "id": rid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": usage.as_dict(),
        "plusn": extra,
    }


def chat_chunk(
    rid: str,
    created: int,
    model: str,
    *,
    text: str | None = None,
    role: bool = False,
    finish: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = "assistant"
    if text is not None:
        delta["content"] = text
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    return {
        "id": rid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def completion_response(
    rid: str, model: str, text: str, finish: str, usage: Usage, extra: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}],
        "usage": usage.as_dict(),
        "plusn": extra,
    }


def completion_chunk(
    rid: str, created: int, model: str, *, text: str = "", finish: str | None = None
) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}],
    }
