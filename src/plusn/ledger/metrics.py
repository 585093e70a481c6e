"""Prometheus metrics, one registry per app (no process globals)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .writer import RequestRecord

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


_ENDPOINTS = {"/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/embeddings", "/v1/models", "/mcp"}


def _endpoint_label(path: str) -> str:
    """A bounded label: made-up paths must not create new series."""
    if path in _ENDPOINTS:
        return path
    if path.startswith("/v1/models/"):
        return "/v1/models/{id}"
    return "other"


class _QueueCollector(Collector):
    """Reads queue depth and running count from the limiters at scrape time."""

    def __init__(self, read: Callable[[], Iterable[tuple[str, int, int]]]) -> None:
        self._read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        queued = GaugeMetricFamily("plusn_queue_depth", "Requests waiting for a model slot", labels=["model"])
        running = GaugeMetricFamily("plusn_in_flight", "Requests holding a model slot", labels=["model"])
        for model, q, r in self._read():
            queued.add_metric([model], q)
            running.add_metric([model], r)
        yield queued
        yield running


class _BacklogCollector(Collector):
    """Ledger rows queued but not yet written: a writer falling behind shows here before in memory."""

    def __init__(self, read: Callable[[], int]) -> None:
        self._read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        yield GaugeMetricFamily("plusn_ledger_backlog", "Ledger rows waiting for the writer", value=self._read())


class Metrics:
    def __init__(self, queue_reader: Callable[[], Iterable[tuple[str, int, int]]],
                 ledger_backlog: Callable[[], int] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "plusn_requests", "Requests by endpoint, model and status",
            ["endpoint", "model", "status"], registry=r,
        )
        self.latency = Histogram(
            "plusn_request_latency_seconds", "Whole-request latency",
            ["endpoint", "model"], buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.ttft = Histogram(
            "plusn_time_to_first_token_seconds", "Time to the first streamed token",
            ["model"], buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.tokens = Counter("plusn_tokens", "Tokens by model and direction", ["model", "direction"], registry=r)
        self.cost = Counter("plusn_cost", "Cost in the configured currency", ["model"], registry=r)
        self.cache_lookups = Counter("plusn_cache_lookups", "Response cache lookups by result (exact, semantic, miss)",
                                     ["result"], registry=r)
        self.cache_saved = Counter("plusn_cache_saved_cost", "What the answers served from the cache cost when made",
                                   registry=r)
        r.register(_QueueCollector(queue_reader))
        if ledger_backlog is not None:
            r.register(_BacklogCollector(ledger_backlog))

    def observe(self, rec: RequestRecord) -> None:
        endpoint = _endpoint_label(rec.endpoint)
        # Only served models become labels: a client's made-up model name must not grow the series.
        model = ",".join(rec.served_models) or "-"
        self.requests.labels(endpoint, model, str(rec.status)).inc()
        self.latency.labels(endpoint, model).observe(rec.latency_ms / 1000)
        if rec.ttft_ms is not None:
            self.ttft.labels(model).observe(rec.ttft_ms / 1000)
        if rec.prompt_tokens:
            self.tokens.labels(model, "input").inc(rec.prompt_tokens)
        if rec.completion_tokens:
            self.tokens.labels(model, "output").inc(rec.completion_tokens)
        if rec.cost:
            self.cost.labels(model).inc(rec.cost)
        if rec.cache is not None:
            self.cache_lookups.labels(rec.cache).inc()
            self.cache_saved.inc(rec.saved_cost or 0.0)
        elif "bypass" not in rec.extra.get("cache", {"bypass": True}):
            self.cache_lookups.labels("miss").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
