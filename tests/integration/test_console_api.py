"""The console's page and read APIs, in-process: who sees what, and figures that match the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SCRIPTED_FLEET, ledger_rows, write_config
from fastapi.testclient import TestClient

from plusn.gateway.app import create_app
from plusn.load_config import load_settings

ADMIN = "console-admin-key-0123456789"
CHAT = "/v1/chat/completions"


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, str, str]]:
    monkeypatch.setenv("PLUSN_ADMIN_KEY", ADMIN)
    settings = load_settings(write_config(tmp_path, {"models": SCRIPTED_FLEET}))
    from plusn.gateway.auth import KeyStore

    ks = KeyStore(settings.state_db())
    alice, bob = ks.create("alice"), ks.create("bob")
    ks.close()
    with TestClient(create_app(settings)) as c:
        yield c, alice, bob


def _as(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def _chat(c: TestClient, key: str, model: str = "echo") -> int:
    return c.post(CHAT, headers=_as(key), json={"model": model, "messages": [{"role": "user", "content": "hi"}]}).status_code


def test_the_page_and_its_files_are_served(setup: tuple[TestClient, str, str]) -> None:
    c, _, _ = setup
    assert c.get("/ui", follow_redirects=False).headers["location"] == "/ui/"
    page = c.get("/ui/")
    assert page.status_code == 200 and "<title>plusn console</title>" in page.text
    js = c.get("/ui/static/app.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    # only the console's own files, by name and type: the package's Python is never served
    for bad in ("nope.js", "__init__.py", "app.js.map"):
        assert c.get(f"/ui/static/{bad}").status_code == 404
    from plusn.gateway.console import _file

    assert _file("../__init__.py").status_code == 404 and _file("..\\app.js").status_code == 404


def test_admin_sees_everything_a_key_sees_its_own(setup: tuple[TestClient, str, str]) -> None:
    c, alice, bob = setup
    assert c.get("/v1/console/me", headers=_as(ADMIN)).json()["admin"] is True
    assert c.get("/v1/console/me", headers=_as(alice)).json() == {"name": "alice", "admin": False, "team": None,
                                                                   "models": []}
    assert c.get("/v1/console/me").status_code == 401
    assert [_chat(c, alice) for _ in range(3)] == [200] * 3
    assert _chat(c, bob) == 200 and _chat(c, bob, "broken") == 504
    rows = [r for r in ledger_rows(c) if r["endpoint"] == CHAT]
    everyone = c.get("/v1/console/dashboard", headers=_as(ADMIN)).json()
    assert everyone["scope"] == "all" and everyone["total"]["requests"] == len(rows) == 5
    assert everyone["total"]["errors"] == 1
    assert everyone["total"]["cost"] == pytest.approx(sum(r["cost"] for r in rows))
    assert {r["route"]: r["requests"] for r in everyone["routes"]} == {"echo": 4, "broken": 1}
    assert sum(s["requests"] for s in everyone["series"]) == 5
    assert everyone["latency_ms"]["p50"] is not None
    mine = c.get("/v1/console/dashboard", headers=_as(alice)).json()
    assert mine["scope"] == "key" and mine["total"]["requests"] == 3 and mine["total"]["errors"] == 0
    # reading the console is not model traffic: the figures do not count themselves
    again = c.get("/v1/console/dashboard", headers=_as(ADMIN)).json()
    assert again["total"]["requests"] == 5
    bad = c.get("/v1/console/dashboard?days=0", headers=_as(ADMIN))
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "query.days"


def test_keys_are_for_the_admin_only(setup: tuple[TestClient, str, str]) -> None:
    c, alice, _ = setup
    _chat(c, alice)
    denied = c.get("/v1/console/keys", headers=_as(alice))
    assert denied.status_code == 403 and "admin key" in denied.json()["error"]["message"]
    keys = c.get("/v1/console/keys", headers=_as(ADMIN)).json()
    assert [k["name"] for k in keys["keys"]] == ["alice", "bob"]
    assert all("hash" not in k for k in keys["keys"])
    assert {u["key"]: u["requests"] for u in keys["usage"]}["alice"] >= 1


def test_arena_runs_are_listed_and_rendered(setup: tuple[TestClient, str, str]) -> None:
    from plusn.evals import runs

    c, alice, _ = setup
    assert c.get("/v1/arena/runs", headers=_as(alice)).json() == {"data": []}
    from plusn.gateway.auth import KeyStore

    ks = KeyStore(c.app.state.plusn.settings.state_db())  # type: ignore[attr-defined]
    narrow = ks.create("narrow", models=["slow"])  # may not call echo, the run's contestant
    ks.close()
    result = {"id": "r1", "ts": 1.0, "suite": "demo", "description": "", "metric": "exact", "judge": None, "tasks": 1,
              "contestants": [{"name": "echo", "model": "echo", "quality": 1.0, "cost": 0.1, "cost_per_task": 0.1,
                               "latency_ms_p50": 1.0, "latency_ms_p95": 1.0, "errors": 0, "tokens_in": 1,
                               "tokens_out": 1, "judge_cost": 0.0}],
              "pairwise": {"echo": {}}, "pareto": ["echo"],
              "items": [{"id": "1", "prompt": "<b>hi</b>", "reference": "x", "metric": "exact",
                         "results": {"echo": {"answer": "<script>alert(1)</script>", "score": 1.0, "error": None}}}]}
    runs.save(c.app.state.plusn.settings.state_db(), result)  # type: ignore[attr-defined]
    assert c.get("/v1/arena/runs", headers=_as(alice)).json()["data"][0]["suite"] == "demo"
    page = c.get("/v1/arena/runs/r1/report", headers=_as(alice))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text  # answers are escaped
    # a key limited to other models sees neither the run nor its answers
    assert c.get("/v1/arena/runs", headers=_as(narrow)).json() == {"data": []}
    assert c.get("/v1/arena/runs/r1/report", headers=_as(narrow)).status_code == 404
    missing = c.get("/v1/arena/runs/nope", headers=_as(alice))
    assert missing.status_code == 404 and "GET /v1/arena/runs" in missing.json()["error"]["message"]
