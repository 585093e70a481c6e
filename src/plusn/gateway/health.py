"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from .runtime import runtime

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The fleet has started and the ledger is open."""
    rt = runtime(request)
    body = {"status": "ready" if rt.ready else "starting", "models": rt.fleet.describe_loaded()}
    return JSONResponse(body, status_code=200 if rt.ready else 503)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    return Response(runtime(request).metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
