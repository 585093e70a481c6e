"""POST /admin/reload rebuilds the routes from the config file on a running gateway: the admin
key only, models unchanged, a config that does not load changes nothing, and every ledger row
names the policy version that served it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ledger_rows
from fastapi.testclient import TestClient

from plusn.gateway.app import create_app
from plusn.gateway.auth import KeyStore
from plusn.load_config import load_settings

MODELS = {"small": {"type": "scripted", "replies": ["small says 4"]},
          "large": {"type": "scripted", "replies": ["large says 4"]}}


def config(route_model: str, models: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"models": models or MODELS, "skills": {"builtin": False}, "safety": {"output": "allow"},
            "routes": {"sums": {"model": route_model}}, "dispatch": {"default_route": "sums"}}


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Path, str]]:
    cfg = tmp_path / "plusn.yaml"
    cfg.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), **config("small")}))
    monkeypatch.setenv("PLUSN_ADMIN_KEY", "admin-secret")
    settings = load_settings(cfg, environ={})
    store = KeyStore(settings.state_db())
    user = store.create("user")
    store.close()
    with TestClient(create_app(settings, reload=lambda: load_settings(cfg, environ={}))) as c:
        yield c, cfg, user


def ask(c: TestClient, key: str) -> str:
    r = c.post("/v1/chat/completions", json={"model": "auto", "messages": [{"role": "user", "content": "2+2?"}]},
               headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    return str(r.json()["choices"][0]["message"]["content"])


def reload(c: TestClient, key: str) -> Any:
    return c.post("/admin/reload", headers={"authorization": f"Bearer {key}"})


def test_reload_switches_routes_and_the_ledger_names_each_version(gateway: tuple[TestClient, Path, str]) -> None:
    c, cfg, user = gateway
    assert ask(c, user) == "small says 4"
    assert reload(c, user).status_code == 403  # a user key may not
    data = yaml.safe_load(cfg.read_text())
    cfg.write_text(yaml.safe_dump({**data, **config("large"), "limits": {"reserve_completion_tokens": 64}}))
    r = reload(c, "admin-secret")
    assert r.status_code == 200 and r.json()["changed"] is True
    assert r.json()["restart_needed"] == ["limits"]  # only the routes' part of the file is reloaded
    assert ask(c, user) == "large says 4"
    served = [row for row in ledger_rows(c) if row["endpoint"] == "/v1/chat/completions"]
    assert [row["policy"] for row in served] == [r.json()["previous"], r.json()["policy"]]
    assert any(row["endpoint"] == "/admin/reload" for row in ledger_rows(c))  # it leaves its row too


def test_a_reload_that_changes_models_or_does_not_load_changes_nothing(gateway: tuple[TestClient, Path, str]) -> None:
    c, cfg, user = gateway
    data = yaml.safe_load(cfg.read_text())
    cfg.write_text(yaml.safe_dump({**data, **config("small", {**MODELS, "mid": {"type": "scripted"}})}))
    r = reload(c, "admin-secret")
    assert r.status_code == 400 and "models changed (mid)" in r.json()["error"]["message"]
    cfg.write_text(yaml.safe_dump({**data, **config("nowhere")}))
    r = reload(c, "admin-secret")
    assert r.status_code == 400 and "nothing was reloaded" in r.json()["error"]["message"]
    assert ask(c, user) == "small says 4"


def test_promote_rollback_and_a_restart_in_between(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "plusn.yaml"
    data = {"data_dir": str(tmp_path / "data"), **config("small")}
    data["routes"]["fitted"] = {"model": "large"}
    data["routes"]["sums"]["canary"] = {"route": "fitted", "share": 0.1}
    cfg.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("PLUSN_ADMIN_KEY", "admin-secret")
    admin = {"authorization": "Bearer admin-secret"}

    def app() -> TestClient:
        return TestClient(create_app(load_settings(cfg, environ={}), reload=lambda: load_settings(cfg, environ={})))

    with app() as c:
        c.app.state.plusn.fleet.members["auto"].rng.seed(1)  # type: ignore[attr-defined]
        promoted = c.post("/admin/reload", json={"promote": "sums"}, headers=admin).json()
        assert promoted["state"] == "pinned" and promoted["changed"]
        assert {ask(c, "admin-secret") for _ in range(20)} == {"large says 4"}  # no canary left: all of it
        listed = c.get("/admin/versions", headers=admin).json()["data"]
        assert [v["state"] for v in listed] == ["pinned", "retired"]
        assert c.post("/admin/reload", json={"promote": "fitted"}, headers=admin).status_code == 400  # no canary
    with app() as c:  # a restart: the file's routes are unchanged, so the promoted version still serves
        assert ask(c, "admin-secret") == "large says 4"
        back = c.post("/admin/reload", json={"version": listed[1]["version"]}, headers=admin).json()
        assert back["policy"] == listed[1]["version"] and back["state"] == "pinned"
        assert "small says 4" in {ask(c, "admin-secret") for _ in range(20)}
    cfg.write_text(yaml.safe_dump({**data, "routes": {"sums": {"model": "large"}}}))
    with app() as c:  # the file changed: it serves, and the pin gives way
        assert ask(c, "admin-secret") == "large says 4"
        assert c.get("/admin/versions", headers=admin).json()["data"][0]["state"] == "serving"
