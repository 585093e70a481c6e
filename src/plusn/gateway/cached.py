"""The response cache on the request path: the lookup once the guards have let a request in,
a hit's response (whole, or streamed as chunks like a model's), and keeping a model's answer.

A hit calls no model and costs nothing; its ledger row says how it hit and what the answer cost
when it was made. Nothing here fails a request: a cache that cannot answer is a miss.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Any

from pydantic_core import to_json
from starlette.requests import Request
from starlette.responses import Response

from ..cache.index import Answer
from ..cache.response_cache import Hit, Plan
from ..fleet.backend import GenRequest, Usage, rough_tokens
from ..telemetry.spans import span
from .auth import Principal
from .runtime import record, runtime
from .serving import EventStream, plusn_block, plusn_headers_of
from .wire import Wire

log = logging.getLogger("plusn.cache")

# Pieces of a replayed answer: about what a model streams in a few tokens.
_PIECE_TOKENS = 4


async def consult(request: Request, who: Principal, model: str, req: GenRequest) -> tuple[Plan | None, Hit | None]:
    """The request's cache plan (None: it passes the cache by) and its hit, if any."""
    rt = runtime(request)
    if not rt.cache.enabled:
        return None, None
    rec = record(request)
    if rec.safety:  # the guards flagged or blocked it: a model answers, and it is not kept
        rec.cache_note({"hit": False, "bypass": "the safety layer acted on the request"})
        return None, None
    try:
        plan = rt.cache.plan(who.tenant, model, req)
    except Exception:  # a cache that cannot plan is passed by, never an error
        log.exception("response cache could not read a request; answering without it")
        plan = "the cache failed"
    if isinstance(plan, str):
        rec.cache_note({"hit": False, "bypass": plan})
        return None, None
    with span("plusn.cache.lookup", **{"plusn.cache.semantic": plan.policy.semantic}) as s:
        try:
            hit = await rt.cache.lookup(plan)
        except Exception:
            log.exception("response cache lookup failed; answering without it")
            hit = None
        s.set_attributes({"plusn.cache.hit": hit is not None, "plusn.cache.kind": hit.kind if hit else "miss"})
    if hit is None:
        rec.cache_note({"hit": False})
        return plan, None
    answer = hit.entry.answer
    rec.from_cache(hit.kind, answer.cost, _route_of(answer), hit.block())
    return plan, hit


def _route_of(answer: Answer) -> str:
    route = answer.route or {}
    return str(route.get("route") or route.get("cascade") or route.get("router") or answer.model)


def keep_answer(request: Request, plan: Plan, text: str, finish: str, usage: Usage, model: str,
                route: dict[str, Any] | None) -> None:
    """Keep a model's answer for later requests, or note on the response why it was not."""
    rt, rec = runtime(request), record(request)
    try:
        kept = rt.cache.keep(plan, Answer(text, finish, usage.prompt_tokens, usage.completion_tokens, model, route,
                                          rec.cost), bool(rec.safety))
    except Exception:
        log.exception("response cache could not keep an answer")
        return
    note = rec.extra.setdefault("cache", {"hit": False})
    if isinstance(kept, str):
        note["kept"] = False
        note["why"] = kept
        return
    note["kept"] = True
    row = rt.cache.row(kept)
    if row is not None:
        rec.keep_in_cache(row)


def hit_response(request: Request, hit: Hit, wire: Wire, *, stream: bool) -> Response:
    """The cached answer, as the model's was sent."""
    rec = record(request)
    answer = hit.entry.answer
    if answer.route is not None:
        rec.extra["route"] = answer.route
    usage = Usage(answer.prompt_tokens, answer.completion_tokens)
    headers = plusn_headers_of(rec, answer.model, _route_of(answer) if answer.route is not None else None)
    if not stream:
        payload = wire.whole(answer.text, answer.finish_reason, usage, plusn_block(rec))
        return Response(to_json(payload), media_type="application/json", headers=headers)
    rec.streaming()

    async def nothing() -> None:
        return None

    return EventStream(_replay(rec, answer, usage, wire), headers, nothing)


async def _replay(rec: Any, answer: Answer, usage: Usage, wire: Wire) -> AsyncGenerator[bytes, None]:
    """The events of a stream, from a kept answer: its opening, the text in pieces, its closing."""
    for event in wire.opening():
        yield event
    pieces = rough_tokens(answer.text)
    for i in range(0, len(pieces), _PIECE_TOKENS):
        rec.mark_first_token()
        yield wire.delta("".join(pieces[i:i + _PIECE_TOKENS]))
    for event in await wire.closing(answer.finish_reason, usage, plusn_block(rec)):
        yield event
