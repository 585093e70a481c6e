"""Request bodies of the hot endpoints, parsed and validated in one step.

FastAPI's body parameters go through ``json.loads``, its dependency solver and a Python-mode
validation; on the chat path that was about a quarter of the gateway's own time per request.
pydantic-core validates straight from the JSON bytes instead. Errors keep FastAPI's shape
(``RequestValidationError`` with ``("body", …)`` locations), so the one error handler still
writes them, and :func:`openapi_bodies` keeps the bodies in the OpenAPI schema.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from ..errors import InvalidRequest

M = TypeVar("M", bound=BaseModel)


async def parse(request: Request, model: type[M]) -> M:
    """The body as ``model``, or the 400 FastAPI would give for it."""
    raw = await request.body()
    if not raw.strip():
        raise InvalidRequest("the request body is empty; send a JSON object", code="invalid_body")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        failed = exc
    # The error path only. Python's json reads a little more than pydantic's parser (a lone
    # surrogate escape, NaN); such bodies get the answer they always got from Python-mode
    # validation, whose messages say what is wrong rather than where the parser stopped.
    try:
        body: Any = json.loads(raw)
    except ValueError:
        body = None
    else:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            failed = exc
    errors = [{**e, "loc": ("body", *e["loc"])} for e in failed.errors(include_url=False)]
    raise RequestValidationError(errors, body=body) from None


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a route whose body is ``model``, parsed by :func:`parse`."""
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


def openapi_bodies(schema: dict[str, Any], models: list[type[BaseModel]]) -> dict[str, Any]:
    """Add ``models`` (and the models they use) to the schema's components."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in models:
        js = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(js.pop("$defs", {}))
        components[model.__name__] = js
    return schema
