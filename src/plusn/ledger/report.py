"""Usage reports from the ledger."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..database import as_database, connect

_GROUPS = {
    "day": "date(ts, 'unixepoch')",  # Postgres: see _groups
    "key": "COALESCE(key_name, '(none)')",
    "model": "COALESCE(NULLIF(REPLACE(REPLACE(REPLACE(served_models, '[', ''), ']', ''), '\"', ''), ''), requested_model, '-')",
}


def usage_report(path: Any, by: Iterable[str], days: float | None = None) -> list[dict[str, Any]]:
    """Requests, errors, tokens and cost grouped by any of day, key and model."""
    by = list(dict.fromkeys(by))
    for b in by:
        if b not in _GROUPS:
            raise ValueError(f"cannot group by {b!r}")
    if not path.exists():
        return []
    groups = dict(_GROUPS)
    if as_database(path).postgres:
        groups["day"] = "to_char(to_timestamp(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    cols = ", ".join(f"{groups[b]} AS {b}" for b in by)
    where, params = "", []
    if days is not None:
        where, params = "WHERE ts >= ?", [time.time() - days * 86400]
    # Shadow calls (plusn.learning) are no requests: they count only in their own cost column.
    client = "CASE WHEN shadow = 0 THEN {} ELSE 0 END"
    sql = (
        f"SELECT {cols}{',' if cols else ''} COALESCE(SUM({client.format(1)}), 0) AS requests, "
        f"SUM({client.format('CASE WHEN status >= 400 THEN 1 ELSE 0 END')}) AS errors, "
        f"SUM({client.format('prompt_tokens')}) AS tokens_in, SUM({client.format('completion_tokens')}) AS tokens_out, "
        f"SUM({client.format('cost')}) AS cost, SUM(CASE WHEN shadow = 1 THEN cost ELSE 0 END) AS shadow_cost "
        f"FROM ledger {where} "
        + (f"GROUP BY {', '.join(by)} ORDER BY {', '.join(by)}" if by else "")
    )
    conn = connect(path)
    try:
        rows = [dict(r) for r in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()
    if not any(r["shadow_cost"] for r in rows):  # a deployment that makes no shadow calls
        for r in rows:
            del r["shadow_cost"]
    return rows


def savings_report(path: Any, days: int | None = None) -> list[dict[str, Any]]:
    """By route: what traffic cost, what it would have cost on the reference model, the saving."""
    if not path.exists():
        return []
    where, params = "WHERE reference_cost IS NOT NULL AND shadow = 0", []
    if days is not None:
        where += " AND ts >= ?"
        params.append(time.time() - days * 86400)
    sql = (
        "SELECT COALESCE(route, requested_model, '-') AS route, COUNT(*) AS requests, SUM(cost) AS cost, "
        f"SUM(reference_cost) AS reference_cost FROM ledger {where} GROUP BY 1 ORDER BY 1"
    )
    conn = connect(path)
    try:
        rows = [dict(r) for r in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()
    if rows:
        rows.append({"route": "(all)", "requests": sum(r["requests"] for r in rows),
                     "cost": sum(r["cost"] for r in rows), "reference_cost": sum(r["reference_cost"] for r in rows)})
    for r in rows:
        r["saved"] = r["reference_cost"] - r["cost"]
        r["saved_pct"] = round(100 * r["saved"] / r["reference_cost"], 2) if r["reference_cost"] else 0.0
    return rows
