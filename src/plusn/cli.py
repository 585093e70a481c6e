"""The ``plusn`` command line."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .agents.cli import agents
from .config import Settings
from .errors import PlusnError
from .evals import routing, routing_report
from .evals.cli import eval_run_command
from .evals.forms_cli import eval_forms_command
from .gateway.app import create_app
from .gateway.auth import KeyStore
from .knowledge.cli import eval_retrieval_command, kb
from .ledger.report import savings_report, usage_report
from .limits.spec import LimitSpec
from .load_config import load_settings
from .routing.cli import routes
from .safety.cli import audit, eval_safety_command, safety
from .skills.cli import skills

F = TypeVar("F", bound=Callable[..., Any])


def _config_option(f: F) -> F:
    return click.option(
        "--config", "-c", "config_path", type=click.Path(dir_okay=False), default=None,
        help="YAML config file (default: $PLUSN_CONFIG, else the embedded defaults).",
    )(f)


def _load(config_path: str | None) -> Settings:
    try:
        return load_settings(config_path)
    except PlusnError as exc:
        raise click.ClickException(exc.message) from None


@click.group()
@click.version_option(package_name="plusn")
def main() -> None:
    """plusn: one private OpenAI-compatible endpoint over a 1+N fleet of models."""


# --- serve ---------------------------------------------------------------------------------


@main.command()
@_config_option
@click.option("--host", default=None, help="Address to bind (default: server.host).")
@click.option("--port", type=int, default=None, help="Port (default: server.port; 0 picks a free one).")
def serve(config_path: str | None, host: str | None, port: int | None) -> None:
    """Run the gateway."""
    import uvicorn

    settings = _load(config_path)
    if host is not None:
        settings.server.host = host
    if port is not None:
        settings.server.port = port
    logging.basicConfig(level=settings.server.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app(settings)
    except PlusnError as exc:
        raise click.ClickException(exc.message) from None
    config = uvicorn.Config(
        app, host=settings.server.host, port=settings.server.port,
        log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.05)
        sock = server.servers[0].sockets[0].getsockname()
        click.echo(f"plusn listening on http://{sock[0]}:{sock[1]}  (config: {settings.source})")
        click.echo(f"models loaded: {', '.join(app.state.loaded) or '(none)'}")
        click.echo(f"ledger: {settings.state_db()}", err=False)
        sys.stdout.flush()

    async def run() -> None:
        task = asyncio.create_task(announce())
        await server.serve()
        task.cancel()

    # uvicorn's own loop choice ("auto": uvloop where installed, as with uvicorn[standard]):
    # about 12% more requests/s through the gateway than asyncio's loop in bench/gateway.py.
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(run())
    if not server.started:
        raise click.ClickException("the server did not start; see the log above")


# --- chat ----------------------------------------------------------------------------------


def _base_url(settings: Settings, url: str | None) -> str:
    if url:
        return url.rstrip("/")
    host = settings.server.host if settings.server.host not in ("0.0.0.0", "::") else "127.0.0.1"
    return f"http://{host}:{settings.server.port}"


@main.command()
@_config_option
@click.argument("prompt")
@click.option("-m", "--model", default="smollm2-135m-instruct", show_default=True)
@click.option("--system", default=None, help="A system message.")
@click.option("--completion", is_flag=True, help="Send a raw prompt to /v1/completions (base models).")
@click.option("--max-tokens", type=int, default=256, show_default=True)
@click.option("--url", envvar="PLUSN_URL", default=None, help="Gateway URL (default: from the config).")
@click.option("--api-key", envvar="PLUSN_API_KEY", default=None, help="API key ($PLUSN_API_KEY).")
def chat(config_path: str | None, prompt: str, model: str, system: str | None, completion: bool,
         max_tokens: int, url: str | None, api_key: str | None) -> None:
    """Ask a running gateway and stream the answer to the terminal."""
    import httpx

    base = _base_url(_load(config_path), url)
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    body: dict[str, Any] = {"model": model, "stream": True, "max_tokens": max_tokens,
                            "stream_options": {"include_usage": True}}
    if completion:
        path, body["prompt"] = "/v1/completions", prompt
    else:
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        path, body["messages"] = "/v1/chat/completions", messages
    usage: dict[str, Any] = {}
    plusn: dict[str, Any] = {}
    try:
        with httpx.stream("POST", base + path, json=body, headers=headers, timeout=httpx.Timeout(10, read=300)) as r:
            if r.status_code >= 400:
                r.read()
                raise click.ClickException(f"{r.status_code}: {r.json().get('error', {}).get('message', r.text)}")
            for line in r.iter_lines():
                if not line.startswith("data:") or line.strip() == "data: [DONE]":
                    continue
                chunk = json.loads(line[5:])
                if "error" in chunk:
                    raise click.ClickException(chunk["error"].get("message", "stream failed"))
                for c in chunk.get("choices", []):
                    text = c.get("text") if completion else (c.get("delta") or {}).get("content")
                    if text:
                        click.echo(text, nl=False)
                usage = chunk.get("usage") or usage
                plusn = chunk.get("plusn") or plusn
    except httpx.ConnectError:
        raise click.ClickException(f"no gateway at {base}; start one with `plusn serve` or pass --url") from None
    click.echo()
    if usage:
        click.echo(
            f"[{', '.join(plusn.get('served_models', [model]))}: {usage.get('prompt_tokens')} in, "
            f"{usage.get('completion_tokens')} out, cost {plusn.get('cost', 0):g}]",
            err=True,
        )


# --- models, usage, keys, config --------------------------------------------------------------


def _table(rows: list[list[Any]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*[str(x) for x in r]) for r in rows]
    return "\n".join(lines)


@main.command()
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def models(config_path: str | None, as_json: bool) -> None:
    """List the configured fleet and what each model can do."""
    settings = _load(config_path)
    rows = []
    for name, m in settings.models.items():
        c = m.capabilities
        kinds = "+".join(k for k in ("chat", "completion", "embeddings") if getattr(c, k))
        rows.append([name, m.type, kinds, "remote" if c.remote else "local", ",".join(c.languages),
                     f"{m.price.input_per_1k:g}/{m.price.output_per_1k:g}", m.max_concurrency])
    if as_json:
        click.echo(json.dumps({n: m.model_dump() for n, m in settings.models.items()}, indent=2))
        return
    click.echo(_table(rows, ["model", "type", "serves", "where", "languages", "price in/out per 1k", "concurrency"]))


@main.command()
@_config_option
@click.option("--by", "by", multiple=True, type=click.Choice(["key", "model", "day"]),
              help="Group by these (repeatable; default: day, key and model).")
@click.option("--days", type=int, default=None, help="Only the last N days.")
@click.option("--savings", is_flag=True, help="Cost against always calling the largest model, by route.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def usage(config_path: str | None, by: tuple[str, ...], days: int | None, savings: bool, as_json: bool) -> None:
    """Tokens and cost from the ledger, by key, model and day."""
    settings = _load(config_path)
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
    click.echo(_table([[_fmt(r[c]) for c in cols] for r in rows], cols))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "-" if v is None else str(v)


@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


def _keystore(config_path: str | None) -> Any:
    return KeyStore(_load(config_path).state_db())


@keys.command("create")
@_config_option
@click.option("--name", required=True, help="Who the key is for, e.g. team-a.")
@click.option("--model", "models_", multiple=True, help="Limit the key to this model (repeatable).")
@click.option("--safety", type=click.Choice(["block", "flag", "allow"]), default=None,
              help="This key's input policy (default: safety.input from the config).")
@click.option("--team", default=None, help="A team of limits.teams, whose limits the key shares.")
@click.option("--rpm", type=click.IntRange(min=1), default=None, help="Requests per minute.")
@click.option("--tpm", type=click.IntRange(min=1), default=None, help="Tokens per minute.")
@click.option("--max-concurrency", type=click.IntRange(min=1), default=None, help="Requests at once.")
@click.option("--budget", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Spending allowed per --budget-period, in the deployment's currency.")
@click.option("--budget-period", type=click.Choice(["day", "month", "total"]), default="month", show_default=True)
def keys_create(config_path: str | None, name: str, models_: tuple[str, ...], safety: str | None, team: str | None,
                rpm: int | None, tpm: int | None, max_concurrency: int | None, budget: float | None,
                budget_period: str) -> None:
    """Create a key; it is shown once and stored hashed."""
    settings = _load(config_path)
    if team is not None and team not in settings.limits.teams:
        raise click.BadParameter(f"no team {team!r} in limits.teams of {settings.source}", param_hint="--team")
    limits = LimitSpec(rpm=rpm, tpm=tpm, max_concurrency=max_concurrency, budget=budget,
                       budget_period=budget_period)
    store = _keystore(config_path)
    try:
        key = store.create(name, list(models_), safety, team, limits)
    except PlusnError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        store.close()
    click.echo(key)
    click.echo(f"created key {name!r}" + (f" for models: {', '.join(models_)}" if models_ else " for all models")
               + "; store it now, it is not shown again", err=True)


@keys.command("list")
@_config_option
def keys_list(config_path: str | None) -> None:
    """List keys (never their secret)."""
    store = _keystore(config_path)
    try:
        rows = store.list()
    finally:
        store.close()
    if not rows:
        click.echo("no keys: the gateway is open to anyone who can reach it")
        return
    click.echo(_table([[r["name"], r["prefix"] + "…", ",".join(r["models"]) or "(all)", r["safety"] or "(config)",
                        r["team"] or "-", " ".join(f"{k}={v}" for k, v in r["limits"].items()) or "-",
                        "revoked" if r["revoked"] else "active"] for r in rows],
                      ["name", "key", "models", "safety", "team", "limits", "state"]))


@keys.command("revoke")
@_config_option
@click.argument("name")
def keys_revoke(config_path: str | None, name: str) -> None:
    """Revoke a key by name."""
    store = _keystore(config_path)
    try:
        ok = store.revoke(name)
    finally:
        store.close()
    if not ok:
        raise click.ClickException(f"no active key named {name!r}")
    click.echo(f"revoked {name!r}")


@main.group("eval")
def eval_() -> None:
    """Measure routes and models on your own data."""


@eval_.command("routing")
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Outcome file (JSONL: a header line, then prompt + per-model outcomes).")
@click.option("--json", "json_path", default=None, help="Write the figures as JSON here.")
@click.option("--plot", "plot_path", default=None, help="PNG plot path (default: next to --json, or routing.png).")
@click.option("--budget", type=click.FloatRange(0, 1, min_open=True), default=0.19, show_default=True,
              help="The knob: the most a route may spend, as a fraction of always calling the most expensive model.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the 50/50 train/test split.")
@click.option("--seeds", type=int, default=1, show_default=True,
              help="Repeat over this many split seeds (0..N-1) and summarise how stable the result is.")
@click.option("--no-pacing", is_flag=True, help="Keep the fitted knob instead of pacing the test half to the budget.")
@click.option("--no-embedding", is_flag=True, help="Predict success from character n-grams only.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def eval_routing(data: str, json_path: str | None, plot_path: str | None, budget: float, seed: int,
                 seeds: int, no_pacing: bool, no_embedding: bool, no_progress: bool) -> None:
    """Fit a policy on a training split, as `plusn routes fit` does, and replay the test split through it."""
    try:
        if seeds > 1:
            click.echo(routing.seed_summary(data, seeds, budget, pacing=not no_pacing, embedding=not no_embedding))
            return
        res = routing.evaluate(data, seed=seed, budget=budget, progress=not no_progress, pacing=not no_pacing,
                               embedding=not no_embedding)
    except (PlusnError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(routing_report.report(res))
    if json_path:
        Path(json_path).write_text(json.dumps(res, indent=2))
        click.echo(f"wrote {json_path}")
    png = plot_path or (str(Path(json_path).with_suffix(".png")) if json_path else "routing.png")
    if routing_report.plot(res, png):
        click.echo(f"plot: {png}")
    else:
        click.echo("no plot: install matplotlib (pip install 'plusn[eval]')")


def _register() -> None:
    main.add_command(kb)
    main.add_command(routes)
    main.add_command(skills)
    main.add_command(agents)
    main.add_command(safety)
    main.add_command(audit)
    eval_.add_command(eval_retrieval_command())
    eval_.add_command(eval_safety_command())
    eval_.add_command(eval_run_command)
    eval_.add_command(eval_forms_command)


_register()


@main.group()
def config() -> None:
    """Work with config files."""


@config.command("check")
@click.argument("path", type=click.Path(dir_okay=False), required=False)
def config_check(path: str | None) -> None:
    """Validate a config file (default: the embedded defaults)."""
    settings = _load(path or os.environ.get("PLUSN_CONFIG"))
    click.echo(f"ok: {settings.source}: {len(settings.models)} models ({', '.join(settings.models)}); "
               f"data in {settings.data_path()}")


if __name__ == "__main__":  # pragma: no cover
    main()
