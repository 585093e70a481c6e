"""``plusn serve``, ``plusn chat``, ``plusn models`` and ``plusn keys``: the gateway from the
command line."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

import click
import httpx
import uvicorn

from ..cli_shared import clear_errors, config_option, gateway_url, settings_for, table
from ..limits.spec import LimitSpec
from .app import create_app
from .auth import KeyStore


@click.command()
@config_option
@click.option("--host", default=None, help="Address to bind (default: server.host).")
@click.option("--port", type=int, default=None, help="Port (default: server.port; 0 picks a free one).")
def serve(config_path: str | None, host: str | None, port: int | None) -> None:
    """Run the gateway."""
    settings = settings_for(config_path)
    if host is not None:
        settings.server.host = host
    if port is not None:
        settings.server.port = port
    logging.basicConfig(level=settings.server.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with clear_errors():
        app = create_app(settings)
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


@click.command()
@config_option
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
    base = gateway_url(settings_for(config_path), url)
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


@click.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def models(config_path: str | None, as_json: bool) -> None:
    """List the configured fleet and what each model can do."""
    settings = settings_for(config_path)
    rows = []
    for name, m in settings.models.items():
        c = m.capabilities
        kinds = "+".join(k for k in ("chat", "completion", "embeddings") if getattr(c, k))
        rows.append([name, m.type, kinds, "remote" if c.remote else "local", ",".join(c.languages),
                     f"{m.price.input_per_1k:g}/{m.price.output_per_1k:g}", m.max_concurrency])
    if as_json:
        click.echo(json.dumps({n: m.model_dump() for n, m in settings.models.items()}, indent=2))
        return
    click.echo(table(rows, ["model", "type", "serves", "where", "languages", "price in/out per 1k", "concurrency"]))


@click.group()
def keys() -> None:
    """Create, list and revoke API keys."""


def _keystore(config_path: str | None) -> Any:
    return KeyStore(settings_for(config_path).state_db())


@keys.command("create")
@config_option
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
@click.option("--capture", is_flag=True,
              help="Let routes that capture keep this key's prompts and answers (redacted) for learning.")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(["read", "write", "admin"]),
              help="What the key may do besides calling its models (repeatable; default: read). write: knowledge-base "
                   "documents; admin: reloads, route versions, everyone's traffic.")
def keys_create(config_path: str | None, name: str, models_: tuple[str, ...], safety: str | None, team: str | None,
                rpm: int | None, tpm: int | None, max_concurrency: int | None, budget: float | None,
                budget_period: str, capture: bool, scopes: tuple[str, ...]) -> None:
    """Create a key; it is shown once and stored hashed."""
    settings = settings_for(config_path)
    if team is not None and team not in settings.limits.teams:
        raise click.BadParameter(f"no team {team!r} in limits.teams of {settings.source}", param_hint="--team")
    limits = LimitSpec(rpm=rpm, tpm=tpm, max_concurrency=max_concurrency, budget=budget,
                       budget_period=budget_period)
    store = _keystore(config_path)
    try:
        with clear_errors():
            key = store.create(name, list(models_), safety, team, limits, capture, list(scopes))
    finally:
        store.close()
    click.echo(key)
    click.echo(f"created key {name!r}" + (f" for models: {', '.join(models_)}" if models_ else " for all models")
               + "; store it now, it is not shown again", err=True)


@keys.command("list")
@config_option
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
    click.echo(table([[r["name"], r["prefix"] + "…", ",".join(r["models"]) or "(all)", r["safety"] or "(config)",
                        r["team"] or "-", " ".join(f"{k}={v}" for k, v in r["limits"].items()) or "-",
                        ",".join(r["scopes"]), "revoked" if r["revoked"] else "active"] for r in rows],
                 ["name", "key", "models", "safety", "team", "limits", "scopes", "state"]))


@keys.command("revoke")
@config_option
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
