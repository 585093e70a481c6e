"""``plusn agents list|run|validate``: agents, workflows and forms from the command line."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

import click

from ..cli_shared import clear_errors, config_option, settings_for, with_fleet
from ..errors import ConfigError
from .backend import AgentBackend
from .library import agent_files, load_agents, load_file


@click.group()
def agents() -> None:
    """Agents, workflows and forms, served as agent:<name>."""


@agents.command("list")
@config_option
def list_agents(config_path: str | None) -> None:
    """The agents in the config's agents.paths."""
    settings = settings_for(config_path)
    with clear_errors():
        found = load_agents(settings.agents.resolved(settings.source), settings.source)
    for a in found.values():
        s = a.spec
        extra = f"{len(s.nodes)} nodes" if s.kind == "workflow" else f"{len(s.tools)} tools" if s.kind == "agent" \
            else f"{len(s.nodes[0].form.slots) if s.nodes[0].form else 0} slots"
        click.echo(f"agent:{a.name:<22} {a.version}  {s.kind:<8} {extra:<9} {s.description[:60]}")


@agents.command("validate")
@config_option
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
def validate(config_path: str | None, files: tuple[Path, ...]) -> None:
    """Check agent files (default: the config's agents.paths): each error names file, line and key."""
    if not files:
        settings = settings_for(config_path)
        with clear_errors():
            paths = agent_files(settings.agents.resolved(settings.source), settings.source)
    else:
        paths = agent_files(list(files))
    bad = 0
    for p in paths:
        try:
            a = load_file(p)
            click.echo(f"ok     {p}  ({a.spec.kind}, version {a.version})")
        except ConfigError as exc:
            bad += 1
            click.echo(f"error  {exc.message}", err=True)
    if not files:
        try:  # the references too: models, skills, knowledge bases, databases
            with_fleet(config_path, _noop)
        except click.ClickException as exc:
            bad += 1
            click.echo(f"error  {exc.message}", err=True)
    if bad:
        raise SystemExit(1)


async def _noop(fleet: Any) -> None:
    return None


@agents.command("run")
@config_option
@click.argument("name")
@click.argument("text", required=False)
@click.option("--session", default=None, help="Continue this conversation (its state is kept between runs).")
@click.option("--trace", "show_trace", is_flag=True, help="Print the steps taken.")
def run(config_path: str | None, name: str, text: str | None, session: str | None, show_trace: bool) -> None:
    """One turn with TEXT, or a conversation on the terminal (a line per turn) without it."""
    sid = session or uuid.uuid4().hex[:12]

    async def job(fleet: Any) -> None:
        b = fleet.members.get(f"agent:{name}")
        if not isinstance(b, AgentBackend):
            raise click.ClickException(f"no agent named {name!r}; see: plusn agents list")
        await fleet.backend(f"agent:{name}", "chat")
        history: list[dict[str, Any]] = []
        lines = [text] if text is not None else (line.rstrip("\n") for line in sys.stdin)
        if text is None and sys.stdin.isatty():
            click.echo(f"session {sid}; an empty line or Ctrl-D ends it", err=True)
        for line in lines:
            if not line.strip():
                break
            history.append({"role": "user", "content": line})
            gen = await b.answer(history, sid, 0)
            history.append({"role": "assistant", "content": gen.text})
            click.echo(gen.text)
            route = gen.route or {}
            if show_trace:
                click.echo(json.dumps({k: route[k] for k in ("trace", "decision") if k in route},
                                      ensure_ascii=False, indent=2), err=True)
        if text is not None and (gen.route or {}).get("status") == "waiting":
            click.echo(f"(waiting for an answer: plusn agents run {name} --session {sid} '…')", err=True)

    with_fleet(config_path, job)
