"""``plusn eval …``: every measurement on your own data, in one group: routing (recorded
outcomes), retrieval (BEIR sets), safety (labelled prompts), forms (scripted dialogues), tools
(prompts that need a tool or none), the response cache (question pairs) and run (a live task
suite)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import click

from ..assemble import assemble
from ..cli_shared import clear_errors, config_option, run_on_deployment, settings_for, write_json
from ..safety.detector import Detector
from . import arena, forms, report, retrieval, routing, routing_report, runs, safety, tools
from . import cache as cache_eval
from .progress import Bar


@click.group("eval")
def eval_group() -> None:
    """Measure routes, retrieval, safety and models on your own data."""


@eval_group.command("routing")
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
    with clear_errors(ValueError):  # a malformed outcome file
        if seeds > 1:
            click.echo(routing.seed_summary(data, seeds, budget, pacing=not no_pacing, embedding=not no_embedding))
            return
        res = routing.evaluate(data, seed=seed, budget=budget, progress=not no_progress, pacing=not no_pacing,
                               embedding=not no_embedding)
    click.echo(routing_report.report(res))
    write_json(json_path, res)
    png = plot_path or (str(Path(json_path).with_suffix(".png")) if json_path else "routing.png")
    if routing_report.plot(res, png):
        click.echo(f"plot: {png}")
    else:
        click.echo("no plot: install matplotlib (pip install 'plusn[eval]')")


@eval_group.command("retrieval")
@config_option
@click.option("--data", "data", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A BEIR-format folder: corpus.jsonl, queries.jsonl, qrels.tsv.")
@click.option("--json", "json_path", default=None, help="Write the figures as JSON here.")
@click.option("--index", "index", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Index file (default: under data_dir/eval/, reused while the corpus is unchanged).")
@click.option("--fresh", is_flag=True, help="Rebuild the index (measures ingest throughput anew).")
@click.option("--embedding-model", default="multilingual-e5-small", show_default=True)
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def eval_retrieval(config_path: str | None, data: Path, json_path: str | None, index: Path | None, fresh: bool,
                   embedding_model: str, no_progress: bool) -> None:
    """BM25, dense and fused retrieval side by side: nDCG@10, Recall@10, latency, ingest speed."""
    settings = settings_for(config_path)
    if index is None:
        digest = hashlib.sha256((data / "corpus.jsonl").read_bytes()).hexdigest()[:12]
        index = settings.data_path() / "eval" / f"{data.name}-{digest}.sqlite"
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{index}{suffix}").unlink(missing_ok=True)

    async def embedder() -> Any:
        return await assemble(settings).fleet.embedder(embedding_model)

    with clear_errors():
        emb = asyncio.run(embedder())
        res = retrieval.evaluate(data, emb, index=index, progress=not no_progress)
    click.echo(retrieval.report(res))
    write_json(json_path, res)


@eval_group.command("safety")
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='JSONL rows {"text", "label": 1 attack | 0 benign, "lang"?, "kind"?}.')
@click.option("--json", "json_path", default=None, help="Write the figures as JSON here.")
@click.option("--model", "model", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A detector file (default: the one that ships with plusn).")
@config_option
def eval_safety(data: Path, json_path: str | None, model: Path | None, config_path: str | None) -> None:
    """True-positive rate at 1% false positives, ROC AUC and latency, per language and kind; the
    rates at the shipped thresholds, and at the config's safety.threshold where it sets one."""
    threshold = settings_for(config_path).safety.threshold
    res = safety.evaluate(data, Detector.load(model) if model else None,
                          dict(threshold) if isinstance(threshold, dict) else threshold)
    click.echo(safety.report(res))
    write_json(json_path, res)


@eval_group.command("forms")
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False),
              help='Dialogues (JSONL: {"id", "agent", "turns": [user messages], "decision"}).')
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False), default=None,
              help="plusn config that serves the agents (default: $PLUSN_CONFIG, else the embedded defaults).")
@click.option("--half", type=click.Choice(["all", "odd", "even"]), default="all", show_default=True,
              help="Only the dialogues whose id ends in an odd or an even number (develop on one, check on the other).")
@click.option("--json", "json_path", default=None, help="Write the figures and every transcript as JSON here.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def eval_forms(data: str, config_path: str | None, half: str, json_path: str | None,
                       no_progress: bool) -> None:
    """Drive form agents through scripted dialogues: decisions right, wrong (early apart), questions asked."""
    with tempfile.TemporaryDirectory(prefix="plusn-eval-forms-") as tmp, clear_errors():
        res = asyncio.run(forms.evaluate(config_path, data, half, not no_progress, tmp))
    click.echo(forms.report(res))
    write_json(json_path, res)


@eval_group.command("tools")
@config_option
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False),
              help='Prompts (JSONL: {"id", "prompt", "tools": [names], "call": the tool it needs, or null}).')
@click.option("--tools", "catalog", default=None, type=click.Path(exists=True, dir_okay=False),
              help="The tools' definitions ({name: {description, parameters}}); default: tools.json beside --data.")
@click.option("--model", "model", default="smollm2-135m-instruct", show_default=True, help="The model or route to ask.")
@click.option("--tool-choice", "choice", type=click.Choice(["auto", "required"]), default="auto", show_default=True)
@click.option("--json", "json_path", default=None, help="Write the figures and every answer as JSON here.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def eval_tools(config_path: str | None, data: str, catalog: str | None, model: str, choice: str,
               json_path: str | None, no_progress: bool) -> None:
    """Tool calls where a prompt needs one, text where it needs none, through the model's own tool calling."""
    with clear_errors():
        rows, defs = tools.load(data, catalog)
    settings = settings_for(config_path)
    with Bar(not no_progress, f"tools {Path(data).name}", "prompt") as bar:
        res = run_on_deployment(settings, lambda d: tools.evaluate(d.fleet.run, model, rows, defs, choice,
                                                                    progress=bar.update))
    click.echo(tools.report(res))
    write_json(json_path, res)


@eval_group.command("cache")
@config_option
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False),
              help='Question pairs (JSONL: {"a", "b", "same": true|false, "lang"}; a is asked first).')
@click.option("--json", "json_path", default=None, help="Write the figures as JSON here.")
@click.option("--thresholds", default=None,
              help="The sweep: 0.85,0.9,0.95 or START:STOP:STEP  [default: 0.80:0.99:0.01]")
@click.option("--max-wrong", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="The wrong-hit rate the suggested lowest threshold must stay within (overall and per language).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def eval_cache(config_path: str | None, data: str, json_path: str | None, thresholds: str | None, max_wrong: float,
               no_progress: bool) -> None:
    """Replay question pairs through the response cache: hits on paraphrases, wrong hits on different questions."""
    settings = settings_for(config_path)
    with clear_errors():
        sweep = cache_eval.parse_thresholds(thresholds)
    res = run_on_deployment(settings, cache_eval.job(data, sweep, not no_progress, max_wrong))
    click.echo(cache_eval.report(res))
    write_json(json_path, res)


@eval_group.command("run")
@click.argument("suite_path", metavar="SUITE.yaml", type=click.Path(exists=True, dir_okay=False))
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False), default=None,
              help="plusn config (default: the suite's `config:`, else $PLUSN_CONFIG, else the embedded defaults).")
@click.option("--html", "html_path", default=None, help="Write the HTML report here (default: SUITE-report.html).")
@click.option("--json", "json_path", default=None, help="Write the whole result as JSON here.")
@click.option("--no-save", is_flag=True, help="Do not keep the run in the state database (the console lists kept runs).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def eval_run(suite_path: str, config_path: str | None, html_path: str | None, json_path: str | None,
             no_save: bool, no_progress: bool) -> None:
    """Run a task suite live: every contestant answers every task; quality, cost, latency, win rates."""
    with clear_errors():
        suite, _, folder = arena.load_suite(suite_path)
    if config_path is None and suite.config:
        config_path = str(folder / suite.config)
    settings = settings_for(config_path)

    with Bar(not no_progress, f"arena {suite.name}", "answer") as bar:
        result = run_on_deployment(settings, lambda d: arena.run_suite(d.fleet, suite_path, bar.update))
    click.echo(summary_table(result))
    # The run first: a report path that cannot be written must not cost the answers.
    if not no_save:
        runs.save(settings.state_db(), result)
    out = Path(html_path or Path(suite_path).with_name(Path(suite_path).stem + "-report.html"))
    try:
        if json_path:
            Path(json_path).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
            click.echo(f"wrote {json_path}")
        out.write_text(report.render(result), encoding="utf-8")
        click.echo(f"report: {out}")
    except OSError as exc:
        kept = "" if no_save else f"; the run is kept as {result['id']}, see /ui/#/arena"
        raise click.ClickException(f"cannot write {exc.filename}: {exc.strerror}{kept}") from None
    if not no_save:
        click.echo(f"kept as run {result['id']} (console: /ui/#/arena)")


def summary_table(result: dict[str, Any]) -> str:
    front = set(result["pareto"])
    width = max(len(b["name"]) for b in result["contestants"]) + 2
    lines = [f"{result['suite']}: {result['tasks']} tasks, metric {result['metric']}",
             f"{'contestant':<{width}} {'quality':>8} {'cost':>10} {'p50 ms':>8} {'errors':>6}  frontier"]
    for b in sorted(result["contestants"], key=lambda b: -b["quality"]):
        lines.append(f"{b['name']:<{width}} {b['quality']:>8.3f} {b['cost']:>10.6f} {b['latency_ms_p50']:>8.0f} "
                     f"{b['errors']:>6}  {'*' if b['name'] in front else ''}")
    names = [b["name"] for b in result["contestants"]]
    lines.append("pairwise win rate (row beats column):")
    for a in names:
        lines.append(f"  {a:<{width}} " + " ".join(
            f"{'-':>6}" if a == b else f"{result['pairwise'][a][b]:>6.0%}" for b in names))
    if result.get("paired"):
        lines.append("quality difference, 95% paired bootstrap CI:")
        for p in result["paired"]:
            verdict = "better" if p["low"] > 0 else "worse" if p["high"] < 0 else "no clear difference"
            lines.append(f"  {p['a']} - {p['b']}: {p['diff']:+.3f} [{p['low']:+.3f}, {p['high']:+.3f}]  {verdict}")
    return "\n".join(lines)
