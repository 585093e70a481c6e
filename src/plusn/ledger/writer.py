"""The ledger: one row per request that reached the gateway, whatever happened.

Rows are queued by the request and written in batches by one writer thread, so a request
never waits on the disk; :meth:`Ledger.close` drains the queue on shutdown.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..database import connect
from ..safety.redact import redact, scrub

log = logging.getLogger("plusn.ledger")

_COLUMNS = [
    "id", "ts", "key_id", "key_name", "endpoint", "requested_model", "served_models", "status", "error_type",
    "stream", "prompt_tokens", "completion_tokens", "latency_ms", "ttft_ms", "cost", "extra", "route",
    "reference_cost", "shadow", "policy", "cache", "saved_cost", "trace_id",
]
# A retried batch must not fail on rows it already wrote (the same SQL in SQLite and Postgres).
_INSERT = (f"INSERT INTO ledger ({', '.join(_COLUMNS)}) VALUES {{values}} ON CONFLICT (id) DO NOTHING", len(_COLUMNS))
_CAPTURE = ("INSERT INTO captures (request_id, model, ts, route, key_id, shadow, prompt, answer, prompt_tokens, "
            "completion_tokens, cost, agrees) VALUES {values} ON CONFLICT (request_id, model) DO NOTHING", 12)
_AUDIT = ("INSERT INTO audit (ts, request_id, key_name, endpoint, model, stage, category, score, action, target, "
          "detail) VALUES {values}", 11)
# An answer kept by the response cache (plusn.cache): a retried batch, or the same question
# answered twice before either was kept, replaces the entry.
_CACHE = ("INSERT INTO response_cache (key, scope, name, tenant, created, expires, answer, vector) VALUES {values} "
          "ON CONFLICT (key) DO UPDATE SET scope = excluded.scope, name = excluded.name, tenant = excluded.tenant, "
          "created = excluded.created, expires = excluded.expires, answer = excluded.answer, vector = excluded.vector",
          8)
# What one request writes: its ledger row, its audit rows, its captured answers and its cached one.
_Rows = tuple[tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]
# Rows per INSERT statement: 500 x 20 parameters stays under SQLite's 32,766 and Postgres's 65,535.
_ROWS_PER_STATEMENT = 500


def _insert(conn: Any, statement: tuple[str, int], rows: list[tuple[Any, ...]]) -> None:
    """Insert ``rows`` with multi-row VALUES statements rather than ``executemany``.

    Why: sqlite3 releases the GIL around every step, and ``executemany`` steps once per row. While
    the event loop keeps the GIL busy, each release costs the writer thread a switch interval
    (5 ms), so under load it wrote a few hundred rows a second and its queue grew without bound
    (the soak's memory growth). One statement per chunk is one step for the whole chunk.
    """
    sql, width = statement
    per = _ROWS_PER_STATEMENT
    if isinstance(conn, sqlite3.Connection):  # SQLite before 3.32 allows only 999 parameters
        per = max(1, min(per, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
    for start in range(0, len(rows), per):
        chunk = rows[start:start + per]
        values = ", ".join(["(" + ", ".join("?" * width) + ")"] * len(chunk))
        conn.execute(sql.format(values=values), [v for row in chunk for v in row])


@dataclass
class RequestRecord:
    """What the gateway learns about one request while serving it."""

    id: str
    endpoint: str
    ts: float = field(default_factory=time.time)
    t0: float = field(default_factory=time.perf_counter)
    key_id: str | None = None
    key_name: str | None = None
    requested_model: str | None = None
    served_models: list[str] = field(default_factory=list)
    status: int = 0
    error_type: str | None = None
    stream: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    cost: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    route: str | None = None
    # What the answer would have cost on the reference (largest) model.
    reference_cost: float | None = None
    # Safety decisions taken while serving it (see plusn.safety.audit); written to the audit table.
    safety: list[dict[str, Any]] = field(default_factory=list)
    # A shadow call (plusn.learning): made for comparison, never seen by a client; kept out of
    # request counts, budgets and the dashboard's totals.
    shadow: bool = False
    # The version of the route's policy that served it (routes reloaded at run time change it).
    policy: str | None = None
    # Text kept for learning (plusn.learning), where the route and the key opted in: one entry
    # per model that answered, redacted on the writer thread before it is stored.
    captures: list[Captured] = field(default_factory=list)
    # The response cache: how it served this request ("exact", "semantic"; None: a model did),
    # what the answer cost when it was first made, and the answer it keeps from this one.
    cache: str | None = None
    saved_cost: float | None = None
    cache_rows: list[Callable[[], tuple[Any, ...]]] = field(default_factory=list)
    # The trace this request's spans belong to (plusn.telemetry), where traces are exported.
    trace_id: str | None = None

    # What happens to a request is written here, by these methods only: the gateway's modules
    # say what happened, and the record keeps its fields consistent.

    def caller(self, key_id: str | None, key_name: str | None) -> None:
        self.key_id, self.key_name = key_id, key_name

    def asked_for(self, model: str) -> None:
        self.requested_model = model[:200]

    def under_policy(self, version: str) -> None:
        """The version of the routes that serve it (a reload changes it for later requests)."""
        self.policy = version

    def streaming(self) -> None:
        self.stream = True

    def charge(self, model: str, prompt_tokens: int, completion_tokens: int, cost: float) -> None:
        """One model call made for this request."""
        self.served_models.append(model)
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        self.cost += cost

    def routed(self, route: str, block: dict[str, Any] | None, calls: list[dict[str, Any]] | None,
               reference_cost: float | None) -> None:
        """How a route served it: its name, its ``plusn.route`` block and calls, and what the
        answer would have cost on the reference model."""
        self.route = route
        self.reference_cost = reference_cost
        if block is not None:
            self.extra["route"] = block
        if calls is not None:
            self.extra["calls"] = calls

    def traced(self, trace_id: str | None) -> None:
        self.trace_id = trace_id

    def from_cache(self, kind: str, saved_cost: float, route: str | None, block: dict[str, Any]) -> None:
        """Answered by the response cache: no model call, the route the answer first took, and
        what it cost then."""
        self.cache, self.saved_cost, self.route = kind, saved_cost, route
        self.extra["cache"] = block

    def cache_note(self, block: dict[str, Any]) -> None:
        """What the cache did with a request a model answered (missed, or passed by, and why)."""
        self.extra["cache"] = block

    def keep_in_cache(self, row: Callable[[], tuple[Any, ...]]) -> None:
        """An answer to keep in the response cache, written with this request's row (the row is
        made on the writer thread, off the event loop)."""
        self.cache_rows.append(row)

    def via_mcp(self, method: str, tool: str | None = None) -> None:
        """A request that came over MCP: its method and, for a tool call, the tool's name."""
        self.extra["mcp"] = {"method": method[:100], **({"tool": tool[:200]} if tool else {})}

    def failed(self, error_type: str, status: int | None = None) -> None:
        """An error; ``status`` when it decides the response's (not after the headers went)."""
        if status is not None:
            self.status = status
        self.error_type = error_type

    def responded(self, status: int) -> None:
        """The response's status, as its headers go (an error noted before keeps its own)."""
        if not self.status:
            self.status = status

    def crashed(self, status: int, error_type: str) -> None:
        """An exception no handler answered (a bug, or a cancel): an error noted before stays."""
        if not self.status or self.status < 400:
            self.status = status
        self.error_type = self.error_type or error_type

    def ended(self) -> None:
        """The request is over: its latency, and a status for one that never answered."""
        self.latency_ms = (time.perf_counter() - self.t0) * 1000
        if not self.status:
            self.status = 499  # nothing was sent: the client left first
            self.error_type = self.error_type or "client_disconnected"

    def mark_first_token(self) -> None:
        if self.ttft_ms is None:
            self.ttft_ms = (time.perf_counter() - self.t0) * 1000

    def row(self) -> tuple[Any, ...]:
        return (
            self.id, self.ts, _clean(self.key_id), _clean(self.key_name), _clean(self.endpoint),
            _clean(self.requested_model), json.dumps(self.served_models), self.status,
            _clean(self.error_type), int(self.stream), self.prompt_tokens, self.completion_tokens,
            round(self.latency_ms, 3), None if self.ttft_ms is None else round(self.ttft_ms, 3),
            self.cost, json.dumps(scrub(_without_text(self.extra))), _clean(self.route), self.reference_cost,
            int(self.shadow), _clean(self.policy), self.cache, self.saved_cost, self.trace_id,
        )

    def audit_rows(self) -> list[tuple[Any, ...]]:
        return [(d.get("ts", self.ts), self.id, _clean(self.key_name), _clean(self.endpoint),
                 _clean(self.requested_model), d["stage"], d["category"], d.get("score"), d["action"],
                 _clean(d.get("target")), json.dumps(scrub(d.get("detail")), ensure_ascii=False))
                for d in self.safety]


    def capture_rows(self) -> list[tuple[Any, ...]]:
        # Each string is redacted before the request is written as JSON: JSON's escapes ("\n")
        # would otherwise stand glued to a number and hide it from the patterns.
        return [(self.request_of, c.model, self.ts, _clean(c.route or self.route), self.key_id, int(self.shadow),
                 _text(json.dumps(scrub(c.prompt), ensure_ascii=False)), _text(redact(c.answer)[0]),
                 c.prompt_tokens, c.completion_tokens, c.cost, None if c.agrees is None else int(c.agrees))
                for c in self.captures]

    @property
    def request_of(self) -> str:
        """The client request this row belongs to: its own id, or for a shadow call the id of the
        request it shadowed."""
        return self.id.partition(":shadow:")[0]


@dataclass
class Captured:
    """One model's answer to a request, kept for learning (see :attr:`RequestRecord.captures`)."""

    model: str
    prompt: dict[str, Any]  # the request: {"messages": [...]} or a completion's {"prompt": ...}
    answer: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    agrees: bool | None = None  # a shadow answer: whether it agrees with the served one
    route: str | None = None  # the configured route (without "route:"), where it differs from the row's


def _text(s: str) -> str:
    """Stored text: no NUL (Postgres refuses it in text columns)."""
    return s.replace("\x00", "")


# A tool call in the ledger is its tool, status and timing: what went in and what came out are
# in the response's trace (plusn.trace), and the ledger keeps no text of a request.
_TOOL_TEXT = frozenset({"arguments", "result"})


def _without_text(extra: dict[str, Any]) -> dict[str, Any]:
    route = extra.get("route")
    trace = route.get("trace") if isinstance(route, dict) else None
    if not isinstance(route, dict) or not isinstance(trace, list):
        return extra
    kept = [{k: v for k, v in step.items() if k not in _TOOL_TEXT} if isinstance(step, dict) and "tool" in step
            else step for step in trace]
    return {**extra, "route": {**route, "trace": kept}}


def _clean(text: str | None, limit: int = 200) -> str | None:
    """Client-supplied text as SQLite can store it: bounded, and valid UTF-8 (no lone surrogates)."""
    if text is None:
        return None
    return text[:limit].encode("utf-8", "replace").decode("utf-8")


_STOP = object()


class Ledger:
    """Batches rows to SQLite from a writer thread."""

    def __init__(self, path: Any, flush_interval_s: float = 0.2) -> None:
        self.path = path
        self.flush_interval_s = flush_interval_s
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._conn: sqlite3.Connection | None = None
        self._thread: threading.Thread | None = None
        self.written = 0

    def open(self) -> None:
        self._conn = connect(self.path)
        self._thread = threading.Thread(target=self._run, name="plusn-ledger", daemon=True)
        self._thread.start()

    @property
    def backlog(self) -> int:
        """Records queued and not yet written (approximate; for the metrics)."""
        return self._q.qsize()

    def add(self, record: RequestRecord) -> None:
        """Queue a finished request's record; never blocks. Its row (JSON, PII scrubbing) is built
        on the writer thread, off the event loop."""
        self._q.put(record)

    def _run(self) -> None:
        assert self._conn is not None
        stop = False
        while not stop:
            batch: list[_Rows] = []
            flushed: list[threading.Event] = []
            try:
                item = self._q.get(timeout=self.flush_interval_s)
            except queue.Empty:
                continue
            # Take what is queued now, so one commit covers a burst.
            while True:
                if item is _STOP:
                    stop = True
                elif isinstance(item, threading.Event):
                    flushed.append(item)
                else:
                    try:
                        batch.append((item.row(), item.audit_rows(), item.capture_rows(), [r() for r in item.cache_rows]))
                    except Exception:  # an unrepresentable extra must not cost the row: book it bare
                        log.exception("ledger could not build the row of %s; booking it without extra", item.id)
                        item.extra, item.safety = {"error": "row_build_failed"}, []
                        batch.append((item.row(), [], [], []))
                if len(batch) >= 1000:
                    break
                try:
                    item = self._q.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._write(batch)
            for ev in flushed:
                ev.set()

    def _write(self, batch: list[_Rows]) -> None:
        assert self._conn is not None
        for attempt in range(30):  # about a minute: long enough for a database restart or failover
            try:
                with self._conn:
                    _insert(self._conn, _INSERT, [row for row, _, _, _ in batch])
                    _insert(self._conn, _AUDIT, [a for _, audits, _, _ in batch for a in audits])
                    _insert(self._conn, _CAPTURE, [c for _, _, kept, _ in batch for c in kept])
                    _insert(self._conn, _CACHE, [c for _, _, _, cached in batch for c in cached])
                self.written += len(batch)
                return
            except sqlite3.OperationalError as exc:  # locked or busy: worth retrying
                if attempt >= 4:
                    break
                log.warning("ledger write failed (attempt %d): %s; retrying", attempt + 1, exc)
                time.sleep(0.2 * (attempt + 1))
            except Exception:
                if self._reconnected():
                    time.sleep(min(0.2 * (attempt + 1), 2.0))
                    continue
                # One bad row must not cost the batch, nor kill the writer: write them one by one.
                log.exception("ledger batch failed; writing its rows one at a time")
                for row, audits, kept, cached in batch:
                    try:
                        with self._conn:
                            _insert(self._conn, _INSERT, [row])
                            _insert(self._conn, _AUDIT, audits)
                        self.written += 1
                    except Exception:
                        log.exception("ledger dropped row %s", row[0])
                    # apart: a capture or a cache entry that cannot be stored must not cost the row
                    for statement, rows, what in ((_CAPTURE, kept, "captures"), (_CACHE, cached, "cache entry")):
                        try:
                            with self._conn:
                                _insert(self._conn, statement, rows)
                        except Exception:
                            log.exception("ledger dropped the %s of %s", what, row[0])
                return
        log.error("ledger lost %d rows after retries", len(batch))

    def _reconnected(self) -> bool:
        """After the database dropped the connection (a Postgres restart, a failover), open a new
        one; True when the write is worth trying again."""
        if not getattr(self._conn, "broken", False):
            return False
        log.warning("ledger lost its database connection; reconnecting")
        try:
            fresh = connect(self.path)
        except Exception as exc:  # still down: keep the rows and try again
            log.warning("ledger cannot reconnect yet: %s", exc)
            return True
        with contextlib.suppress(Exception):
            self._conn.close()  # type: ignore[union-attr]
        self._conn = fresh
        return True

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every row queued so far is written (for tests and the CLI)."""
        if self._thread is None:
            return
        done = threading.Event()
        self._q.put(done)
        done.wait(timeout)

    def close(self) -> None:
        """Write everything queued, then stop the writer."""
        if self._thread is None:
            return
        self._q.put(_STOP)
        self._thread.join(timeout=30)
        self._thread = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def read_rows(path: Any, where: str = "", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Ledger rows as dicts (newest last)."""
    if not path.exists():
        return []
    conn = connect(path)
    try:
        rows = conn.execute(f"SELECT * FROM ledger {where} ORDER BY ts", params).fetchall()
    finally:
        conn.close()
    out = []
    for r in rows:
        d = dict(r)
        d["served_models"] = json.loads(d["served_models"])
        d["extra"] = json.loads(d["extra"])
        out.append(d)
    return out
