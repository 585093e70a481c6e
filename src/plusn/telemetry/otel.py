"""The real tracer, on the OpenTelemetry SDK (the ``otel`` extra), exporting over OTLP.

One tracer provider per deployment, never the process-wide global one, so two gateways in one
process (tests) keep their traces apart.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from ..errors import ConfigError, MissingDependency
from .spans import Span
from .spec import TelemetrySettings


class OTelTracing:
    def __init__(self, settings: TelemetrySettings, source: str = "<config>") -> None:
        try:
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
            from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
            from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
        except ImportError as exc:
            raise MissingDependency("telemetry.otlp_endpoint needs the OpenTelemetry SDK: "
                                    "pip install 'plusn[otel]'") from exc
        assert settings.otlp_endpoint is not None
        headers = {}
        for name, env in settings.headers_env.items():
            if env not in os.environ:
                raise ConfigError(f"the environment variable {env!r} is not set", file=source,
                                  key=f"telemetry.headers_env.{name}")
            headers[name] = os.environ[env]
        self.provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}),
                                       sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)))
        self.provider.add_span_processor(BatchSpanProcessor(_exporter(settings, headers)))
        self.tracer = self.provider.get_tracer("plusn")
        self.propagator = TraceContextTextMapPropagator()
        self.record_text = settings.record_text

    def span(self, name: str, attributes: dict[str, Any]) -> AbstractContextManager[Span]:
        return self.tracer.start_as_current_span(name, attributes=attributes)

    def start(self, name: str, attributes: dict[str, Any]) -> Span:
        span: Span = self.tracer.start_span(name, attributes=attributes)
        return span

    @contextmanager
    def request(self, name: str, headers: Mapping[str, str]) -> Iterator[Any]:
        """The request's span, a child of the caller's (a W3C ``traceparent`` header) if any."""
        from opentelemetry.trace import SpanKind

        parent = self.propagator.extract(dict(headers))
        with self.tracer.start_as_current_span(name, context=parent, kind=SpanKind.SERVER) as s:
            yield s

    def flush(self) -> None:
        self.provider.force_flush()

    def close(self) -> None:
        self.provider.shutdown()


def _exporter(settings: TelemetrySettings, headers: dict[str, str]) -> Any:
    if settings.protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
        except ImportError as exc:
            raise MissingDependency("telemetry.protocol grpc needs the OTLP gRPC exporter: "
                                    "pip install opentelemetry-exporter-otlp-proto-grpc") from exc
        return GrpcExporter(endpoint=settings.otlp_endpoint, headers=headers or None)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=settings.otlp_endpoint, headers=headers or None)


def trace_id_of(span: Any) -> str | None:
    """The span's trace id as the 32 hex digits tracing tools show (None: not sampled)."""
    ctx = span.get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid and ctx.trace_flags.sampled else None


def request_attributes(rec: Any) -> dict[str, Any]:
    """A request span's attributes, from its ledger record (so the two agree)."""
    attributes = {
        "plusn.request_id": rec.id, "http.route": rec.endpoint, "http.response.status_code": rec.status or None,
        "gen_ai.request.model": rec.requested_model, "gen_ai.usage.input_tokens": rec.prompt_tokens,
        "gen_ai.usage.output_tokens": rec.completion_tokens, "plusn.cost": rec.cost, "plusn.route": rec.route,
        "plusn.policy": rec.policy, "plusn.cache.hit": rec.cache is not None,
        "plusn.served_models": list(rec.served_models), "error.type": rec.error_type,
    }
    if rec.cache is not None:
        attributes["plusn.cache.kind"] = rec.cache
    actions = sorted({d.get("action") for d in rec.safety if d.get("action")})
    if actions:
        attributes["plusn.safety.action"] = actions
    return {k: v for k, v in attributes.items() if v is not None}
