"""A real OTLP/HTTP trace receiver, in process: it decodes what an exporter posts to
``/v1/traces`` (protobuf) and keeps the spans, for tests and for the docs' trace picture."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


@dataclass
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    start_ns: int = 0
    end_ns: int = 0


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


class Receiver:
    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server calls
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver._keep(request)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _keep(self, request: ExportTraceServiceRequest) -> None:
        with self._lock:
            for rs in request.resource_spans:
                for ss in rs.scope_spans:
                    for s in ss.spans:
                        self.spans.append(ReceivedSpan(
                            s.name, s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex(),
                            {a.key: _value(a.value) for a in s.attributes}, s.start_time_unix_nano, s.end_time_unix_nano))

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def children(self, span: ReceivedSpan) -> list[ReceivedSpan]:
        with self._lock:
            return sorted((s for s in self.spans if s.parent_id == span.span_id), key=lambda s: s.start_ns)

    def tree(self, trace_id: str) -> str:
        """The trace as an indented tree of span names, for a test's message or the docs."""
        spans = self.trace(trace_id)
        ids = {s.span_id for s in spans}
        lines: list[str] = []

        def walk(s: ReceivedSpan, depth: int) -> None:
            ms = (s.end_ns - s.start_ns) / 1e6
            lines.append(f"{'  ' * depth}{s.name}  ({ms:.1f} ms)")
            for c in self.children(s):
                walk(c, depth + 1)

        for root in sorted((s for s in spans if s.parent_id not in ids), key=lambda s: s.start_ns):
            walk(root, 0)
        return "\n".join(lines)
