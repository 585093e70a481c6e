"""A request's limits ticket, from admission to settlement, in one place.

1. :func:`admit` when the caller is known: one request against requests-per-minute and a
   concurrency slot (``plusn.limits.gate`` explains the two atomic steps);
2. :func:`reserve` once the body is known: the tokens and money the request may use;
3. :func:`settle` when the request ends, whatever happened: the slot back, and what it really
   used booked in place of what it reserved.

The ticket lives in the request's ASGI scope with the limits that issued it, so the middleware
that settles it needs nothing else.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import Scope

from ..ledger.writer import RequestRecord
from ..limits.gate import Limits
from .auth import Principal

log = logging.getLogger("plusn.gateway")
_TICKET = "plusn.ticket"


async def admit(conn: HTTPConnection, limits: Limits, rid: str, who: Principal) -> None:
    ticket = await limits.admit(rid, who.key_id, who.team, who.limits)
    if ticket is not None:  # None: no limit applies to this caller
        conn.scope[_TICKET] = (limits, ticket)


async def reserve(conn: HTTPConnection, tokens: int, cost: float) -> None:
    held: Any = conn.scope.get(_TICKET)
    if held is not None:
        limits, ticket = held
        await limits.reserve(ticket, tokens, cost)


def admitted(conn: HTTPConnection) -> bool:
    """Whether a limit applies, so whether working out a reservation is worth it."""
    return _TICKET in conn.scope


async def settle(scope: Scope, rec: RequestRecord) -> None:
    held: Any = scope.get(_TICKET)
    if held is None:
        return
    limits, ticket = held
    try:
        await limits.settle(ticket, rec.prompt_tokens + rec.completion_tokens, rec.cost)
    except Exception:  # the response is gone already; the counters' leases expire on their own
        log.exception("could not settle the limits of request %s", rec.id)
