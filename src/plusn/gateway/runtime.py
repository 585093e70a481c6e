"""What a running app holds, reached through small accessors (no module globals)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from ..assemble import Deployment
from ..cache.response_cache import ResponseCache
from ..config import Settings
from ..fleet.roster import Fleet
from ..knowledge.catalog import Knowledge
from ..learning.observe import Observer
from ..ledger.metrics import Metrics
from ..ledger.writer import Ledger, RequestRecord
from ..limits.gate import Limits
from ..responses.store import ResponseStore
from ..telemetry.otel import OTelTracing
from .admission import admit
from .auth import ANONYMOUS, OPEN, KeyStore, Principal, authenticate, loopback


@dataclass
class Runtime:
    deployment: Deployment
    ledger: Ledger
    metrics: Metrics
    keys: KeyStore
    limits: Limits
    observer: Observer
    cache: ResponseCache
    responses: ResponseStore
    # Where traces go (None: not traced, and no tracing work on the request path).
    tracing: OTelTracing | None
    # Read the config again, as at start-up (for POST /admin/reload).
    reload_settings: Callable[[], Settings]
    ready: bool = False

    @property
    def settings(self) -> Settings:
        return self.deployment.settings

    @property
    def fleet(self) -> Fleet:
        return self.deployment.fleet

    @property
    def knowledge(self) -> Knowledge:
        return self.deployment.knowledge

    def __post_init__(self) -> None:
        # Read once at start-up, as the rest of the settings are (not from the environment per request).
        self.admin_key: str | None = os.environ.get(self.settings.auth.admin_key_env) or None
        # Who calls an open gateway: the admin on a loopback address; elsewhere a reader where the
        # config opened it on purpose, and nobody otherwise (its last key revoked: 401, not open).
        self.anonymous: Principal | None = (ANONYMOUS if loopback(self.settings.server.host)
                                            else OPEN if self.settings.auth.open else None)

    def opted_in(self, who: Principal) -> bool:
        """Whether this caller's traffic may be kept for learning (the route must capture too)."""
        return who.capture or (who.key_id is None and self.settings.learning.capture_keyless)

    def finish(self, rec: RequestRecord) -> None:
        """Book a finished request: one ledger row and its metrics."""
        self.ledger.add(rec)
        self.metrics.observe(rec)


def runtime(conn: HTTPConnection) -> Runtime:
    rt: Runtime = conn.app.state.plusn
    return rt


def record(conn: HTTPConnection) -> RequestRecord:
    """The ledger record the middleware opened for this request."""
    rec: RequestRecord = conn.scope["plusn.record"]
    return rec


async def principal(conn: HTTPConnection) -> Principal:
    """Authenticate the caller (401 on a bad key) and note it on the record.

    Async on purpose: FastAPI runs a sync dependency on its thread pool, a thread hop per
    request. The key store answers from its cache almost always, and from SQLite in well under
    a millisecond otherwise."""
    rt = runtime(conn)
    p = authenticate(conn.headers.get("authorization"), rt.keys, rt.admin_key, rt.anonymous)
    rec = record(conn)
    rec.caller(p.key_id, p.name)
    await admit(conn, rt.limits, rec.id, p)
    return p
