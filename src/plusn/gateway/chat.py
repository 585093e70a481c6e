"""POST /v1/chat/completions."""

from __future__ import annotations

import functools
import time

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response

from ..errors import InvalidRequest
from ..protocol import ChatCompletionRequest, chat_chunk, chat_response, new_id
from .auth import Principal
from .runtime import principal, record, runtime
from .serving import generate_once, open_stream, plusn_block, plusn_headers

router = APIRouter()


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, who: Principal = Depends(principal)
) -> Response:
    rec = record(request)
    rec.requested_model = body.model
    who.check_model(body.model)
    backend = await runtime(request).fleet.backend(body.model, "chat")
    req = body.to_gen()
    if req.response_format is not None and not backend.capabilities.structured_output:
        raise InvalidRequest(
            f"model {body.model!r} cannot enforce response_format; choose a model with "
            "structured_output in /v1/models",
            param="response_format",
        )
    rid = new_id("chatcmpl")
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        chunk = functools.partial(chat_chunk, rid, int(time.time()), backend.name)
        return await open_stream(
            request, backend, req, chunk, include_usage=include_usage, role_chunk=chunk(role=True, text="")
        )
    gen = await generate_once(request, backend, req)
    payload = chat_response(rid, backend.name, gen.text, gen.finish_reason, gen.usage, plusn_block(rec))
    return JSONResponse(payload, headers=plusn_headers(rec, backend))
