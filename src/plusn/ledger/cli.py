"""``plusn usage``: tokens and cost from the ledger."""

from __future__ import annotations

import json
from typing import Any

import click

from ..cli_shared import config_option, settings_for, table
from .report import savings_report, usage_report


@click.command()
@config_option
@click.option("--by", "by", multiple=True, type=click.Choice(["key", "model", "day"]),
              help="Group by these (repeatable; default: day, key and model).")
@click.option("--days", type=int, default=None, help="Only the last N days.")
@click.option("--savings", is_flag=True, help="Cost against always calling the largest model, by route.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def usage(config_path: str | None, by: tuple[str, ...], days: int | None, savings: bool, as_json: bool) -> None:
    """Tokens and cost from the ledger, by key, model and day."""
    settings = settings_for(config_path)
    if savings:
        rows = savings_report(settings.state_db(), days)
    else:
        rows = usage_report(settings.state_db(), by or ("day", "key", "model"), days)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"no requests in the ledger yet ({settings.state_db()})")
        return
    cols = list(rows[0])
    click.echo(table([[_fmt(r[c]) for c in cols] for r in rows], cols))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "-" if v is None else str(v)
