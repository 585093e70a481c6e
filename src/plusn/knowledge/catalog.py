"""The configured knowledge bases and SQL databases of one deployment."""

from __future__ import annotations

import asyncio
import logging
import time

from ..config import Settings, resolve_paths
from ..errors import NotFound
from ..fleet.backend import Embedder
from ..package_data import is_package_ref, source_name
from .knowledge_base import IngestReport, KnowledgeBase, Store
from .postgres_store import PostgresStore
from .spec import KnowledgeSpec
from .sql import SQLTool
from .sqlite_store import SQLiteStore

log = logging.getLogger("plusn.knowledge")


def open_store(settings: Settings, name: str, spec: KnowledgeSpec) -> Store:
    if spec.store == "postgres":
        assert spec.dsn is not None
        return PostgresStore(spec.dsn, name)
    return SQLiteStore(settings.data_path() / "kb" / f"{name}.sqlite")


class Knowledge:
    """Knowledge bases are opened on first use (their embedder starts with them). A base with
    ``paths`` ingests them then, once per process, before anyone searches it."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self._open: dict[str, KnowledgeBase] = {}
        self._syncs: dict[str, asyncio.Future[IngestReport]] = {}
        self.sql = {name: SQLTool(name, spec, settings.source) for name, spec in settings.sql.items()}

    def names(self) -> list[str]:
        return list(self.settings.knowledge)

    async def get(self, name: str) -> KnowledgeBase:
        kb = await self._base(name)
        if kb.spec.paths:
            await self.synced(name)
        return kb

    async def _base(self, name: str) -> KnowledgeBase:
        kb = self._open.get(name)
        if kb is None:
            spec = self.settings.knowledge.get(name)
            if spec is None:
                known = ", ".join(self.settings.knowledge) or "(none configured)"
                raise NotFound(f"knowledge base {name!r} not found; knowledge bases: {known}")
            embedder = await self.embedder(spec.embedding_model)
            kb = self._open.get(name)  # another caller may have opened it while the embedder started
            if kb is None:
                kb = self._open[name] = KnowledgeBase(name, spec, open_store(self.settings, name, spec), embedder)
        return kb

    def generations(self) -> str:
        """The write generation of each base opened so far, e.g. ``"faq=3,hr=7"``: it changes
        whenever a document is added or removed (by this process or another), so what was
        answered from the bases before is told apart. A base opens on its first use; its
        generation joins then."""
        return ",".join(f"{name}={kb.store.generation()}" for name, kb in sorted(self._open.items()))

    def warm(self) -> None:
        """Start ingesting every base's ``paths`` in the background (the gateway calls this at
        start-up, so the first question does not wait for it unless it comes very early)."""
        for name, spec in self.settings.knowledge.items():
            if spec.paths and name not in self._syncs:
                self._syncs[name] = asyncio.ensure_future(self._sync(name))

    async def synced(self, name: str) -> IngestReport:
        """Ingest the base's ``paths`` once per process; callers at the same time wait for the
        same run. A failed run is tried again by the next caller."""
        run = self._syncs.get(name)
        if run is None:
            run = self._syncs[name] = asyncio.ensure_future(self._sync(name))
        try:
            # shielded: a request that gives up (its client left) must not stop everyone's ingestion
            return await asyncio.shield(run)
        except Exception:
            if run.done() and self._syncs.get(name) is run:
                self._syncs.pop(name)
            raise

    async def _sync(self, name: str) -> IngestReport:
        kb = await self._base(name)
        refs = kb.spec.paths
        paths = resolve_paths(refs, self.settings.source)
        # files under pkg: folders keep their pkg: name, the same wherever the package is installed
        roots = {p: ref for p, ref in zip(paths, refs, strict=True) if is_package_ref(ref)}
        t0 = time.perf_counter()
        try:
            report = await kb.ingest_files(paths, name=lambda f: source_name(f, roots))
        except Exception:
            # started in the background at start-up, where no request would show the error
            log.exception("knowledge base %s: ingesting its paths failed; the next search tries again", name)
            raise
        log.info("knowledge base %s, from its paths: %d added, %d updated, %d unchanged, %d deleted; %d chunks; "
                 "%.1f s", name, report.added, report.updated, report.unchanged, report.deleted, report.chunks,
                 time.perf_counter() - t0)
        for source, why in report.failed.items():
            log.warning("knowledge base %s: %s was not ingested: %s", name, source, why)
        return report

    def tool(self, name: str) -> SQLTool:
        t = self.sql.get(name)
        if t is None:
            raise NotFound(f"SQL database {name!r} not found; databases: {', '.join(self.sql) or '(none configured)'}")
        return t

    async def close(self) -> None:
        runs = list(self._syncs.values())
        for run in runs:
            run.cancel()  # a document being written finishes on its own thread and connection
        await asyncio.gather(*runs, return_exceptions=True)
        self._syncs.clear()
        for kb in self._open.values():
            kb.store.close()
        self._open.clear()
