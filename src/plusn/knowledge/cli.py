"""``plusn kb …`` and ``plusn eval retrieval``: knowledge bases from the command line."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import jsonl
from ..assemble import assemble, deployed
from ..config import Settings
from ..errors import PlusnError
from ..evals import retrieval
from ..load_config import load_settings

T = TypeVar("T")


def _settings(config_path: str | None) -> Settings:
    try:
        return load_settings(config_path)
    except PlusnError as exc:
        raise click.ClickException(exc.message) from None


def _with_kb(config_path: str | None, name: str, job: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``job(kb)`` with the knowledge base open, its embedder started, and everything closed after."""
    settings = _settings(config_path)

    async def run() -> T:
        async with deployed(settings) as d:
            return await job(await d.knowledge.get(name))

    try:
        return asyncio.run(run())
    except PlusnError as exc:
        raise click.ClickException(exc.message) from None


config_option = click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False), default=None,
                             help="YAML config file (default: $PLUSN_CONFIG, else the embedded defaults).")


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

    hits = _with_kb(config_path, name, lambda base: base.search(query, k=k, mode=mode, filters=where or None))
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


def eval_retrieval_command() -> click.Command:
    @click.command("retrieval")
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
        settings = _settings(config_path)
        if index is None:
            digest = hashlib.sha256((data / "corpus.jsonl").read_bytes()).hexdigest()[:12]
            index = settings.data_path() / "eval" / f"{data.name}-{digest}.sqlite"
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{index}{suffix}").unlink(missing_ok=True)

        async def embedder() -> Any:
            return await assemble(settings).fleet.embedder(embedding_model)

        try:
            emb = asyncio.run(embedder())
            res = retrieval.evaluate(data, emb, index=index, progress=not no_progress)
        except PlusnError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(retrieval.report(res))
        if json_path:
            Path(json_path).write_text(json.dumps(res, indent=2, ensure_ascii=False))
            click.echo(f"wrote {json_path}")

    return eval_retrieval
