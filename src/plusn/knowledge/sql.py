"""The ``sql`` tool: read-only queries over a configured SQLite file or Postgres database.

Read-only is enforced twice, so one mistake is not enough to write:

1. **The statement.** It is parsed (sqlglot) and must be exactly one SELECT (set operations and
   CTEs allowed) with no write anywhere in its tree, including a DELETE hidden in a CTE,
   ``SELECT … INTO``, PRAGMA, ATTACH, and functions with side effects.
2. **The connection.** SQLite opens the file with ``mode=ro``, sets ``query_only`` and installs
   an authorizer that allows only reads; Postgres runs every query in a READ ONLY transaction
   with a statement timeout (use a read-only role as well; see docs/knowledge.md).

Rows are capped at ``max_rows`` and each query at ``timeout_s``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..errors import ConfigError, InvalidRequest, MissingDependency
from ..telemetry.spans import span
from .spec import SQLSpec

# Functions that read files, load code, sleep or change settings: refused by name.
_UNSAFE_FUNCTIONS = frozenset({
    "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer", "zipfile",
    "pg_sleep", "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "lo_import", "lo_export",
    "lo_unlink", "set_config", "dblink", "dblink_exec", "pg_terminate_backend", "pg_cancel_backend",
    "pg_reload_conf", "pg_rotate_logfile", "copy", "nextval", "setval", "txid_current",
})


class UnsafeSQL(InvalidRequest):
    """A statement the sql tool refuses to run."""


def validate(sql: str, dialect: str) -> str:
    """The statement, if it is one read-only SELECT; else :class:`UnsafeSQL` saying why."""
    import sqlglot
    from sqlglot import exp

    text = sql.strip().rstrip(";").strip()
    if not text:
        raise UnsafeSQL("empty SQL statement")
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise UnsafeSQL(f"cannot parse the SQL: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise UnsafeSQL(f"exactly one statement is allowed, got {len(statements)}")
    root = statements[0]
    if not isinstance(root, exp.Select | exp.Union | exp.Intersect | exp.Except):
        raise UnsafeSQL(f"only SELECT is allowed, not {root.key.upper()}")
    writes = (exp.Insert, exp.Update, exp.Delete, exp.Drop, exp.Create, exp.Alter, exp.Merge, exp.Command,
              exp.Pragma, exp.Attach, exp.Detach, exp.Into, exp.TruncateTable, exp.Transaction, exp.Commit,
              exp.Rollback, exp.Set, exp.Use, exp.Copy, exp.Lock)
    for node in root.walk():
        if isinstance(node, writes):
            raise UnsafeSQL(f"{node.key.upper()} is not allowed in a read-only query")
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in _UNSAFE_FUNCTIONS:
                raise UnsafeSQL(f"function {name}() is not allowed")
        if isinstance(node, exp.Lock) or (isinstance(node, exp.Select) and node.args.get("locks")):
            raise UnsafeSQL("SELECT … FOR UPDATE takes locks; not allowed")
    return text


@dataclass
class Result:
    sql: str
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool
    ms: float

    def as_dict(self) -> dict[str, Any]:
        return {"sql": self.sql, "columns": self.columns, "rows": self.rows, "truncated": self.truncated,
                "ms": round(self.ms, 2)}


@dataclass
class Table:
    name: str
    columns: list[tuple[str, str]]  # (name, type)
    sample: list[list[Any]] = field(default_factory=list)


class SQLTool:
    """One configured database."""

    def __init__(self, name: str, spec: SQLSpec, source: str = "<config>") -> None:
        self.name = name
        self.spec = spec
        url = urlparse(spec.url)
        self.kind = url.scheme.split("+")[0]
        if self.kind not in ("sqlite", "postgresql", "postgres"):
            raise ConfigError("url must start with sqlite:/// or postgresql://", file=source, key=f"sql.{name}.url")
        self.dialect = "sqlite" if self.kind == "sqlite" else "postgres"
        # sqlite:///relative/file.db or sqlite:////absolute/file.db, as SQLAlchemy spells them;
        # a relative path is taken from the config file's folder, like every other path in it.
        self._path = None
        if self.kind == "sqlite":
            path = Path(unquote(spec.url.split(":///", 1)[1]))
            if not path.is_absolute() and source.endswith((".yaml", ".yml")):
                path = Path(source).parent / path
            self._path = path.resolve()
        self._schema: list[Table] | None = None

    # --- running ------------------------------------------------------------------------

    async def query(self, sql: str) -> Result:
        text = validate(sql, self.dialect)
        with span("plusn.sql", **{"db.system": self.kind, "plusn.database": self.name}) as s:
            result = await asyncio.get_running_loop().run_in_executor(None, self._run, text)
            s.set_attribute("db.response.returned_rows", len(result.rows))
            return result

    def _run(self, sql: str) -> Result:
        t0 = time.perf_counter()
        if self.kind == "sqlite":
            cols, rows, more = self._run_sqlite(sql)
        else:
            cols, rows, more = self._run_postgres(sql)
        return Result(sql, cols, rows, more, (time.perf_counter() - t0) * 1000)

    def _sqlite(self) -> sqlite3.Connection:
        assert self._path is not None
        if not self._path.exists():
            raise InvalidRequest(f"database {self.name!r}: file not found: {self._path}")
        conn = sqlite3.connect(f"{self._path.as_uri()}?mode=ro", uri=True, timeout=self.spec.timeout_s)
        conn.execute("PRAGMA query_only = ON")

        def authorize(action: int, *_: Any) -> int:
            return sqlite3.SQLITE_OK if action in _SQLITE_READS else sqlite3.SQLITE_DENY

        conn.set_authorizer(authorize)
        return conn

    def _run_sqlite(self, sql: str) -> tuple[list[str], list[list[Any]], bool]:
        conn = self._sqlite()
        deadline = time.monotonic() + self.spec.timeout_s
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            cur = conn.execute(sql)
            rows = cur.fetchmany(self.spec.max_rows + 1)
            cols = [d[0] for d in cur.description or []]
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise InvalidRequest(f"the query took longer than {self.spec.timeout_s:g} s") from None
            raise InvalidRequest(f"database error: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise InvalidRequest(f"database error: {exc}") from None
        finally:
            conn.close()
        more = len(rows) > self.spec.max_rows
        return cols, [list(r) for r in rows[: self.spec.max_rows]], more

    def _pg(self) -> Any:
        try:
            import psycopg
        except ImportError as exc:
            raise MissingDependency("Postgres needs psycopg: pip install 'plusn[postgres]'") from exc
        timeout_ms = int(self.spec.timeout_s * 1000)
        conn = psycopg.connect(self.spec.url, connect_timeout=max(1, int(self.spec.timeout_s)),
                               options=f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms}")
        conn.read_only = True
        return conn

    def _run_postgres(self, sql: str) -> tuple[list[str], list[list[Any]], bool]:
        import psycopg

        try:
            with self._pg() as conn, conn.cursor() as cur:
                cur.execute(sql)  # validated above; never a template
                rows = cur.fetchmany(self.spec.max_rows + 1)
                cols = [d.name for d in cur.description or []]
                conn.rollback()
        except psycopg.errors.QueryCanceled:
            raise InvalidRequest(f"the query took longer than {self.spec.timeout_s:g} s") from None
        except psycopg.Error as exc:
            raise InvalidRequest(f"database error: {str(exc).strip().splitlines()[0]}") from None
        more = len(rows) > self.spec.max_rows
        return cols, [list(r) for r in rows[: self.spec.max_rows]], more

    # --- schema -------------------------------------------------------------------------

    async def schema(self) -> list[Table]:
        if self._schema is None:
            self._schema = await asyncio.get_running_loop().run_in_executor(None, self._introspect)
        return self._schema

    def _introspect(self) -> list[Table]:
        tables: list[Table] = []
        if self.kind == "sqlite":
            conn = self._sqlite()
            conn.set_authorizer(None)  # introspection reads the catalogue with PRAGMA
            try:
                names = [r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table','view') AND name NOT LIKE 'sqlite_%' "
                    "ORDER BY name")]
                for n in names:
                    if self.spec.tables and n not in self.spec.tables:
                        continue
                    cols = [(r[1], r[2] or "") for r in conn.execute(f'PRAGMA table_info("{n}")')]
                    sample = [list(r) for r in conn.execute(f'SELECT * FROM "{n}" LIMIT 2')]
                    tables.append(Table(n, cols, sample))
            finally:
                conn.close()
            return tables
        with self._pg() as conn, conn.cursor() as cur:
            cur.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                        "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position")
            by: dict[str, list[tuple[str, str]]] = {}
            for t, c, ty in cur.fetchall():
                if not self.spec.tables or t in self.spec.tables:
                    by.setdefault(t, []).append((c, ty))
            for t, cols in by.items():
                cur.execute(f'SELECT * FROM "{t}" LIMIT 2')  # names from the catalogue
                tables.append(Table(t, cols, [list(r) for r in cur.fetchall()]))
            conn.rollback()
        return tables

    async def describe(self) -> str:
        """The schema as the model reads it: CREATE-like lines with two sample rows each."""
        lines = []
        for t in await self.schema():
            cols = ", ".join(f"{c} {ty}".strip() for c, ty in t.columns)
            lines.append(f"TABLE {t.name}({cols})")
            for row in t.sample:
                lines.append(f"  -- e.g. {tuple(row)!r}")
        return "\n".join(lines)


_SQLITE_READS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                           getattr(sqlite3, "SQLITE_RECURSIVE", 33)})
