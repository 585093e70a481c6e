"""GET /v1/models and /v1/models/{id}: every model, with what it can do."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from ..errors import ModelNotFound
from .auth import Principal
from .runtime import principal, runtime

router = APIRouter()


def _visible(request: Request, who: Principal) -> list[dict[str, Any]]:
    entries = runtime(request).fleet.describe()
    return [e for e in entries if not who.models or e["id"] in who.models]


@router.get("/v1/models")
async def list_models(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    return {"object": "list", "data": _visible(request, who)}


@router.get("/v1/models/{model_id:path}")
async def get_model(model_id: str, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    for entry in _visible(request, who):
        if entry["id"] == model_id:
            return entry
    names = ", ".join(e["id"] for e in _visible(request, who))
    raise ModelNotFound(f"The model {model_id!r} does not exist. Available models: {names}", param="model")
