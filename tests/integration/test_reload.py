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
    cfg.write_text(yaml.safe_dump({**data, **config("large")}))
    r = reload(c, "admin-secret")
    assert r.status_code == 200 and r.json()["changed"] is True
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
