"""The ``plusn`` command line, assembled from one list of commands and groups.

Each group lives with its concept (``gateway/cli.py`` serves, ``evals/cli.py`` measures, ...);
a new command joins one of them, and a new group is one line in :data:`COMMANDS`.
"""

from __future__ import annotations

import os

import click

from .agents.cli import agents
from .cache.cli import cache
from .cli_shared import settings_for
from .evals.cli import eval_group
from .gateway.cli import chat, keys, models, serve
from .knowledge.cli import kb
from .learning.cli import learning
from .ledger.cli import usage
from .mcp.cli import mcp
from .routing.cli import routes
from .safety.cli import audit, safety
from .skills.cli import skills
from .tune.cli import tune


@click.group()
def config() -> None:
    """Work with config files."""


@config.command("check")
@click.argument("path", type=click.Path(dir_okay=False), required=False)
def config_check(path: str | None) -> None:
    """Validate a config file (default: the embedded defaults)."""
    settings = settings_for(path or os.environ.get("PLUSN_CONFIG"))
    click.echo(f"ok: {settings.source}: {len(settings.models)} models ({', '.join(settings.models)}); "
               f"data in {settings.data_path()}")


COMMANDS: list[click.Command] = [serve, chat, models, usage, keys, kb, routes, skills, agents, mcp, safety, audit,
                                 learning, cache, tune, eval_group, config]


def build(commands: list[click.Command]) -> click.Group:
    @click.group(commands=commands)
    @click.version_option(package_name="plusn")
    def plusn() -> None:
        """plusn: one private OpenAI-compatible endpoint over a 1+N fleet of models."""

    return plusn


main = build(COMMANDS)

if __name__ == "__main__":  # pragma: no cover
    main()
