"""``plusn mcp``: plusn's knowledge bases, skills and agents as MCP tools on stdin and stdout.

An MCP client starts it as a subprocess. There is no HTTP header to carry a key, so the key
comes from ``--key`` or ``$PLUSN_API_KEY`` (a key from ``plusn keys create``, or the admin key),
and is checked again on every request, so that revoking it takes effect at once. While no key
exists and no admin key is set, the command serves whoever runs it (they can read the config and
the state database anyway), as the gateway serves a loopback caller. Every request is admitted
against the key's limits and writes one ledger row (endpoint ``mcp:stdio``), as over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import click

from ..assemble import deployed
from ..cli_shared import clear_errors, config_option, settings_for
from ..config import Settings
from ..errors import AuthenticationError, PlusnError
from ..gateway.auth import ANONYMOUS, KeyStore, Principal, authenticate
from ..ledger.writer import Ledger, RequestRecord
from ..limits.gate import Limits, ledger_seed
from .catalog import Caller
from .server import build_server

ENDPOINT = "mcp:stdio"


class StdioGate:
    """Each MCP request on stdio: the key checked, the limits admitted, one ledger row booked."""

    def __init__(self, key: str | None, keys: KeyStore, admin_key: str | None, limits: Limits,
                 ledger: Ledger) -> None:
        self.bearer = f"Bearer {key}" if key else None
        self.keys, self.admin_key, self.limits, self.ledger = keys, admin_key, limits, ledger

    def who(self) -> Principal:
        try:
            return authenticate(self.bearer, self.keys, self.admin_key, ANONYMOUS)
        except AuthenticationError as exc:
            raise AuthenticationError(f"{exc.message} (plusn mcp takes the key from --key or $PLUSN_API_KEY)") \
                from None

    @contextlib.asynccontextmanager
    async def caller(self, ctx: Any) -> AsyncIterator[Caller]:
        rec = RequestRecord(id="req-" + os.urandom(12).hex(), endpoint=ENDPOINT)
        ticket = None
        try:
            who = self.who()
            rec.caller(who.key_id, who.name)
            ticket = await self.limits.admit(rec.id, who.key_id, who.team, who.limits)

            async def reserve(tokens: int, cost: float) -> None:
                await self.limits.reserve(ticket, tokens, cost)

            yield Caller(who, rec, reserve)
            rec.responded(200)
        except PlusnError as exc:
            rec.failed(exc.type if exc.code is None else f"{exc.type}:{exc.code}", exc.status)
            raise
        except BaseException as exc:
            rec.crashed(500, type(exc).__name__)
            raise
        finally:
            rec.ended()
            self.ledger.add(rec)
            if ticket is not None:
                await self.limits.settle(ticket, rec.prompt_tokens + rec.completion_tokens, rec.cost)


async def serve_stdio(settings: Settings, key: str | None) -> None:
    """Serve MCP on stdin and stdout until the client closes them."""
    from mcp.server.stdio import stdio_server

    db = settings.state_db()
    keys = KeyStore(db)
    ledger = Ledger(db, settings.ledger.flush_interval_s)
    limits = Limits(settings.limits, ledger_seed(db))
    gate = StdioGate(key, keys, os.environ.get(settings.auth.admin_key_env) or None, limits, ledger)
    try:
        who = gate.who()  # a wrong key ends the command at once, with the reason, before any request
        ledger.open()
        async with deployed(settings) as d:
            logging.getLogger("plusn.mcp").info("plusn mcp serving %s on stdio", who.name or "the local user")
            server = build_server(d, gate)
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())
    finally:
        ledger.close()  # drains every queued row
        keys.close()
        await limits.close()


@click.command("mcp")
@config_option
@click.option("--key", envvar="PLUSN_API_KEY", default=None,
              help="The API key to serve as (default: $PLUSN_API_KEY); needed once any key exists.")
def mcp(config_path: str | None, key: str | None) -> None:
    """Serve the knowledge bases, skills and agents as MCP tools on stdin/stdout."""
    settings = settings_for(config_path)
    # stdout carries the protocol: everything else, logs included, goes to stderr
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    with clear_errors():
        asyncio.run(serve_stdio(settings, key))
