"""``POST /admin/reload``: the routes rebuilt without a restart (the admin key).

    {}                      the config file's routes, cascades, routers, dispatch, skills, agents
                            and learning again (other changed sections are listed in
                            "restart_needed"); a version pinned before gives way to the file
    {"promote": "maths"}    the route's canary becomes the route (its capture settings stay)
    {"version": "3fa1…"}    serve an earlier version again (a rollback); see GET /admin/versions

Promoting and rolling back pin a version over the config file: it survives a restart until the
file's routes change. The models must be unchanged (a model's weights or upstream cannot be
swapped under requests in flight); a config that changes them, or that does not load, is
refused and nothing changes. Requests in flight finish on the policy they started with; each
ledger row records the version that served it. A cascade's budget pacing starts afresh.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from ..config import Settings
from ..errors import ConfigError, InvalidRequest, NotFound
from ..routing import versions
from .auth import require_admin
from .body import body_schema, parse
from .runtime import Runtime, principal, runtime

router = APIRouter()


class ReloadBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    promote: str | None = Field(None, min_length=1)
    version: str | None = Field(None, min_length=1)


def _promoted(current: Settings, route: str) -> dict[str, Any]:
    spec = current.routes.get(route)
    if spec is None:
        raise NotFound(f"no route {route!r}", param="promote")
    if spec.canary is None:
        raise InvalidRequest(f"route {route!r} has no canary to promote", param="promote")
    config = versions.policy_config(current)
    canary = dict(config["routes"][spec.canary.route])
    canary.update(canary=None, learning=config["routes"][route]["learning"])
    config["routes"][route] = canary
    return config


async def _target(rt: Runtime, body: ReloadBody, file: Settings) -> tuple[Settings, str, list[str]]:
    """What to serve, the state it is kept with, and the sections of the file that wait for a
    restart."""
    db = rt.settings.state_db()
    if body.version is not None:
        found = await asyncio.to_thread(versions.find, db, body.version)
        if found is None:
            raise NotFound(f"no version {body.version!r}; see GET /admin/versions", param="version")
        return versions.with_policy(rt.settings, found["config"]), "pinned", []
    if body.promote is not None:
        return versions.with_policy(rt.settings, _promoted(rt.settings, body.promote)), "pinned", []
    changed = sorted(n for n in set(file.models) | set(rt.settings.models)
                     if file.models.get(n) != rt.settings.models.get(n))
    if changed:
        raise InvalidRequest(f"models changed ({', '.join(changed)}); restart plusn to change models. "
                             "Nothing was reloaded")
    fresh, later = versions.reloaded(rt.settings, file)
    return fresh, "serving", later


@router.post("/admin/reload", openapi_extra=body_schema(ReloadBody))
async def reload_routes(request: Request) -> JSONResponse:
    require_admin(await principal(request))
    body = await parse(request, ReloadBody) if (await request.body()).strip() else ReloadBody()
    rt = runtime(request)
    try:
        file = await asyncio.to_thread(rt.reload_settings)
        fresh, state, later = await _target(rt, body, file)
    except ConfigError as exc:
        raise InvalidRequest(f"the config does not load, nothing was reloaded: {exc.message}") from None
    before = rt.deployment.policy
    try:
        rt.deployment.rebuild_routes(fresh)
    except ConfigError as exc:
        raise InvalidRequest(f"the routes do not build, the old ones stay: {exc.message}") from None
    rt.observer.settings = fresh
    rt.observer.start()  # capture may have been turned on: its retention runs from now
    base = versions.policy_version(file) if state == "pinned" else None
    await asyncio.to_thread(versions.record, rt.settings.state_db(), fresh, state, base)
    return JSONResponse({"object": "reload", "policy": rt.deployment.policy, "previous": before,
                         "changed": rt.deployment.policy != before, "state": state,
                         "served": sorted(rt.deployment.routes), "restart_needed": later,
                         "pacing": "reset: cascade budgets pace afresh on the rebuilt routes"})


@router.get("/admin/versions")
async def list_versions(request: Request) -> JSONResponse:
    """Every version of the routes, newest first: when, its state, what it was fitted on."""
    require_admin(await principal(request))
    rt = runtime(request)
    found = await asyncio.to_thread(versions.history, rt.settings.state_db())
    canaries = {name: r.canary.route for name, r in rt.settings.routes.items() if r.canary is not None}
    return JSONResponse({"object": "list", "canaries": canaries, "data": [
        {k: v[k] for k in ("version", "ts", "state", "fitted_on")} | {"routes": sorted(v["config"]["routes"])}
        for v in found]})
