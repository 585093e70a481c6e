"""``create_app(settings)``: build the app; the lifespan opens and closes everything."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.routing import Route

from .. import __version__
from ..assemble import assemble
from ..cache.response_cache import ResponseCache
from ..config import Settings
from ..errors import ConfigError
from ..learning.observe import Observer
from ..ledger.metrics import Metrics
from ..ledger.writer import Ledger
from ..limits.gate import Limits, ledger_seed
from ..load_config import load_settings
from ..mcp.http import McpEndpoint
from ..protocol import ChatCompletionRequest, CompletionRequest, EmbeddingRequest
from ..responses.request import ResponsesRequest
from ..responses.store import ResponseStore
from ..routing import versions
from ..telemetry.otel import OTelTracing
from . import (
    admin,
    chat,
    completions,
    console,
    embeddings,
    errors,
    feedback,
    health,
    knowledge,
    models,
    responses,
    skills,
)
from .auth import KeyStore, exposure, loopback
from .body import openapi_bodies
from .middleware import LedgerMiddleware
from .runtime import Runtime

log = logging.getLogger("plusn.gateway")


async def serve_pinned(rt: Runtime) -> None:
    """A version promoted or rolled back to over this config file's routes serves again after a
    restart; once the file's routes change, the file does. Either way the version is kept."""
    db, file = rt.settings.state_db(), rt.settings
    pinned = await asyncio.to_thread(versions.pinned_over, db, rt.deployment.policy)
    if pinned is not None:
        try:
            rt.deployment.rebuild_routes(versions.with_policy(file, pinned["config"]))
        except ConfigError as exc:  # the file serves: a start must not fail on a kept version
            log.warning("the pinned routes version %s no longer builds (%s); serving the config file's",
                        pinned["version"], exc.message)
            pinned = None
        else:
            rt.observer.settings = rt.deployment.settings
            log.info("serving routes version %s, pinned over the config file's %s", pinned["version"],
                     versions.policy_version(file))
    state, base = ("pinned", versions.policy_version(file)) if pinned is not None else ("serving", None)
    await asyncio.to_thread(versions.record, db, rt.deployment.settings, state, base)


def refuse_exposure(settings: Settings) -> None:
    """No gateway open to the network by accident (see plusn.gateway.auth); one open on purpose
    says so loudly."""
    if loopback(settings.server.host):
        return
    keys = KeyStore(settings.state_db())
    try:
        why = exposure(settings.server.host, settings.auth.open, keys, os.environ.get(settings.auth.admin_key_env))
    finally:
        keys.close()
    if why is not None:
        raise ConfigError(why, file=settings.source, key="server.host")
    if settings.auth.open:
        log.warning("OPEN GATEWAY: auth.open is set and plusn listens on %s: anyone who can reach it may call "
                    "every model (read only; writes and admin need a key)", settings.server.host)


def reread(settings: Settings) -> Settings:
    """The config read again from where these settings came from."""
    return load_settings(None if settings.source == "<embedded defaults>" else settings.source)


def create_app(settings: Settings, reload: Callable[[], Settings] | None = None) -> FastAPI:
    """The ASGI app for these settings. Nothing is opened until the lifespan starts. ``reload``
    reads the config again for ``POST /admin/reload`` (default: the settings' file, as
    ``plusn serve`` read it)."""
    refuse_exposure(settings)
    deployment = assemble(settings)  # validates every model now; loading waits for the lifespan
    tracing = OTelTracing(settings.telemetry, settings.source) if settings.telemetry.otlp_endpoint else None
    fleet = deployment.fleet
    mcp = McpEndpoint()  # /mcp: the knowledge, skills and agents as MCP tools

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ledger = Ledger(settings.state_db(), settings.ledger.flush_interval_s)
        ledger.open()
        keys = KeyStore(settings.state_db())
        metrics = Metrics(lambda: ((n, lim.queued, lim.running) for n, lim in fleet.limiters.items()),
                          lambda: ledger.backlog)
        limits = Limits(settings.limits, ledger_seed(settings.state_db()))
        observer = Observer(settings, fleet.run, ledger.add, fleet.idle)  # shadow rows: the ledger, not the metrics
        cache = ResponseCache(deployment, settings.state_db())
        stored = ResponseStore(settings.state_db(), settings.responses.retention_days)
        rt = Runtime(deployment, ledger, metrics, keys, limits, observer, cache, stored, tracing,
                     reload or (lambda: reread(settings)))
        app.state.plusn = rt
        mcp.open()
        try:
            app.state.loaded = await deployment.start()
            await serve_pinned(rt)
            await cache.start()
            observer.start()
            rt.ready = True
            yield
        finally:
            rt.ready = False
            await mcp.close()  # before the deployment: no MCP call is left running on it
            await cache.close()
            await observer.close()  # shadow calls in flight finish while their models are up
            await deployment.close()
            ledger.close()  # drains every queued row
            stored.close()
            if tracing is not None:
                tracing.close()  # exports what is left
            keys.close()
            await limits.close()

    app = FastAPI(
        title="plusn",
        version=__version__,
        description="One OpenAI-compatible endpoint over a 1+N fleet of models.",
        lifespan=lifespan,
        # plusn meters every request itself (the ledger, Prometheus at /metrics); FastAPI's own
        # OpenTelemetry layer would only look, on every request, for providers plusn never sets.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    errors.install(app)
    for module in (chat, completions, responses, embeddings, models, knowledge, skills, feedback, admin, health, console):
        app.include_router(module.router)
    # The hot endpoints again, as plain Starlette routes in front of FastAPI's: the same handler
    # functions (they take only the request and parse their own bodies, see .body), without
    # FastAPI's per-request dependency solving and exit stacks. Errors still go through the one
    # set of handlers installed above; FastAPI's routes remain for the OpenAPI schema.
    app.router.routes[:0] = [Route(path, handler, methods=["POST"]) for path, handler in (
        ("/v1/chat/completions", chat.chat_completions), ("/v1/completions", completions.completions),
        ("/v1/responses", responses.create_response), ("/v1/embeddings", embeddings.embeddings))]
    app.router.routes.append(Route("/mcp", mcp, methods=["GET", "POST", "DELETE"]))
    app.add_middleware(LedgerMiddleware, max_body_bytes=settings.server.max_body_bytes,
                       prefix=("/v1/", "/admin/", "/mcp"))
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:  # the hot endpoints parse their own bodies (see .body)
        if app.openapi_schema is None:
            app.openapi_schema = openapi_bodies(default_openapi(), [ChatCompletionRequest, CompletionRequest,
                                                                    ResponsesRequest, EmbeddingRequest])
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
