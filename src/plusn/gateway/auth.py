"""API keys: stored hashed, optionally limited to some models.

While no key exists (and no admin key is set) the gateway is open, which suits a laptop.
Once one exists, every request needs ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..database import connect
from ..errors import AuthenticationError, InvalidRequest, PermissionDenied
from ..limits.spec import LimitSpec

KEY_PREFIX = "pn-"


def hash_key(key: str) -> str:
    # Keys are 32 random bytes, so a fast hash is enough; salting adds nothing here.
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's id and name, and the models it may use (empty: all)."""

    key_id: str | None
    name: str | None
    models: frozenset[str] = field(default_factory=frozenset)
    # The key's own input policy (block / flag / allow); None follows the config.
    safety: str | None = None
    # The key's team (whose limits it shares) and its own limits; see plusn.limits.
    team: str | None = None
    limits: LimitSpec | None = None
    # Whether this key's traffic may be kept for learning (where a route captures, too).
    capture: bool = False

    def may_use(self, model: str) -> bool:
        # a threshold or version of a model ("router:x@0.8", "skill:y@<version>") is that model
        return not self.models or model in self.models or model.rpartition("@")[0] in self.models

    def check_model(self, model: str) -> None:
        if not self.may_use(model):
            allowed = ", ".join(sorted(self.models))
            raise PermissionDenied(
                f"this key may not use model {model!r}; it may use: {allowed}", param="model"
            )


ANONYMOUS = Principal(None, None)
ADMIN = Principal("admin", "admin")


def is_admin(who: Principal) -> bool:
    # An open gateway (no keys and no admin key: a laptop) is run by whoever sits at it.
    return who in (ADMIN, ANONYMOUS)


def require_admin(who: Principal) -> None:
    if not is_admin(who):
        raise PermissionDenied("this needs the admin key (auth.admin_key_env)")


class KeyStore:
    """Keys in the state database, with a short cache so the hot path rarely reads."""

    CACHE_S = 2.0

    def __init__(self, path: Any) -> None:
        self.path = path
        self._conn: Any = None
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._any: tuple[float, bool] = (0.0, False)

    def _db(self) -> Any:
        if self._conn is None:
            self._conn = connect(self.path)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def create(self, name: str, models: list[str] | None = None, safety: str | None = None,
               team: str | None = None, limits: LimitSpec | None = None, capture: bool = False) -> str:
        """Create a key and return it; only its hash is kept."""
        if not name.strip():
            raise InvalidRequest("a key needs a non-empty name", param="name")
        if safety not in (None, "block", "flag", "allow"):
            raise InvalidRequest("safety must be block, flag or allow", param="safety")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._lock, self._db() as db:
            try:
                db.execute(
                    "INSERT INTO api_keys (id, name, prefix, hash, models, created, safety, team, limits, capture) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (uuid.uuid4().hex[:12], name, key[:8], hash_key(key), json.dumps(models or []), time.time(),
                     safety, team, limits.model_dump_json(exclude_none=True) if limits and not limits.empty() else None,
                     int(capture)),
                )
            except Exception as exc:  # sqlite3's IntegrityError or psycopg's UniqueViolation
                if not isinstance(exc, sqlite3.IntegrityError) and "Unique" not in type(exc).__name__:
                    raise
                raise InvalidRequest(f"a key named {name!r} already exists", param="name") from None
        self._any = (0.0, False)
        return key

    def revoke(self, name: str) -> bool:
        with self._lock, self._db() as db:
            cur = db.execute(
                "UPDATE api_keys SET revoked=? WHERE name=? AND revoked IS NULL", (time.time(), name)
            )
        self._cache.clear()
        return cur.rowcount > 0

    def list(self) -> list[dict[str, object]]:
        with self._lock:
            rows = self._db().execute(
                "SELECT id, name, prefix, models, created, revoked, safety, team, limits, capture FROM api_keys "
                "ORDER BY created"
            ).fetchall()
        return [dict(r) | {"models": json.loads(r["models"]), "limits": json.loads(r["limits"] or "{}")} for r in rows]

    def any_active(self) -> bool:
        now = time.monotonic()
        if now - self._any[0] < self.CACHE_S:
            return self._any[1]
        with self._lock:
            row = self._db().execute("SELECT 1 FROM api_keys WHERE revoked IS NULL LIMIT 1").fetchone()
        self._any = (now, row is not None)
        return row is not None

    def lookup(self, key: str) -> Principal | None:
        h = hash_key(key)
        now = time.monotonic()
        hit = self._cache.get(h)
        if hit and now - hit[0] < self.CACHE_S:
            return hit[1]
        with self._lock:
            row = self._db().execute(
                "SELECT id, name, models, safety, team, limits, capture FROM api_keys WHERE hash=? AND revoked IS NULL",
                (h,)
            ).fetchone()
        p = Principal(row["id"], row["name"], frozenset(json.loads(row["models"])), row["safety"], row["team"],
                      LimitSpec.model_validate_json(row["limits"]) if row["limits"] else None,
                      bool(row["capture"])) if row else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[h] = (now, p)
        return p


def authenticate(authorization: str | None, keys: KeyStore, admin_key: str | None) -> Principal:
    """The caller for an ``Authorization`` header, or a 401."""
    token = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            token = value.strip()
    if admin_key and token and hmac.compare_digest(token.encode(), admin_key.encode()):
        return ADMIN
    if not admin_key and not keys.any_active():
        return ANONYMOUS
    if token is None:
        raise AuthenticationError(
            "missing API key: send 'Authorization: Bearer <key>' (create one with `plusn keys create`)"
        )
    principal = keys.lookup(token)
    if principal is None:
        raise AuthenticationError("invalid or revoked API key")
    return principal
