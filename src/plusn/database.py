"""The state database: one SQLite file in WAL mode (the default) or Postgres, with numbered
migrations.

Everything that keeps state (the ledger, API keys, the audit log, paused workflows, skill
versions) reaches it through :func:`connect`, which gives a connection with sqlite3's small
API for either: ``execute`` / ``executemany`` with ``?`` placeholders, rows readable by name
and by position, and ``with conn:`` as one transaction. The SQL the callers write is the common
part of both dialects (``ON CONFLICT`` upserts, ``CASE`` sums); the migrations are written for
SQLite and their few type names are translated for Postgres here.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .errors import MissingDependency

# Each entry upgrades the schema by one version; never edit one that has shipped. Each runs in
# one transaction with the version bump (BEGIN IMMEDIATE), so two processes opening a new
# database at once cannot both apply it.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS ledger (
        id TEXT PRIMARY KEY,
        ts REAL NOT NULL,
        key_id TEXT,
        key_name TEXT,
        endpoint TEXT NOT NULL,
        requested_model TEXT,
        served_models TEXT NOT NULL DEFAULT '[]',
        status INTEGER NOT NULL,
        error_type TEXT,
        stream INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        latency_ms REAL NOT NULL,
        ttft_ms REAL,
        cost REAL NOT NULL DEFAULT 0,
        extra TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX IF NOT EXISTS ledger_ts ON ledger(ts);
    CREATE TABLE IF NOT EXISTS api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        models TEXT NOT NULL DEFAULT '[]',
        created REAL NOT NULL,
        revoked REAL
    );
    """,
    # 2: dispatch. The route taken, and what the request would have cost on the reference
    # (largest) model, for savings reports.
    """
    ALTER TABLE ledger ADD COLUMN route TEXT;
    ALTER TABLE ledger ADD COLUMN reference_cost REAL;
    """,
    # 3: safety. One row per safety decision (what, category, score, action; never the values).
    """
    CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        request_id TEXT NOT NULL,
        key_name TEXT,
        endpoint TEXT,
        model TEXT,
        stage TEXT NOT NULL,
        category TEXT NOT NULL,
        score REAL,
        action TEXT NOT NULL,
        target TEXT,
        detail TEXT
    );
    CREATE INDEX IF NOT EXISTS audit_ts ON audit(ts);
    CREATE INDEX IF NOT EXISTS audit_request ON audit(request_id);
    """,
    # 4: a key's own safety policy for input (block / flag / allow); NULL follows the config.
    """
    ALTER TABLE api_keys ADD COLUMN safety TEXT;
    """,
    # 5: agents. A workflow paused for the user's answer, by conversation, so it resumes on the
    # next turn, in any process, after a restart.
    """
    CREATE TABLE IF NOT EXISTS agent_state (
        key TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        version TEXT NOT NULL,
        state TEXT NOT NULL,
        updated REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS agent_state_updated ON agent_state(updated);
    """,
    # 6: every version of every skill the gateway has served, so an old one can still be called
    # by its version (skill:<name>@<version>) after its file has changed.
    """
    CREATE TABLE IF NOT EXISTS skill_versions (
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        spec TEXT NOT NULL,
        source TEXT NOT NULL,
        first_seen REAL NOT NULL,
        PRIMARY KEY (name, version)
    );
    """,
    # 7: limits. A key's team and its own limits (rpm, tpm, max_concurrency, budget) as JSON.
    """
    ALTER TABLE api_keys ADD COLUMN team TEXT;
    ALTER TABLE api_keys ADD COLUMN limits TEXT;
    CREATE INDEX IF NOT EXISTS ledger_key_ts ON ledger(key_id, ts);
    """,
    # 8: evaluation-arena runs (plusn eval run), kept so the console can show their reports.
    """
    CREATE TABLE IF NOT EXISTS arena_runs (
        id TEXT PRIMARY KEY,
        ts REAL NOT NULL,
        suite TEXT NOT NULL,
        summary TEXT NOT NULL,
        result TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS arena_runs_ts ON arena_runs(ts);
    """,
    # 9: learning from traffic. Feedback on a request (from the key that made it); the text kept
    # for learning where a route and a key opted in (redacted, deleted after retention_days),
    # one row per model that answered, shadow calls included; shadow calls marked in the ledger,
    # with the policy version that served each request; a key's opt-in; every policy version.
    """
    CREATE TABLE IF NOT EXISTS feedback (
        request_id TEXT PRIMARY KEY,
        key_id TEXT,
        ts REAL NOT NULL,
        score REAL NOT NULL,
        correct INTEGER,
        comment TEXT
    );
    CREATE TABLE IF NOT EXISTS captures (
        request_id TEXT NOT NULL,
        model TEXT NOT NULL,
        ts REAL NOT NULL,
        route TEXT,
        key_id TEXT,
        shadow INTEGER NOT NULL DEFAULT 0,
        prompt TEXT NOT NULL,
        answer TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        cost REAL NOT NULL DEFAULT 0,
        agrees INTEGER,
        PRIMARY KEY (request_id, model)
    );
    CREATE INDEX IF NOT EXISTS captures_ts ON captures(ts);
    CREATE INDEX IF NOT EXISTS captures_route ON captures(route, ts);
    ALTER TABLE ledger ADD COLUMN shadow INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE ledger ADD COLUMN policy TEXT;
    ALTER TABLE api_keys ADD COLUMN capture INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE IF NOT EXISTS policy_versions (
        route TEXT NOT NULL,
        version TEXT NOT NULL,
        ts REAL NOT NULL,
        state TEXT NOT NULL,
        config TEXT NOT NULL,
        fitted_on TEXT,
        PRIMARY KEY (route, version)
    );
    """,
    # 10: secure defaults. What a key may do besides calling its models, as a JSON list of
    # scopes (read, write, admin); NULL is read only.
    """
    ALTER TABLE api_keys ADD COLUMN scopes TEXT;
    """,
    # 11: the response cache. Its answers (never the questions: a hash of each, and the
    # question's embedding for meaning matches), shared by every gateway process on this
    # database; the clears each process applies; how each request used the cache.
    """
    CREATE TABLE IF NOT EXISTS response_cache (
        key TEXT PRIMARY KEY,
        scope TEXT NOT NULL,
        name TEXT NOT NULL,
        tenant TEXT NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL,
        answer TEXT NOT NULL,
        vector BLOB
    );
    CREATE INDEX IF NOT EXISTS response_cache_created ON response_cache(created);
    CREATE TABLE IF NOT EXISTS cache_clears (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        name TEXT,
        tenant TEXT
    );
    ALTER TABLE ledger ADD COLUMN cache TEXT;
    ALTER TABLE ledger ADD COLUMN saved_cost REAL;
    """,
    # 12: the Responses API. Each stored response: its caller, the conversation up to and
    # including its output (what a later previous_response_id continues), and the response.
    """
    CREATE TABLE IF NOT EXISTS responses (
        id TEXT PRIMARY KEY,
        key_id TEXT,
        created REAL NOT NULL,
        conversation TEXT NOT NULL,
        response TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS responses_created ON responses(created);
    """,
    # 13: traces. The trace a request's spans belong to, where traces are exported.
    """
    ALTER TABLE ledger ADD COLUMN trace_id TEXT;
    """,
]


class Database:
    """Where the state lives: a SQLite file, or a Postgres URL (``database_url`` /
    ``PLUSN_DATABASE_URL``)."""

    def __init__(self, target: Path | str) -> None:
        self.target = target
        self.postgres = isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))

    def exists(self) -> bool:
        return True if self.postgres else Path(self.target).exists()

    def __str__(self) -> str:  # for messages: never the password
        return re.sub(r"://([^:@/]+):[^@/]+@", r"://\1:***@", str(self.target))


def as_database(target: Database | Path | str) -> Database:
    return target if isinstance(target, Database) else Database(target)


def connect(target: Database | Path | str, *, readonly: bool = False) -> Any:
    """Open the state database, creating and migrating it unless ``readonly``."""
    db = as_database(target)
    if db.postgres:
        return _PgConnection(str(db.target), migrate_first=not readonly)
    path = Path(db.target)
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        return conn
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode loses at most the last transactions on power loss, never integrity.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    migrate(conn)
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations; return the schema version."""
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version >= len(MIGRATIONS):
                conn.execute("COMMIT")
                return version
            for stmt in MIGRATIONS[version].split(";"):
                if stmt.strip():
                    conn.execute(stmt)
            conn.execute(f"PRAGMA user_version={version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


# --- Postgres --------------------------------------------------------------------------------

_PG_TYPES = [(re.compile(r"\bINTEGER PRIMARY KEY\b"), "BIGSERIAL PRIMARY KEY"),
             (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),  # Postgres REAL is 4 bytes: too few for a timestamp
             (re.compile(r"\bBLOB\b"), "BYTEA")]
_migrated: set[str] = set()
_migrate_lock = threading.Lock()


def _pg_sql(sql: str) -> str:
    # psycopg reads every % as a placeholder: a literal one (LIKE '%x') is written %%.
    return sql.replace("%", "%%").replace("?", "%s")


class Row:
    """A row readable by name and by position, like sqlite3.Row."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: Sequence[str], values: Sequence[Any]) -> None:
        self._names = {n: i for i, n in enumerate(names)}
        self._values = tuple(values)

    def __getitem__(self, key: int | str) -> Any:
        return self._values[key if isinstance(key, int) else self._names[key]]

    def keys(self) -> list[str]:
        return list(self._names)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Any:
        return iter(self._values)


def _row_factory(cursor: Any) -> Any:
    names = [c.name for c in cursor.description or []]

    def make(values: Sequence[Any]) -> Row:
        return Row(names, values)

    return make


class _PgConnection:
    """psycopg behind sqlite3's API (what plusn's callers use of it)."""

    def __init__(self, url: str, *, migrate_first: bool = True) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise MissingDependency("a Postgres database needs psycopg: pip install 'plusn[postgres]'") from exc
        # autocommit: a lone statement commits itself (no connection left idle in a transaction);
        # ``with conn:`` makes a block one transaction, as sqlite3 does.
        self._conn = psycopg.connect(url, row_factory=_row_factory, autocommit=True)
        self._tx: list[Any] = []
        if migrate_first:
            with _migrate_lock:
                if url not in _migrated:
                    _pg_migrate(self._conn)
                    _migrated.add(url)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(_pg_sql(sql), tuple(params))

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> Any:
        rows = [tuple(r) for r in seq]
        cur = self._conn.cursor()
        if rows:
            cur.executemany(_pg_sql(sql), rows)
        return cur

    @property
    def broken(self) -> bool:
        """The server has gone (restart, failover, a terminated backend): open a new connection."""
        return bool(self._conn.closed or self._conn.broken)

    def commit(self) -> None:  # statements outside ``with`` are committed already
        pass

    def __enter__(self) -> _PgConnection:
        tx = self._conn.transaction()
        tx.__enter__()
        self._tx.append(tx)
        return self

    def __exit__(self, kind: Any, value: Any, tb: Any) -> None:  # sqlite3's meaning: commit or roll back, stay open
        self._tx.pop().__exit__(kind, value, tb)

    def close(self) -> None:
        self._conn.close()


def _pg_migrate(conn: Any) -> int:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(4242)")  # one migrator at a time, across processes
        conn.execute("CREATE TABLE IF NOT EXISTS plusn_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM plusn_schema").fetchone()
        version = row[0] if row else 0
        if row is None:
            conn.execute("INSERT INTO plusn_schema (version) VALUES (0)")
        while version < len(MIGRATIONS):
            for stmt in MIGRATIONS[version].split(";"):
                if stmt.strip():
                    sql = stmt
                    for rx, repl in _PG_TYPES:
                        sql = rx.sub(repl, sql)
                    conn.execute(sql)
            version += 1
            conn.execute("UPDATE plusn_schema SET version = %s", (version,))
    return version
