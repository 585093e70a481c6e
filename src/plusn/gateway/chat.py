"""POST /v1/chat/completions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..errors import InvalidRequest
from ..fleet.backend import Backend
from ..protocol import ChatCompletionRequest, chat_chunk, chat_response, new_id
from .answer import answer
from .body import body_schema, parse
from .runtime import principal
from .wire import chunk_wire

router = APIRouter()


@router.post("/v1/chat/completions", response_model=None, openapi_extra=body_schema(ChatCompletionRequest))
async def chat_completions(request: Request) -> Response:
    who = await principal(request)  # the key first: a bad key is a 401 whatever the body
    body = await parse(request, ChatCompletionRequest)
    req = body.to_gen()

    def check(backend: Backend) -> None:
        if req.response_format is not None and not backend.capabilities.structured_output:
            raise InvalidRequest(
                f"model {body.model!r} cannot enforce response_format; choose a model with "
                "structured_output in /v1/models",
                param="response_format",
            )

    wire = chunk_wire(new_id("chatcmpl"), chunk_fn=chat_chunk, whole_fn=chat_response, role=True,
                      include_usage=bool(body.stream_options and body.stream_options.include_usage))
    return await answer(request, who, model=body.model, req=req, stream=body.stream, wire=wire, check=check)
