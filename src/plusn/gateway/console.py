"""The web console: its static page at /ui, and the few read APIs it needs beyond the OpenAI ones.

The page is plain HTML, CSS and JavaScript shipped in the package (plusn/console/static), so
nothing is built or fetched at install or run time. It signs in with an API key or the admin
key and calls the same /v1 endpoints any client would, plus:

- ``GET /v1/console/me``: who the key is;
- ``GET /v1/console/dashboard?days=N``: requests, cost, savings, latency, escalations, safety
  events (everything for the admin, a key's own traffic for a key);
- ``GET /v1/console/keys``: keys and their usage (admin);
- ``GET /v1/arena/runs``, ``/v1/arena/runs/{id}`` and ``/v1/arena/runs/{id}/report``: arena runs.
"""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from ..errors import NotFound, PermissionDenied
from ..evals import runs
from ..evals.report import render
from ..ledger.dashboard import dashboard
from ..ledger.report import usage_report
from .auth import Principal, is_admin, require_admin
from .runtime import principal, runtime

router = APIRouter()


def _static(name: str) -> Any:
    return resources.files("plusn.console").joinpath("static", name)


_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}


@router.get("/ui", include_in_schema=False)
async def ui_root() -> Response:
    return RedirectResponse("/ui/")


@router.get("/ui/", include_in_schema=False)
async def ui_index() -> Response:
    return _file("index.html")


@router.get("/ui/static/{name}", include_in_schema=False)
async def ui_static(name: str) -> Response:
    return _file(name)


def _file(name: str) -> Response:
    path = _static(name)
    suffix = "." + name.rpartition(".")[2]
    if "/" in name or "\\" in name or suffix not in _TYPES or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    # no-cache: an upgraded gateway must not run yesterday's script against today's API
    return FileResponse(str(path), media_type=_TYPES[suffix], headers={"cache-control": "no-cache"})


@router.get("/v1/console/me")
async def me(who: Principal = Depends(principal)) -> dict[str, Any]:
    return {"name": who.name or "anonymous", "admin": is_admin(who), "team": who.team,
            "models": sorted(who.models)}


@router.get("/v1/console/dashboard")
async def dashboard_figures(request: Request, days: float = Query(7, gt=0, le=366),
                            who: Principal = Depends(principal)) -> dict[str, Any]:
    if not is_admin(who) and who.key_id is None:  # a caller without a key has no traffic of its own
        raise PermissionDenied("the dashboard needs a key (its own traffic) or the admin scope (everyone's)")
    key = None if is_admin(who) else who.key_id
    return await asyncio.to_thread(dashboard, runtime(request).settings.state_db(), days=days, key_id=key)


@router.get("/v1/console/keys")
async def keys_and_usage(request: Request, days: float = Query(30, gt=0, le=366),
                         who: Principal = Depends(principal)) -> dict[str, Any]:
    require_admin(who)
    rt = runtime(request)
    keys = await asyncio.to_thread(rt.keys.list)
    usage = await asyncio.to_thread(usage_report, rt.settings.state_db(), ["key"], days)
    return {"keys": [{k: v for k, v in key.items() if k != "hash"} for key in keys], "usage": usage, "days": days}


def _may_see(who: Principal, run: dict[str, Any]) -> bool:
    """A run holds every contestant's answers: a key limited to some models sees only runs whose
    contestants it may call itself."""
    return is_admin(who) or all(who.may_use(c["model"]) for c in run.get("contestants", []))


@router.get("/v1/arena/runs")
async def arena_runs(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    found = await asyncio.to_thread(runs.recent, runtime(request).settings.state_db())
    return {"data": [r for r in found if _may_see(who, r)]}


async def _run(request: Request, run_id: str, who: Principal) -> dict[str, Any]:
    result = await asyncio.to_thread(runs.load, runtime(request).settings.state_db(), run_id)
    if result is None or not _may_see(who, result):  # not there, or not yours: the same answer
        raise NotFound(f"no arena run {run_id!r}; see GET /v1/arena/runs")
    return result


@router.get("/v1/arena/runs/{run_id}")
async def arena_run(request: Request, run_id: str, who: Principal = Depends(principal)) -> dict[str, Any]:
    return await _run(request, run_id, who)


@router.get("/v1/arena/runs/{run_id}/report", response_class=HTMLResponse)
async def arena_report(request: Request, run_id: str, who: Principal = Depends(principal)) -> HTMLResponse:
    return HTMLResponse(render(await _run(request, run_id, who)))
