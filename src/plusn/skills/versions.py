"""Every version of every skill, kept in the state database.

A skill's version is the hash of its content, so editing the file makes a new version; the old
one stays callable as ``skill:<name>@<version>`` (or ``"version"`` in ``POST /v1/skills``), which
lets a team roll out a prompt change while pinned callers keep the wording they tested.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..database import connect
from .library import Skill
from .spec import SkillSpec


def remember(db: Any, skills: list[Skill]) -> None:
    """Record the versions being served (a version seen before keeps its first date)."""
    conn = connect(db)
    try:
        with conn:
            conn.executemany(
                "INSERT INTO skill_versions (name, version, spec, source, first_seen) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (name, version) DO NOTHING",
                [(s.name, s.version, json.dumps(s.spec.model_dump(mode="json"), ensure_ascii=False), s.source,
                  time.time()) for s in skills])
    finally:
        conn.close()


def load(db: Any, name: str, version: str) -> Skill | None:
    if not db.exists():
        return None
    conn = connect(db)
    try:
        row = conn.execute("SELECT spec, source FROM skill_versions WHERE name = ? AND version = ?",
                           (name, version)).fetchone()
    finally:
        conn.close()
    if row is None:
        return None
    spec = SkillSpec.model_validate(json.loads(row["spec"]))
    return Skill(spec, version, row["source"])


def history(db: Any, name: str) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    conn = connect(db)
    try:
        rows = conn.execute("SELECT version, source, first_seen FROM skill_versions WHERE name = ? "
                            "ORDER BY first_seen DESC", (name,)).fetchall()
    finally:
        conn.close()
    return [{"version": r["version"], "source": r["source"], "first_seen": round(r["first_seen"], 3)} for r in rows]
