"""The configured knowledge bases and SQL databases of one deployment."""

from __future__ import annotations

from ..config import Settings
from ..errors import NotFound
from ..fleet.backend import Embedder
from .knowledge_base import KnowledgeBase, Store
from .postgres_store import PostgresStore
from .spec import KnowledgeSpec
from .sql import SQLTool
from .sqlite_store import SQLiteStore


def open_store(settings: Settings, name: str, spec: KnowledgeSpec) -> Store:
    if spec.store == "postgres":
        assert spec.dsn is not None
        return PostgresStore(spec.dsn, name)
    return SQLiteStore(settings.data_path() / "kb" / f"{name}.sqlite")


class Knowledge:
    """Knowledge bases are opened on first use (their embedder starts with them)."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self._open: dict[str, KnowledgeBase] = {}
        self.sql = {name: SQLTool(name, spec, settings.source) for name, spec in settings.sql.items()}

    def names(self) -> list[str]:
        return list(self.settings.knowledge)

    async def get(self, name: str) -> KnowledgeBase:
        kb = self._open.get(name)
        if kb is None:
            spec = self.settings.knowledge.get(name)
            if spec is None:
                known = ", ".join(self.settings.knowledge) or "(none configured)"
                raise NotFound(f"knowledge base {name!r} not found; knowledge bases: {known}")
            embedder = await self.embedder(spec.embedding_model)
            kb = self._open[name] = KnowledgeBase(name, spec, open_store(self.settings, name, spec), embedder)
        return kb

    def generations(self) -> str:
        """The write generation of each base opened so far, e.g. ``"faq=3,hr=7"``: it changes
        whenever a document is added or removed (by this process or another), so what was
        answered from the bases before is told apart. A base opens on its first use; its
        generation joins then."""
        return ",".join(f"{name}={kb.store.generation()}" for name, kb in sorted(self._open.items()))

    def tool(self, name: str) -> SQLTool:
        t = self.sql.get(name)
        if t is None:
            raise NotFound(f"SQL database {name!r} not found; databases: {', '.join(self.sql) or '(none configured)'}")
        return t

    def close(self) -> None:
        for kb in self._open.values():
            kb.store.close()
        self._open.clear()
