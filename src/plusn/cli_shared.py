"""What every ``plusn`` command shares: the ``--config`` option, settings loaded with a clear
error, plusn's errors shown as one line, a job run on an assembled deployment, and tables."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from .assemble import Deployment, deployed
from .config import Settings
from .errors import PlusnError
from .fleet.roster import Fleet
from .load_config import load_settings

T = TypeVar("T")

config_option = click.option(
    "--config", "-c", "config_path", type=click.Path(dir_okay=False), default=None,
    help="YAML config file (default: $PLUSN_CONFIG, else the embedded defaults).",
)


@contextmanager
def clear_errors(*also: type[Exception]) -> Iterator[None]:
    """plusn's own errors (a bad config, a bad input, a missing extra), and the kinds in
    ``also``, end the command with their message, not a traceback; anything else is a bug and
    keeps its traceback."""
    try:
        yield
    except PlusnError as exc:
        raise click.ClickException(exc.message) from None
    except also as exc:
        raise click.ClickException(str(exc)) from None


def settings_for(config_path: str | None) -> Settings:
    with clear_errors():
        return load_settings(config_path)


def run_on_deployment(settings: Settings, job: Callable[[Deployment], Awaitable[T]]) -> T:
    """Run ``job`` on the deployment the settings describe (members start on first use) and
    close everything after."""

    async def run() -> T:
        async with deployed(settings) as d:
            return await job(d)

    with clear_errors():
        return asyncio.run(run())


def write_json(path: str | None, obj: Any) -> None:
    """``--json PATH``: the figures as JSON, when asked for."""
    if path:
        Path(path).write_text(json.dumps(obj, indent=2, ensure_ascii=False), encoding="utf-8")
        click.echo(f"wrote {path}")


def gateway_url(settings: Settings, url: str | None) -> str:
    """``--url``, else the gateway the config describes (on this machine if it binds every address)."""
    if url:
        return url.rstrip("/")
    host = settings.server.host if settings.server.host not in ("0.0.0.0", "::") else "127.0.0.1"
    return f"http://{host}:{settings.server.port}"


def table(rows: list[list[Any]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*[str(x) for x in r]) for r in rows]
    return "\n".join(lines)


def with_fleet(config_path: str | None, job: Callable[[Fleet], Awaitable[T]]) -> T:
    """Run ``job(fleet)`` on the configured fleet (models start on first use), closing it after."""
    return run_on_deployment(settings_for(config_path), lambda d: job(d.fleet))
