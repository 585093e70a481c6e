"""POST /v1/completions (the legacy prompt-in, text-out endpoint; base models live here)."""

from __future__ import annotations

import functools
import time

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response

from ..protocol import CompletionRequest, completion_chunk, completion_response, new_id
from .auth import Principal
from .runtime import principal, record, runtime
from .serving import generate_once, open_stream, plusn_block, plusn_headers

router = APIRouter()


@router.post("/v1/completions", response_model=None)
async def completions(
    body: CompletionRequest, request: Request, who: Principal = Depends(principal)
) -> Response:
    rec = record(request)
    rec.requested_model = body.model
    who.check_model(body.model)
    backend = await runtime(request).fleet.backend(body.model, "completion")
    req = body.to_gen()
    rid = new_id("cmpl")
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        chunk = functools.partial(completion_chunk, rid, int(time.time()), backend.name)
        return await open_stream(request, backend, req, chunk, include_usage=include_usage)
    gen = await generate_once(request, backend, req)
    payload = completion_response(rid, backend.name, gen.text, gen.finish_reason, gen.usage, plusn_block(rec))
    return JSONResponse(payload, headers=plusn_headers(rec, backend))
