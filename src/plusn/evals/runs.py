"""Arena runs kept in the state database, so the console can list them and show their reports."""

from __future__ import annotations

import json
from typing import Any

from ..database import connect

# What the console's list shows of each run, without loading every answer.
_SUMMARY_KEYS = ("id", "ts", "suite", "description", "metric", "tasks", "contestants", "pareto")


def save(db: Any, result: dict[str, Any]) -> None:
    summary = {k: result.get(k) for k in _SUMMARY_KEYS}
    conn = connect(db)
    try:
        with conn:
            conn.execute("INSERT INTO arena_runs (id, ts, suite, summary, result) VALUES (?, ?, ?, ?, ?) "
                         "ON CONFLICT (id) DO NOTHING", (result["id"], result["ts"], result["suite"],
                                                          json.dumps(summary, ensure_ascii=False),
                                                          json.dumps(result, ensure_ascii=False)))
    finally:
        conn.close()


def recent(db: Any, limit: int = 50) -> list[dict[str, Any]]:
    """The latest runs' summaries, newest first."""
    conn = connect(db)
    try:
        rows = conn.execute("SELECT summary FROM arena_runs ORDER BY ts DESC LIMIT ?", (limit,)).fetchall()
    finally:
        conn.close()
    return [json.loads(r[0]) for r in rows]


def load(db: Any, run_id: str) -> dict[str, Any] | None:
    conn = connect(db)
    try:
        row = conn.execute("SELECT result FROM arena_runs WHERE id = ?", (run_id,)).fetchone()
    finally:
        conn.close()
    return json.loads(row[0]) if row else None
