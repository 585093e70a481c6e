"""POST /v1/responses, and GET / DELETE of a stored response: the Responses API over the same
path as Chat Completions (dispatch, skills, agents, safety, the cache, the ledger)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from pydantic_core import to_json
from starlette.responses import Response

from ..errors import InvalidRequest, NotFound
from ..fleet.backend import Backend, Usage
from ..protocol import new_id
from ..responses.objects import as_messages, output_items, response_object
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
    made: dict[str, Any] = {}

    def whole(rid_: str, model: str, text: str, finish: str, usage: Usage, plusn: dict[str, Any],
              tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        output = output_items(text, tool_calls)
        made["response"] = response_object(rid_, body, model, output, finish, usage, plusn)
        made["turns"] = as_messages(output)
        return made["response"]

    def check(backend: Backend) -> None:
        if req.response_format is not None and not backend.capabilities.structured_output:
            raise InvalidRequest(f"model {body.model!r} cannot enforce text.format; choose a model with "
                                 "structured_output in /v1/models", param="text.format")

    if body.stream:
        raise InvalidRequest("stream: streamed responses are not served yet", param="stream")
    response = await answer(request, who, model=body.model, req=req, stream=False, include_usage=False,
                            chunk_fn=lambda *a, **k: {}, whole_fn=whole, rid=rid, check=check)
    if body.store and "response" in made:  # before it is returned: the next turn may come at once
        await asyncio.to_thread(rt.responses.save, rid, who.tenant, conversation + made["turns"], made["response"])
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
