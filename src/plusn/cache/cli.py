"""``plusn cache clear|stats``: empty the response cache, or see what it holds."""

from __future__ import annotations

import click

from ..cli_shared import clear_errors, config_option, settings_for
from ..config import Settings
from ..gateway.auth import ADMIN, KeyStore
from .stored import cache_stats, clear_stored


@click.group("cache")
def cache() -> None:
    """The response cache: what it holds, and emptying it."""


def _tenant(settings: Settings, key: str) -> str:
    """The cache's name for a key's answers: its id (the admin key's and an open gateway's own)."""
    if key in (ADMIN.name, "open"):
        return key
    store = KeyStore(settings.state_db())
    try:
        ids = [str(k["id"]) for k in store.list() if k["name"] == key]
    finally:
        store.close()
    if not ids:
        raise click.BadParameter(f"no key named {key!r} (see `plusn keys list`)", param_hint="--key")
    return ids[0]


@cache.command("clear")
@config_option
@click.option("--route", default=None, help="Only the answers of this served name (a model, route:x, auto, skill:y).")
@click.option("--key", default=None, help="Only the answers given to this key (by name; 'admin', 'open').")
def clear_command(config_path: str | None, route: str | None, key: str | None) -> None:
    """Delete cached answers; running gateways drop them at their next sync."""
    settings = settings_for(config_path)
    with clear_errors():
        tenant = _tenant(settings, key) if key is not None else None
        gone = clear_stored(settings.state_db(), route, tenant)
    what = " and ".join(x for x in (f"route {route!r}" if route else "", f"key {key!r}" if key else "") if x)
    click.echo(f"cleared {gone} cached answers{' of ' + what if what else ''}; running gateways follow within "
               f"{settings.cache.sync_interval_s:g} s")


@cache.command("stats")
@config_option
def stats_command(config_path: str | None) -> None:
    """Cached answers per served name."""
    settings = settings_for(config_path)
    with clear_errors():
        rows = cache_stats(settings.state_db())
    if not rows:
        click.echo("the cache is empty")
        return
    click.echo(f"{'served name':32s} {'entries':>8s} {'live':>8s}")
    for r in rows:
        click.echo(f"{r['name']:32s} {r['entries']:8d} {r['live']:8d}")
