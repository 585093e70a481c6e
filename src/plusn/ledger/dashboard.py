"""The console dashboard's figures, read from the ledger and the audit log with SQL aggregates
(so a month of traffic is not loaded into memory). SQLite and Postgres differ only in how an
hour is cut and how JSON is read; those two expressions are chosen per dialect here."""

from __future__ import annotations

import time
from typing import Any

from ..database import as_database, connect

# Model traffic, as opposed to reading the catalogue or the dashboard itself.
# An MCP request is traffic when it called a tool (it then names what it asked for).
_TRAFFIC = ("(endpoint IN ('/v1/chat/completions', '/v1/completions', '/v1/embeddings') "
            "OR (endpoint LIKE '/v1/skills/%' AND endpoint NOT LIKE '%/versions') "
            "OR (endpoint IN ('/mcp', 'mcp:stdio') AND requested_model IS NOT NULL))")


def _dialect(db: Any) -> dict[str, str]:
    if as_database(db).postgres:
        return {"bucket": "floor(ts / {size}) * {size}",
                "escalations": "COALESCE((extra::jsonb #>> '{route,escalations}')::int, 0)",
                "cascade": "(extra::jsonb #>> '{route,cascade}') IS NOT NULL"}
    return {"bucket": "CAST(ts / {size} AS INTEGER) * {size}",
            "escalations": "COALESCE(json_extract(extra, '$.route.escalations'), 0)",
            "cascade": "json_extract(extra, '$.route.cascade') IS NOT NULL"}


def _feedback_by_route(conn: Any, where: str, params: list[Any]) -> dict[str, tuple[int, float | None]]:
    """Per route: how many answers users rated, and their mean score (POST /v1/feedback)."""
    rows = conn.execute(
        f"SELECT COALESCE(l.route, l.requested_model, '-') AS route, COUNT(*) AS rated, AVG(f.score) AS score "
        f"FROM feedback f JOIN ledger l ON l.id = f.request_id {where} GROUP BY 1", params).fetchall()
    return {r["route"]: (int(r["rated"]), round(float(r["score"]), 4)) for r in rows}


def _agreement_by_route(conn: Any, since: float, now: float, key_id: str | None) -> dict[str, tuple[int, float | None]]:
    """Per route: how many shadow answers were judged against the served one, and the share
    that agreed (plusn.learning's shadow calls)."""
    where = "WHERE shadow = 1 AND agrees IS NOT NULL AND ts >= ? AND ts <= ?" + (" AND key_id = ?" if key_id else "")
    rows = conn.execute(f"SELECT route, COUNT(*) AS n, AVG(agrees) AS share FROM captures {where} GROUP BY route",
                        [since, now, *([key_id] if key_id else [])]).fetchall()
    return {r["route"]: (int(r["n"]), round(float(r["share"]), 4)) for r in rows if r["route"] is not None}


def dashboard(db: Any, *, days: float = 7, key_id: str | None = None, now: float | None = None) -> dict[str, Any]:
    """Requests, cost and savings (total, by route, over time), latency percentiles, the
    escalation rate and safety events, for the last ``days``; only ``key_id``'s rows if given."""
    now = time.time() if now is None else now
    since = now - days * 86400
    sql = _dialect(db)
    size = 3600 if days <= 2 else 86400
    where = f"WHERE ts >= ? AND ts <= ? AND {_TRAFFIC}"
    params: list[Any] = [since, now]
    if key_id is not None:
        where += " AND key_id = ?"
        params.append(key_id)
    sums = ("COUNT(*) AS requests, SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS errors, "
            "COALESCE(SUM(prompt_tokens), 0) AS tokens_in, COALESCE(SUM(completion_tokens), 0) AS tokens_out, "
            "COALESCE(SUM(cost), 0) AS cost, COALESCE(SUM(reference_cost), 0) AS reference_cost, "
            "COALESCE(SUM(CASE WHEN reference_cost IS NOT NULL THEN cost ELSE 0 END), 0) AS priced_cost, "
            "SUM(CASE WHEN cache IS NOT NULL THEN 1 ELSE 0 END) AS cache_hits, "
            "COALESCE(SUM(saved_cost), 0) AS cache_saved")
    conn = connect(db)
    try:
        total = dict(conn.execute(f"SELECT {sums} FROM ledger {where}", params).fetchone())
        routes = [dict(r) for r in conn.execute(
            f"SELECT COALESCE(route, requested_model, '-') AS route, {sums}, "
            f"SUM(CASE WHEN {sql['escalations']} > 0 THEN 1 ELSE 0 END) AS escalated "
            f"FROM ledger {where} GROUP BY 1 ORDER BY 2 DESC", params).fetchall()]
        bucket = sql["bucket"].format(size=size)
        series = [dict(r) for r in conn.execute(
            f"SELECT {bucket} AS t, {sums} FROM ledger {where} GROUP BY 1 ORDER BY 1", params).fetchall()]
        cascade = conn.execute(
            f"SELECT COUNT(*), SUM(CASE WHEN {sql['escalations']} > 0 THEN 1 ELSE 0 END) FROM ledger "
            f"{where} AND {sql['cascade']}", params).fetchone()
        ok_where = where + " AND status < 400"
        n_ok = conn.execute(f"SELECT COUNT(*) FROM ledger {ok_where}", params).fetchone()[0]
        latency = {}
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            row = conn.execute(f"SELECT latency_ms FROM ledger {ok_where} ORDER BY latency_ms LIMIT 1 OFFSET ?",
                               [*params, int(q * max(n_ok - 1, 0))]).fetchone() if n_ok else None
            latency[name] = round(float(row[0]), 2) if row else None
        a_where = "WHERE ts >= ? AND ts <= ?"
        a_params: list[Any] = [since, now]
        if key_id is not None:  # a key sees the decisions on its own requests
            a_where += " AND request_id IN (SELECT id FROM ledger WHERE key_id = ? AND ts >= ?)"
            a_params += [key_id, since]
        safety = [dict(r) for r in conn.execute(
            f"SELECT stage, category, action, COUNT(*) AS events FROM audit {a_where} "
            "GROUP BY stage, category, action ORDER BY 4 DESC", a_params).fetchall()]
        # the same rows, named apart from feedback's own ts and key_id
        l_where = f"WHERE l.ts >= ? AND l.ts <= ? AND {_TRAFFIC}" + (" AND l.key_id = ?" if key_id is not None else "")
        rated = _feedback_by_route(conn, l_where, params)
        judged = _agreement_by_route(conn, since, now, key_id)
    finally:
        conn.close()
    for r in routes:  # quality beside cost: a canary and the route it tries to replace, side by side
        r["rated"], r["score"] = rated.get(r["route"], (0, None))
        r["compared"], r["agreement"] = judged.get(r["route"], (0, None))
    for r in [total, *routes, *series]:
        r["errors"] = r["errors"] or 0
        # Savings only where a reference price exists, so unpriced traffic does not read as saved.
        r["saved"] = r["reference_cost"] - r["priced_cost"]
        r["saved_pct"] = round(100 * r["saved"] / r["reference_cost"], 2) if r["reference_cost"] else 0.0
        # What the response cache answered, and what those answers cost when a model made them.
        r["cache_hits"] = r["cache_hits"] or 0
        r["cache_hit_rate"] = round(r["cache_hits"] / r["requests"], 4) if r["requests"] else 0.0
    cascades, escalated = cascade[0] or 0, cascade[1] or 0
    return {
        "since": since, "until": now, "days": days, "bucket_s": size, "scope": "key" if key_id else "all",
        "total": total, "routes": routes, "series": series, "latency_ms": latency,
        "escalation": {"cascade_requests": cascades, "escalated": escalated,
                       "rate": round(escalated / cascades, 4) if cascades else 0.0},
        "safety": safety,
    }
