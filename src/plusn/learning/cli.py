"""``plusn learning export|purge``: outcome data from traffic, and deleting what was kept."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from ..cli_shared import clear_errors, config_option, settings_for
from .export import export
from .observe import purge

_SPAN = re.compile(r"^(\d+(?:\.\d+)?)([dhm])$")


def seconds(span: str) -> float:
    """``7d``, ``12h`` or ``30m`` in seconds."""
    m = _SPAN.match(span.strip())
    if m is None:
        raise click.BadParameter(f"{span!r}: write a number and d, h or m, e.g. 7d", param_hint="--since")
    return float(m.group(1)) * {"d": 86400, "h": 3600, "m": 60}[m.group(2)]


@click.group("learning")
def learning() -> None:
    """Learning from traffic: export outcome data, delete captured text."""


@learning.command("export")
@config_option
@click.option("--route", required=True, help="The route whose captured traffic to export.")
@click.option("--since", default=None, help="Only the last span of traffic, e.g. 7d, 12h, 30m.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="The outcome file to write.")
def export_command(config_path: str | None, route: str, since: str | None, out_path: str) -> None:
    """Write an outcome file (the format `plusn routes fit --data` reads) from a route's captures."""
    settings = settings_for(config_path)
    if route not in settings.routes:
        raise click.BadParameter(f"no route {route!r} in {settings.source}", param_hint="--route")
    with clear_errors():
        header, rows = export(settings, route, seconds(since) if since else None)
    with Path(out_path).open("w", encoding="utf-8") as f:
        for obj in [header, *rows]:
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
    complete = sum(len(r["outcomes"]) == len(header["models"]) for r in rows)
    src = header["correct_from"]
    click.echo(f"wrote {out_path}: {len(rows)} requests of route {route!r} ({complete} answered by all "
               f"{len(header['models'])} models); correct from feedback {src['feedback']}, agreement "
               f"{src['agreement']}")


@learning.command("purge")
@config_option
@click.option("--all", "everything", is_flag=True, help="Delete every captured text, whatever its age.")
@click.option("--older-than", type=click.FloatRange(min=0), default=None,
              help="Delete what is older than this many days (default: learning.retention_days).")
def purge_command(config_path: str | None, everything: bool, older_than: float | None) -> None:
    """Delete captured prompts and answers (the ledger's rows, which hold no text, stay)."""
    settings = settings_for(config_path)
    with clear_errors():
        n = purge(settings, 0 if everything else older_than)
    click.echo(f"deleted {n} captured answers")
