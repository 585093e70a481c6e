"""``plusn eval run SUITE.yaml``: the arena from the command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from ..assemble import deployed
from ..errors import PlusnError
from ..load_config import load_settings
from . import arena, report, runs
from .progress import Bar


@click.command("run")
@click.argument("suite_path", metavar="SUITE.yaml", type=click.Path(exists=True, dir_okay=False))
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False), default=None,
              help="plusn config (default: the suite's `config:`, else $PLUSN_CONFIG, else the embedded defaults).")
@click.option("--html", "html_path", default=None, help="Write the HTML report here (default: SUITE-report.html).")
@click.option("--json", "json_path", default=None, help="Write the whole result as JSON here.")
@click.option("--no-save", is_flag=True, help="Do not keep the run in the state database (the console lists kept runs).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def eval_run_command(suite_path: str, config_path: str | None, html_path: str | None, json_path: str | None,
                     no_save: bool, no_progress: bool) -> None:
    """Run a task suite live: every contestant answers every task; quality, cost, latency, win rates."""
    try:
        suite, _, folder = arena.load_suite(suite_path)
        if config_path is None and suite.config:
            config_path = str(folder / suite.config)
        settings = load_settings(config_path)
    except PlusnError as exc:
        raise click.ClickException(exc.message) from None

    bar = Bar(not no_progress, f"arena {suite.name}", "answer")

    async def job() -> dict[str, Any]:
        async with deployed(settings) as d:
            return await arena.run_suite(d.fleet, suite_path, bar.update)

    try:
        result = asyncio.run(job())
    except PlusnError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        bar.close()
    click.echo(summary_table(result))
    # The run first: a report path that cannot be written must not cost the answers.
    if not no_save:
        runs.save(settings.state_db(), result)
    out = Path(html_path or Path(suite_path).with_name(Path(suite_path).stem + "-report.html"))
    try:
        if json_path:
            Path(json_path).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
            click.echo(f"wrote {json_path}")
        out.write_text(report.render(result), encoding="utf-8")
        click.echo(f"report: {out}")
    except OSError as exc:
        kept = "" if no_save else f"; the run is kept as {result['id']}, see /ui/#/arena"
        raise click.ClickException(f"cannot write {exc.filename}: {exc.strerror}{kept}") from None
    if not no_save:
        click.echo(f"kept as run {result['id']} (console: /ui/#/arena)")


def summary_table(result: dict[str, Any]) -> str:
    front = set(result["pareto"])
    width = max(len(b["name"]) for b in result["contestants"]) + 2
    lines = [f"{result['suite']}: {result['tasks']} tasks, metric {result['metric']}",
             f"{'contestant':<{width}} {'quality':>8} {'cost':>10} {'p50 ms':>8} {'errors':>6}  frontier"]
    for b in sorted(result["contestants"], key=lambda b: -b["quality"]):
        lines.append(f"{b['name']:<{width}} {b['quality']:>8.3f} {b['cost']:>10.6f} {b['latency_ms_p50']:>8.0f} "
                     f"{b['errors']:>6}  {'*' if b['name'] in front else ''}")
    names = [b["name"] for b in result["contestants"]]
    lines.append("pairwise win rate (row beats column):")
    for a in names:
        lines.append(f"  {a:<{width}} " + " ".join(
            f"{'-':>6}" if a == b else f"{result['pairwise'][a][b]:>6.0%}" for b in names))
    return "\n".join(lines)
