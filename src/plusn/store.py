"""The embedded state database: one SQLite file in WAL mode, with numbered migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

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
]


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open the state database, creating and migrating it unless ``readonly``."""
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
