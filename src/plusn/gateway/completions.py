"""POST /v1/completions (the legacy prompt-in, text-out endpoint; base models live here)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..protocol import CompletionRequest, completion_chunk, completion_response, new_id
from .answer import answer
from .body import body_schema, parse
from .runtime import principal
from .wire import chunk_wire

router = APIRouter()


@router.post("/v1/completions", response_model=None, openapi_extra=body_schema(CompletionRequest))
async def completions(request: Request) -> Response:
    who = await principal(request)
    body = await parse(request, CompletionRequest)
    wire = chunk_wire(new_id("cmpl"), chunk_fn=completion_chunk, whole_fn=completion_response,
                      include_usage=bool(body.stream_options and body.stream_options.include_usage))
    return await answer(request, who, model=body.model, req=body.to_gen(), stream=body.stream, wire=wire)
