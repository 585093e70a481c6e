"""``telemetry:`` in the config: where traces go. See docs/telemetry.md."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TelemetrySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The OTLP endpoint: http://collector:4318/v1/traces (http/protobuf) or collector:4317 (grpc).
    # Unset: no tracing, and no tracing work on the request path.
    otlp_endpoint: str | None = None
    protocol: Literal["http/protobuf", "grpc"] = "http/protobuf"
    # Headers for the exporter (e.g. an auth token), each value the name of an environment variable.
    headers_env: dict[str, str] = Field(default_factory=dict)
    service_name: str = "plusn"
    # The share of requests traced (a caller's sampled traceparent is always followed).
    sample_ratio: float = Field(1.0, ge=0, le=1)
    # Prompt and answer text on spans, redacted as in the ledger. Off: never any text.
    record_text: bool = False
