"""``plusn skills list|run``: the prompt library from the command line."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..cli_shared import config_option, with_fleet
from ..gateway.skills import describe
from .backend import SkillBackend


@click.group()
def skills() -> None:
    """Prompt skills: versioned templates served as skill:<name> and POST /v1/skills/<name>."""


@skills.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_skills(config_path: str | None, as_json: bool) -> None:
    """The skills, their versions and variables."""
    async def job(fleet: Any) -> list[dict[str, Any]]:
        return [describe(m) for m in fleet.members.values() if isinstance(m, SkillBackend)]

    rows = with_fleet(config_path, job)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        required = [n for n, v in r["variables"].items() if v.get("required", True) and "default" not in v]
        click.echo(f"{r['id']:<18} {r['version']}  -> {r['target']:<10} {', '.join(required) or '-':<12} "
                   f"{r['description'][:70]}")


@skills.command("run")
@config_option
@click.argument("name")
@click.argument("text", required=False)
@click.option("--var", "-v", "pairs", multiple=True, metavar="NAME=VALUE", help="A variable (repeatable).")
@click.option("--input-json", "input_json", default=None, help="All variables as one JSON object.")
def run_skill(config_path: str | None, name: str, text: str | None, pairs: tuple[str, ...],
              input_json: str | None) -> None:
    """Run a skill once. TEXT (or stdin, with '-') fills its input variable."""
    given: dict[str, Any] = json.loads(input_json) if input_json else {}
    for p in pairs:
        if "=" not in p:
            raise click.BadParameter(f"{p!r} is not NAME=VALUE", param_hint="--var")
        k, _, v = p.partition("=")
        given[k] = v
    if text == "-":
        text = sys.stdin.read()

    async def job(fleet: Any) -> dict[str, Any]:
        b = fleet.members.get(f"skill:{name}")
        if not isinstance(b, SkillBackend):
            raise click.ClickException(f"no skill named {name!r}; see: plusn skills list")
        if text is not None:
            var = b.skill.spec.input_variable()
            if var is None:
                raise click.ClickException(f"skill {name!r} takes several variables; use --var NAME=VALUE")
            given.setdefault(var, text)
        await fleet.backend(f"skill:{name}", "chat")
        gen, output = await b.invoke(b.variables(given))
        return {"skill": name, "version": b.skill.version, "output": output, "model": gen.model,
                "usage": gen.usage.as_dict(), "attempts": (gen.route or {}).get("attempts")}

    click.echo(json.dumps(with_fleet(config_path, job), ensure_ascii=False, indent=2))
