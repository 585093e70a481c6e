"""Every version of a deployment's routes, kept in the state database: what was served when,
from which config, fitted on which data; and the version an operator pinned.

A version is the routes, cascades, routers and dispatch of the settings (the part a reload
rebuilds), named by a hash of them. Promoting a canary or rolling back pins a version over the
config file: it survives a restart as long as the file's routes are the ones it was pinned over
(``base``); once the file changes, or on a plain reload, the file is what serves again.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any

from ..config import Settings
from ..database import connect
from ..load_config import check_references

_PARTS = {"routes", "cascades", "routers", "dispatch"}
_FITTED_ON = re.compile(r"routes fit on (\S+?\.jsonl)")


def policy_config(settings: Settings) -> dict[str, Any]:
    """The part of the settings a reload rebuilds, as plain data."""
    return settings.model_dump(mode="json", include=_PARTS)


def policy_version(settings: Settings) -> str:
    """A short hash of :func:`policy_config`: the version recorded with each request."""
    return hashlib.sha256(json.dumps(policy_config(settings), sort_keys=True).encode()).hexdigest()[:10]


def with_policy(settings: Settings, config: dict[str, Any], parts: set[str] = _PARTS) -> Settings:
    """The settings serving ``config``'s routes (validated and checked as a config file's would
    be); ``parts``: the top-level sections taken from ``config``."""
    data = settings.model_dump(mode="json", exclude={"source", "origins"}) | {k: config[k] for k in parts if k in config}
    out = Settings.model_validate(data)
    out.source, out.origins = settings.source, settings.origins
    check_references(out)
    return out


# What a reload rebuilds: the routes and what is served beside them. Everything else is built
# once at start-up (models, limits, the ledger, the safety screens) and needs a restart.
RELOADED = _PARTS | {"skills", "agents", "learning"}


def reloaded(current: Settings, file: Settings) -> tuple[Settings, list[str]]:
    """The current settings with the file's reloadable sections, and the other sections in which
    the file differs (they take effect at the next restart)."""
    fresh = with_policy(current, file.model_dump(mode="json"), RELOADED)
    keys = set(Settings.model_fields) - RELOADED - {"source", "origins", "models"}
    later = sorted(k for k in keys if getattr(file, k) != getattr(current, k))
    return fresh, later


def fitted_on(settings: Settings) -> list[str]:
    """The outcome files the fitted routes were fitted on (``routes fit`` names each in its
    description)."""
    texts = [r.description for r in settings.routes.values()] + [r.description for r in settings.routers.values()]
    texts += [c.description or "" for c in settings.cascades.values()]
    return sorted({m.group(1) for text in texts for m in _FITTED_ON.finditer(text or "")})


def record(db: Any, settings: Settings, state: str, base: str | None = None, route: str = "*") -> str:
    """Keep the version serving now (``state``: serving, pinned); an earlier one of the same
    content is updated in place. Returns its version."""
    version = policy_version(settings)
    conn = connect(db)
    try:
        with conn:
            conn.execute("UPDATE policy_versions SET state = 'retired' WHERE state IN ('serving', 'pinned')")
            conn.execute(
                "INSERT INTO policy_versions (route, version, ts, state, config, fitted_on) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (route, version) DO UPDATE SET ts = excluded.ts, state = excluded.state, "
                "config = excluded.config, fitted_on = excluded.fitted_on",
                (route, version, time.time(), state, json.dumps({**policy_config(settings), "base": base}),
                 json.dumps(fitted_on(settings))))
    finally:
        conn.close()
    return version


def history(db: Any) -> list[dict[str, Any]]:
    """Every version, newest first."""
    conn = connect(db)
    try:
        rows = conn.execute("SELECT route, version, ts, state, config, fitted_on FROM policy_versions "
                            "ORDER BY ts DESC").fetchall()
    finally:
        conn.close()
    return [dict(r) | {"config": json.loads(r["config"]), "fitted_on": json.loads(r["fitted_on"] or "[]")} for r in rows]


def find(db: Any, version: str) -> dict[str, Any] | None:
    return next((v for v in history(db) if v["version"] == version), None)


def pinned_over(db: Any, file_version: str) -> dict[str, Any] | None:
    """The version pinned over the config file whose routes are ``file_version``, if any."""
    latest = next((v for v in history(db) if v["state"] in ("serving", "pinned")), None)
    if latest is not None and latest["state"] == "pinned" and latest["config"].get("base") == file_version:
        return latest
    return None
