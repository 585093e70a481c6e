"""``plusn kb …``: knowledge bases from the command line."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import jsonl
from ..assemble import Deployment
from ..cli_shared import config_option, run_on_deployment, settings_for

T = TypeVar("T")


def _with_kb(config_path: str | None, name: str, job: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``job(kb)`` with the knowledge base open, its embedder started, and everything closed after."""

    async def on_kb(d: Deployment) -> T:
        return await job(await d.knowledge.get(name))

    return run_on_deployment(settings_for(config_path), on_kb)


@click.group("kb")
def kb() -> None:
    """Knowledge bases: ingest documents, search them, calibrate the fusion."""


@kb.command("ingest")
@config_option
@click.argument("name")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--meta", "meta", multiple=True, help="key=value metadata on every document (repeatable).")
@click.option("--keep-missing", is_flag=True, help="Keep documents whose files are gone from the given folders.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def kb_ingest(config_path: str | None, name: str, paths: tuple[Path, ...], meta: tuple[str, ...],
              keep_missing: bool, no_progress: bool) -> None:
    """Read txt, md, html, pdf and docx files (folders recursively) into knowledge base NAME.

    Unchanged files are skipped by content hash; files gone from the given folders are removed.
    """
    tags: dict[str, str] = {}
    for m in meta:
        key, sep, value = m.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected key=value, got {m!r}", param_hint="--meta")
        tags[key] = value

    async def job(base: Any) -> Any:
        bar: Any = None
        if not no_progress:
            from tqdm import tqdm

            bar = tqdm(desc=f"ingesting into {name}", unit="chunk", leave=False)

        def tick(done: int, total: int) -> None:
            if bar is not None:
                bar.total = total
                bar.n = done
                bar.refresh()

        try:
            return await base.ingest_files(list(paths), delete_missing=not keep_missing, meta=tags, progress=tick)
        finally:
            if bar is not None:
                bar.close()

    report = _with_kb(config_path, name, job)
    r = report.as_dict()
    click.echo(f"{name}: {r['added']} added, {r['updated']} updated, {r['unchanged']} unchanged, "
               f"{r['deleted']} deleted; {r['chunks']} chunks in {r['seconds']:.1f}s ({r['chunks_per_s']:.1f} chunks/s)")
    for source, why in r["failed"].items():
        click.echo(f"  failed: {source}: {why}", err=True)


@kb.command("search")
@config_option
@click.argument("name")
@click.argument("query")
@click.option("-k", "k", type=int, default=5, show_default=True)
@click.option("--mode", type=click.Choice(["adaptive", "rrf", "bm25", "dense"]), default=None,
              help="Retrieval mode (default: the knowledge base's own).")
@click.option("--filter", "filters", multiple=True, help="key=value on document metadata (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def kb_search(config_path: str | None, name: str, query: str, k: int, mode: str | None, filters: tuple[str, ...],
              as_json: bool) -> None:
    """Search knowledge base NAME."""
    where: dict[str, Any] = {}
    for f in filters:
        key, _, value = f.partition("=")
        where.setdefault(key, []).append(value)

    # the operator's own tool: every document, access lists or not
    hits = _with_kb(config_path, name, lambda base: base.search(query, k=k, mode=mode, filters=where or None,
                                                                viewer=None))
    cites = [h.citation(i) for i, h in enumerate(hits, 1)]
    if as_json:
        click.echo(json.dumps(cites, ensure_ascii=False, indent=2))
        return
    if not cites:
        click.echo("no results")
    for c in cites:
        click.echo(f"[{c['n']}] {c['score']:.3f}  {c['title']}  ({c['document']}, chunk {c['chunk']})")
        if c["heading"]:
            click.echo(f"    {c['heading']}")
        click.echo(f"    {c['snippet']}")


@kb.command("calibrate")
@config_option
@click.argument("name")
@click.argument("judged", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def kb_calibrate(config_path: str | None, name: str, judged: Path) -> None:
    """Choose NAME's keyword/vector fusion from judged queries.

    JUDGED is JSONL, one query per line: {"query": "…", "relevant": {"<document source>": grade, …}}
    (a list of sources means grade 1 each). Sources are what `kb search --json` shows as "document".
    """
    rows = []
    for n, line in enumerate(jsonl.read_lines(judged), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            rel = obj["relevant"]
            rows.append((str(obj["query"]), {str(d): 1 for d in rel} if isinstance(rel, list)
                         else {str(d): int(g) for d, g in rel.items()}))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise click.ClickException(f"{judged}:{n}: expected {{\"query\", \"relevant\"}}: {exc}") from None
    params = _with_kb(config_path, name, lambda base: base.calibrate(rows))
    click.echo(f"{name}: fusion {params.label} from {params.calibrated_on} judged queries ({params.note})")
