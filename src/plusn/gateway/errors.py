"""The one place errors become HTTP: OpenAI's envelope with the right status."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ..errors import InvalidRequest, NotFound, PayloadTooLarge, PlusnError

log = logging.getLogger("plusn.gateway")


def _respond(request: Request, exc: PlusnError) -> Response:
    rec = request.scope.get("plusn.record")
    if rec is not None:
        rec.failed(exc.type if exc.code is None else f"{exc.type}:{exc.code}", exc.status)
    # ASCII-escaped, so a message quoting the client's own bad input can always be encoded.
    return Response(json.dumps(exc.envelope()), status_code=exc.status, headers=exc.headers,
                    media_type="application/json")


# Pydantic names union branches in error locations ("str", "list[str]", "function-after[...]");
# they are not parameters.
_BRANCH = re.compile(r"^(str|int|float|bool|dict|list|none|[\w-]+\[.*\])$")


def _param(loc: tuple[Any, ...]) -> str | None:
    # ("body", "messages", 0, "role") -> "messages[0].role"
    out = ""
    for p in loc[1:] if loc and loc[0] == "body" else loc:
        if isinstance(p, int):
            out += f"[{p}]"
        elif not _BRANCH.match(str(p)):
            out += ("." if out else "") + str(p)
    return out or None


def validation_to_error(exc: RequestValidationError) -> InvalidRequest:
    errors = exc.errors()
    if not errors:
        return InvalidRequest("invalid request")
    # A union (e.g. str | list) reports one error per branch; the first names the param well.
    err = errors[0]
    if err.get("type") == "json_invalid":
        return InvalidRequest(
            "the request body is not valid JSON: "
            + str(err.get("ctx", {}).get("error", "could not parse")),
            code="invalid_json",
        )
    loc = tuple(err.get("loc", ()))
    param = _param(loc)
    if err.get("type") == "missing" and param is None:
        return InvalidRequest("the request body is empty; send a JSON object", code="invalid_body")
    if err.get("type") == "missing":
        return InvalidRequest(f"missing required parameter: '{param}'", param=param, code="missing_required_parameter")
    if param is None:
        if err.get("type") in ("model_attributes_type", "model_type", "dict_type"):
            return InvalidRequest("the request body must be a JSON object", code="invalid_body")
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        return InvalidRequest(f"invalid request body: {msg}", code="invalid_body")
    got = err.get("input")
    shown = json.dumps(got, default=str)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return InvalidRequest(f"invalid value for '{param}': {err.get('msg')} (got {shown})", param=param, code="invalid_value")


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into an envelope."""

    @app.exception_handler(PlusnError)
    async def _plusn(request: Request, exc: PlusnError) -> Response:
        return _respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        rec = request.scope.get("plusn.record")
        if rec is not None and isinstance(exc.body, dict) and isinstance(exc.body.get("model"), str):
            rec.asked_for(exc.body["model"])
        return _respond(request, validation_to_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 413:  # raised by the body-size guard while the body streams in
            err: PlusnError = PayloadTooLarge(str(exc.detail))
        elif exc.status_code == 404:
            err = NotFound(f"no route {request.method} {request.url.path}; see /docs")
        elif exc.status_code == 405:
            err = InvalidRequest(f"method {request.method} is not allowed on {request.url.path}")
            err.status = 405
        else:
            err = InvalidRequest(str(exc.detail))
            err.status = exc.status_code
        return _respond(request, err)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        err = PlusnError("internal error; the server log has details", code="internal_error")
        return _respond(request, err)
