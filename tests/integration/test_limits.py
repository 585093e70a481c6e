"""Limits per key and per team: N requests racing for a limit of K admit exactly K, in one
process and across two gateway processes sharing Redis (a real redis-server)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import ledger_rows, plusn_serve, write_config
from fastapi.testclient import TestClient

from plusn.gateway.app import create_app
from plusn.limits.spec import LimitSpec
from plusn.load_config import load_settings

FLEET = {
    "echo": {"type": "scripted", "replies": ["one two three four"], "price": {"input_per_1k": 10, "output_per_1k": 10}},
    "slow": {"type": "scripted", "replies": ["done"], "delay_s": 0.3, "max_concurrency": 50},
}
MSG = [{"role": "user", "content": "hi"}]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    cfg = write_config(tmp_path, {"models": FLEET, "skills": {"builtin": False},
                                  "limits": {"teams": {"research": {"rpm": 4}}}})
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:
        yield c


def key(c: TestClient, name: str, **limits: Any) -> dict[str, str]:
    team = limits.pop("team", None)
    k = c.app.state.plusn.keys.create(name, team=team, limits=LimitSpec(**limits))  # type: ignore[attr-defined]
    return {"authorization": f"Bearer {k}"}


async def race(url: str, headers: dict[str, str], n: int, model: str = "echo", **body: Any) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        return list(await asyncio.gather(*(c.post("/v1/chat/completions", headers=headers, json={
            "model": model, "messages": MSG, **body}) for _ in range(n))))


def steady_minute(need_s: float = 5.0) -> None:
    """Per-minute windows are fixed minutes: start a burst only when it fits in this one."""
    left = 60 - time.time() % 60
    if left < need_s:
        time.sleep(left + 0.05)


def codes(rs: list[Any]) -> list[int]:
    return sorted(r.status_code for r in rs)


def test_rpm_admits_exactly_k(app: TestClient) -> None:
    steady_minute()
    h = key(app, "a", rpm=5)
    rs = [app.post("/v1/chat/completions", headers=h, json={"model": "echo", "messages": MSG}) for _ in range(8)]
    assert codes(rs) == [200] * 5 + [429] * 3
    refused = next(r for r in rs if r.status_code == 429)
    assert refused.json()["error"]["code"] == "rate_limit_exceeded" and "5 requests per minute" in \
        refused.json()["error"]["message"] and int(refused.headers["retry-after"]) >= 1
    assert len(ledger_rows(app)) == 8


def test_concurrency_admits_exactly_k_at_once(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"models": FLEET, "skills": {"builtin": False}})
    with plusn_serve(cfg, tmp_path) as (url, _, _):
        from plusn.gateway.auth import KeyStore

        store = KeyStore(tmp_path / "data" / "plusn.db")
        h = {"authorization": f"Bearer {store.create('b', limits=LimitSpec(max_concurrency=3))}"}
        store.close()
        rs = asyncio.run(race(url, h, 10, model="slow"))
        assert codes(rs) == [200] * 3 + [429] * 7
        # the slots come back when the requests end
        assert codes(asyncio.run(race(url, h, 3, model="slow"))) == [200] * 3


def test_tokens_per_minute_reserve_what_a_request_may_use(app: TestClient) -> None:
    steady_minute()
    h = key(app, "c", tpm=100)
    ok = app.post("/v1/chat/completions", headers=h, json={"model": "echo", "messages": MSG, "max_tokens": 40})
    assert ok.status_code == 200
    big = app.post("/v1/chat/completions", headers=h, json={"model": "echo", "messages": MSG, "max_tokens": 200})
    assert big.status_code == 429 and "may use" in big.json()["error"]["message"]
    # what the first really used (not its reservation) is what counts
    again = app.post("/v1/chat/completions", headers=h, json={"model": "echo", "messages": MSG, "max_tokens": 40})
    assert again.status_code == 200


def test_a_budget_stops_spending_and_survives_a_restart(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"models": FLEET, "skills": {"builtin": False}})
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:
        h = key(c, "d", budget=0.5)
        statuses = [c.post("/v1/chat/completions", headers=h, json={
            "model": "echo", "messages": MSG, "max_tokens": 4}).status_code for _ in range(12)]
        spent = sum(r["cost"] for r in ledger_rows(c) if r["key_name"] == "d")
    assert 200 in statuses and statuses[-1] == 429
    assert spent <= 0.5  # reservations keep in-flight requests from overrunning it
    with TestClient(create_app(load_settings(cfg, environ={}))) as c:  # the spending is read back
        r = c.post("/v1/chat/completions", headers=h, json={"model": "echo", "messages": MSG, "max_tokens": 4})
        assert r.status_code == 429 and r.json()["error"]["code"] == "insufficient_quota"


def test_a_team_shares_one_limit(app: TestClient) -> None:
    steady_minute()
    h1, h2 = key(app, "e1", team="research"), key(app, "e2", team="research")
    got = [app.post("/v1/chat/completions", headers=h, json={"model": "echo", "messages": MSG}).status_code
           for h in (h1, h2, h1, h2, h1, h2)]
    assert got == [200, 200, 200, 200, 429, 429]


@pytest.mark.server
def test_two_gateways_sharing_redis_honour_one_limit(tmp_path: Path, redis_url: str) -> None:
    cfg = tmp_path / "plusn.yaml"
    cfg.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "models": FLEET, "skills": {"builtin": False},
                                   "limits": {"redis_url": redis_url}}), encoding="utf-8")
    from plusn.gateway.auth import KeyStore

    store = KeyStore(tmp_path / "data" / "plusn.db")
    k = store.create("shared", limits=LimitSpec(rpm=7, max_concurrency=50))
    store.close()
    h = {"authorization": f"Bearer {k}"}
    with plusn_serve(cfg, tmp_path) as (url1, _, _), plusn_serve(cfg, tmp_path) as (url2, _, _):
        steady_minute()
        async def both() -> list[httpx.Response]:
            a, b = await asyncio.gather(race(url1, h, 10), race(url2, h, 10))
            return a + b

        rs = asyncio.run(both())
    assert codes(rs) == [200] * 7 + [429] * 13
    rows = [json.loads(r.text) for r in rs if r.status_code == 429]
    assert all("7 requests per minute" in r["error"]["message"] for r in rows)
