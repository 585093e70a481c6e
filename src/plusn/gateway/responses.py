"""POST /v1/responses, and GET / DELETE of a stored response: the Responses API over the same
path as Chat Completions (dispatch, skills, agents, safety, the cache, the ledger)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from pydantic_core import to_json
from starlette.responses import Response

from ..errors import InvalidRequest, NotFound
from ..fleet.backend import Backend
from ..protocol import new_id
from ..responses.events import ResponsesWire
from ..responses.request import ResponsesRequest, to_chat
from .answer import answer
from .body import body_schema, parse
from .runtime import principal, record, runtime

router = APIRouter()


@router.post("/v1/responses", response_model=None, openapi_extra=body_schema(ResponsesRequest))
async def create_response(request: Request) -> Response:
    who = await principal(request)
    body = await parse(request, ResponsesRequest)
    rt = runtime(request)
    earlier: list[dict[str, Any]] = []
    if body.previous_response_id:
        found = await asyncio.to_thread(rt.responses.load, body.previous_response_id, who.tenant)
        if found is None:
            raise NotFound(f"no response {body.previous_response_id!r} for this key (or it has expired)",
                           param="previous_response_id")
        earlier = found[0]
    req, conversation = to_chat(body, earlier)
    rid = new_id("resp", "_")
    tenant = who.tenant

    async def save(response: dict[str, Any], turns: list[dict[str, Any]]) -> None:
        await asyncio.to_thread(rt.responses.save, rid, tenant, conversation + turns, response)

    wires: list[ResponsesWire] = []

    def wire(model: str) -> ResponsesWire:
        wires.append(ResponsesWire(rid, body, model, save if body.store and body.stream else None))
        return wires[-1]

    def check(backend: Backend) -> None:
        if req.response_format is not None and not backend.capabilities.structured_output:
            raise InvalidRequest(f"model {body.model!r} cannot enforce text.format; choose a model with "
                                 "structured_output in /v1/models", param="text.format")

    response = await answer(request, who, model=body.model, req=req, stream=body.stream, wire=wire, check=check)
    made = wires[-1].made if wires else None
    if body.store and not body.stream and made is not None:  # before it is returned: the next turn may come at once
        await save(*made)
    return response


@router.get("/v1/responses/{rid}", response_model=None)
async def get_response(rid: str, request: Request) -> Response:
    who = await principal(request)
    record(request).asked_for("responses")
    found = await asyncio.to_thread(runtime(request).responses.load, rid, who.tenant)
    if found is None:
        raise NotFound(f"no response {rid!r} for this key (or it has expired)", param="response_id")
    return Response(to_json(found[1]), media_type="application/json")


@router.delete("/v1/responses/{rid}", response_model=None)
async def delete_response(rid: str, request: Request) -> Response:
    who = await principal(request)
    record(request).asked_for("responses")
    if not await asyncio.to_thread(runtime(request).responses.delete, rid, who.tenant):
        raise NotFound(f"no response {rid!r} for this key", param="response_id")
    return Response(to_json({"id": rid, "object": "response.deleted", "deleted": True}), media_type="application/json")
