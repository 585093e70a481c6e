"""``POST /admin/reload``: routes, cascades, routers, skills and agents rebuilt from the config
file without a restart (the admin key).

The models must be unchanged (a model's weights or upstream cannot be swapped under requests in
flight); a config that changes them, or that does not load, is refused and nothing changes.
Requests in flight finish on the policy they started with; each ledger row records the policy
version that served it. A cascade's budget pacing starts afresh on the rebuilt route.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from ..errors import ConfigError, InvalidRequest
from .auth import require_admin
from .runtime import principal, runtime

router = APIRouter()


@router.post("/admin/reload")
async def reload_routes(request: Request) -> JSONResponse:
    require_admin(await principal(request))
    rt = runtime(request)
    try:
        fresh = await asyncio.to_thread(rt.reload_settings)
    except ConfigError as exc:
        raise InvalidRequest(f"the config does not load, nothing was reloaded: {exc.message}") from None
    changed = sorted(n for n in set(fresh.models) | set(rt.settings.models)
                     if fresh.models.get(n) != rt.settings.models.get(n))
    if changed:
        raise InvalidRequest(f"models changed ({', '.join(changed)}); restart plusn to change models. "
                             "Nothing was reloaded")
    before = rt.deployment.policy
    try:
        rt.deployment.rebuild_routes(fresh)
    except ConfigError as exc:
        raise InvalidRequest(f"the routes do not build, the old ones stay: {exc.message}") from None
    rt.observer.settings = fresh
    return JSONResponse({"object": "reload", "policy": rt.deployment.policy, "previous": before,
                         "changed": rt.deployment.policy != before, "served": sorted(rt.deployment.routes),
                         "pacing": "reset: cascade budgets pace afresh on the rebuilt routes"})
