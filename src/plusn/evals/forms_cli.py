"""``plusn eval forms --data FILE``: scripted dialogues through a form agent, from the command line."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import click

from ..agents.backend import AgentBackend
from ..assemble import deployed
from ..errors import PlusnError
from ..load_config import load_settings
from .forms import decisions_of, load_dialogues, report, run_dialogue, summarise
from .progress import Bar


async def evaluate(config_path: str | None, data: str | Path, half: str = "all", progress: bool = False,
                   data_dir: str | None = None) -> dict[str, Any]:
    """Every dialogue of ``data`` through the agents of the config, scored; ``data_dir`` keeps
    the conversations' state apart from the deployment's own."""
    dialogues = load_dialogues(data, half)
    overrides = {"data_dir": data_dir} if data_dir else None
    settings = load_settings(config_path, overrides=overrides)
    bar = Bar(progress, "forms", "dialogue")
    results = []
    try:
        async with deployed(settings) as d:
            for i, dlg in enumerate(dialogues):
                backend = d.fleet.members.get(f"agent:{dlg.agent}")
                if not isinstance(backend, AgentBackend):
                    raise PlusnError(f"{data}: dialogue {dlg.id} names agent {dlg.agent!r}, which is not in "
                                     f"{settings.source}; see: plusn agents list")
                results.append(await run_dialogue(d.fleet.run, dlg, decisions_of(backend.agent.spec)))
                bar.update(i + 1, len(dialogues))
    finally:
        bar.close()
    return {"data": str(data), "half": half, "forms": summarise(results), "dialogues": results}


@click.command("forms")
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False),
              help='Dialogues (JSONL: {"id", "agent", "turns": [user messages], "decision"}).')
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False), default=None,
              help="plusn config that serves the agents (default: $PLUSN_CONFIG, else the embedded defaults).")
@click.option("--half", type=click.Choice(["all", "odd", "even"]), default="all", show_default=True,
              help="Only the dialogues whose id ends in an odd or an even number (develop on one, check on the other).")
@click.option("--json", "json_path", default=None, help="Write the figures and every transcript as JSON here.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def eval_forms_command(data: str, config_path: str | None, half: str, json_path: str | None,
                       no_progress: bool) -> None:
    """Drive form agents through scripted dialogues: decisions right, wrong (early apart), questions asked."""
    with tempfile.TemporaryDirectory(prefix="plusn-eval-forms-") as tmp:
        try:
            res = asyncio.run(evaluate(config_path, data, half, not no_progress, tmp))
        except PlusnError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(report(res))
    if json_path:
        Path(json_path).write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
        click.echo(f"wrote {json_path}")
