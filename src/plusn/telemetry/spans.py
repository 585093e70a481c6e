"""Spans on the request path, at no cost when tracing is off.

Each stage opens ``span("plusn.retrieval", kb=...)`` around its work. When the deployment
exports traces (``telemetry.otlp_endpoint``), the gateway sets the request's tracer in a
context variable, and the stage's span becomes a child of the span around it (OpenTelemetry
keeps the current span in the same task context, which asyncio copies into the tasks a
request starts). When it does not, ``span`` reads one context variable and returns a shared
no-op: nothing of OpenTelemetry is imported, and nothing is allocated.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, Protocol


class Span(Protocol):
    def set_attribute(self, key: str, value: Any) -> None: ...

    def set_attributes(self, attributes: dict[str, Any]) -> None: ...

    def record_exception(self, exception: BaseException) -> None: ...

    def end(self) -> None: ...


class Tracing(Protocol):
    """What the request path needs of a tracer (telemetry/otel.py makes the real one)."""

    record_text: bool

    def span(self, name: str, attributes: dict[str, Any]) -> AbstractContextManager[Span]: ...

    def start(self, name: str, attributes: dict[str, Any]) -> Span: ...


class _NoSpan:
    def set_attribute(self, key: str, value: Any) -> None:
        pass

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        pass

    def record_exception(self, exception: BaseException) -> None:
        pass

    def end(self) -> None:
        pass


NO_SPAN = _NoSpan()
_OFF: AbstractContextManager[Span] = nullcontext(NO_SPAN)
_tracing: ContextVar[Tracing | None] = ContextVar("plusn_tracing", default=None)


def span(name: str, **attributes: Any) -> AbstractContextManager[Span]:
    """A child span of the current one, or a no-op when this request is not traced.
    Attributes whose value is None are left out (OpenTelemetry takes no None)."""
    tracing = _tracing.get()
    if tracing is None:
        return _OFF
    return tracing.span(name, {k: v for k, v in attributes.items() if v is not None})


def start_span(name: str, **attributes: Any) -> Span:
    """A span that is not made current, ended by the caller: for a stream, whose pieces are
    handed to other code between its steps (a current span would adopt that code's spans)."""
    tracing = _tracing.get()
    if tracing is None:
        return NO_SPAN
    return tracing.start(name, {k: v for k, v in attributes.items() if v is not None})


def current() -> Tracing | None:
    """The request's tracer (None: not traced)."""
    return _tracing.get()


@contextmanager
def traced(tracing: Tracing | None) -> Iterator[None]:
    """Trace what runs inside with ``tracing`` (None: not at all)."""
    token = _tracing.set(tracing)
    try:
        yield
    finally:
        _tracing.reset(token)
