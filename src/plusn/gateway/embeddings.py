"""POST /v1/embeddings (float or base64, as the openai SDK asks by default)."""

from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from ..errors import InvalidRequest
from ..fleet.backend import Usage
from ..protocol import EmbeddingRequest
from .body import body_schema, parse
from .runtime import principal, record, runtime
from .serving import plusn_block, until_disconnect

router = APIRouter()


@router.post("/v1/embeddings", openapi_extra=body_schema(EmbeddingRequest))
async def embeddings(request: Request) -> JSONResponse:
    who = await principal(request)
    body = await parse(request, EmbeddingRequest)
    rec = record(request)
    rec.asked_for(body.model)
    who.check_model(body.model)
    rt = runtime(request)
    embedder = await rt.fleet.embedder(body.model)
    texts = body.texts()
    async with rt.fleet.limiters[embedder.name].slot():
        vectors, tokens = await until_disconnect(request, embedder.embed(texts, kind=body.input_type))
    if body.dimensions is not None and vectors and body.dimensions != len(vectors[0]):
        raise InvalidRequest(
            f"model {body.model!r} makes {len(vectors[0])}-dimensional vectors and cannot shorten them",
            param="dimensions",
        )
    usage = Usage(tokens, 0)
    rec.charge(embedder.name, tokens, 0, embedder.settings.price.cost(tokens, 0))
    data = []
    for i, v in enumerate(vectors):
        emb: list[float] | str = v
        if body.encoding_format == "base64":
            emb = base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode()
        data.append({"object": "embedding", "index": i, "embedding": emb})
    payload = {
        "object": "list",
        "data": data,
        "model": embedder.name,
        "usage": {"prompt_tokens": tokens, "total_tokens": usage.total_tokens},
        "plusn": plusn_block(rec),
    }
    return JSONResponse(payload, headers={"x-plusn-model": embedder.name})
