from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from plusn.errors import AuthenticationError, PermissionDenied
from plusn.gateway.auth import ANONYMOUS, KeyStore, authenticate


def test_open_until_a_key_exists_then_keys_are_required(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "s.db")
    store.CACHE_S = 0  # read the database every time in this test
    assert authenticate(None, store, None) is ANONYMOUS
    key = store.create("team-a", ["m1"])
    with pytest.raises(AuthenticationError):
        authenticate(None, store, None)
    with pytest.raises(AuthenticationError):
        authenticate("Bearer pn-wrong", store, None)
    p = authenticate(f"Bearer {key}", store, None)
    assert p.name == "team-a"
    p.check_model("m1")
    with pytest.raises(PermissionDenied):
        p.check_model("m2")
    assert store.revoke("team-a")
    with pytest.raises(AuthenticationError):
        authenticate(f"Bearer {key}", store, "admin-secret")
    assert authenticate("Bearer admin-secret", store, "admin-secret").name == "admin"
    store.close()


def test_keys_are_stored_hashed(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "s.db")
    key = store.create("team-b")
    store.close()
    dump = "\n".join(sqlite3.connect(tmp_path / "s.db").iterdump())
    assert key not in dump and key[len("pn-"):] not in dump
