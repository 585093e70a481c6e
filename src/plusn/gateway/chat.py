"""POST /v1/chat/completions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ..errors import InvalidRequest
from ..fleet.base import Backend
from ..protocol import ChatCompletionRequest, chat_chunk, chat_response, new_id
from .auth import Principal
from .runtime import principal
from .serving import answer

router = APIRouter()


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, who: Principal = Depends(principal)
) -> Response:
    req = body.to_gen()

    def check(backend: Backend) -> None:
        if req.response_format is not None and not backend.capabilities.structured_output:
            raise InvalidRequest(
                f"model {body.model!r} cannot enforce response_format; choose a model with "
                "structured_output in /v1/models",
                param="response_format",
            )

    return await answer(
        request, who, model=body.model, req=req, stream=body.stream,
        include_usage=bool(body.stream_options and body.stream_options.include_usage),
        chunk_fn=chat_chunk, whole_fn=chat_response, rid=new_id("chatcmpl"), role_chunk=True, check=check,
    )
