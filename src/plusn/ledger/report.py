"""Usage reports from the ledger."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..store import connect

_GROUPS = {
    "day": "date(ts, 'unixepoch')",
    "key": "COALESCE(key_name, '(none)')",
    "model": "COALESCE(NULLIF(REPLACE(REPLACE(REPLACE(served_models, '[', ''), ']', ''), '\"', ''), ''), requested_model, '-')",
}


def usage_report(path: Path, by: Iterable[str], days: int | None = None) -> list[dict[str, Any]]:
    """Requests, errors, tokens and cost grouped by any of day, key and model."""
    by = list(dict.fromkeys(by))
    for b in by:
        if b not in _GROUPS:
            raise ValueError(f"cannot group by {b!r}")
    if not path.exists():
        return []
    cols = ", ".join(f"{_GROUPS[b]} AS {b}" for b in by)
    where, params = "", []
    if days is not None:
        where, params = "WHERE ts >= ?", [time.time() - days * 86400]
    sql = (
        f"SELECT {cols}{',' if cols else ''} COUNT(*) AS requests, "
        "SUM(status >= 400) AS errors, SUM(prompt_tokens) AS tokens_in, "
        "SUM(completion_tokens) AS tokens_out, SUM(cost) AS cost "
        f"FROM ledger {where} "
        + (f"GROUP BY {', '.join(by)} ORDER BY {', '.join(by)}" if by else "")
    )
    conn = connect(path)
    try:
        return [dict(r) for r in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()
