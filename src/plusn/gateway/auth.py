"""API keys: stored hashed, optionally limited to some models, each with scopes.

Scopes say what a key may do besides calling its models: ``read`` (every key: models, search,
feedback on its own answers), ``write`` (documents into and out of knowledge bases) and
``admin`` (reloading routes, everyone's traffic on the dashboard, route versions).

While no key exists (and no admin key is set) the gateway is open. On a loopback address,
which suits a laptop, whoever sits at it is the admin. On any other address plusn refuses to
start that way unless ``auth.open`` says so, and then the open gateway only reads. Once a key
exists, every request needs ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
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
    scopes: frozenset[str] = frozenset({"read"})

    @functools.cached_property
    def viewer(self) -> frozenset[str]:
        """The access tokens documents may name to let this caller find them (once per key: the
        key store keeps its principals)."""
        return frozenset(t for t in (f"key:{self.name}" if self.name else "", f"team:{self.team}" if self.team else "") if t)

    @property
    def tenant(self) -> str:
        """Whose answers and conversations these are: the key's (the admin key and an open
        gateway are one caller each)."""
        return self.key_id or self.name or "open"

    def may_use(self, model: str) -> bool:
        # a threshold or version of a model ("router:x@0.8", "skill:y@<version>") is that model
        return not self.models or model in self.models or model.rpartition("@")[0] in self.models

    def check_model(self, model: str) -> None:
        if not self.may_use(model):
            allowed = ", ".join(sorted(self.models))
            raise PermissionDenied(
                f"this key may not use model {model!r}; it may use: {allowed}", param="model"
            )


SCOPES = ("read", "write", "admin")
ALL = frozenset(SCOPES)
ADMIN = Principal("admin", "admin", scopes=ALL)
# The caller of an open gateway: on a loopback address whoever sits at the machine (the admin),
# elsewhere anyone who can reach it (read only; see auth.open).
ANONYMOUS = Principal(None, None, scopes=ALL)
OPEN = Principal(None, None)


def is_admin(who: Principal) -> bool:
    return "admin" in who.scopes


def require_scope(who: Principal, scope: str) -> None:
    if scope not in who.scopes:
        raise PermissionDenied(f"this needs a key with the {scope!r} scope (plusn keys create --scope {scope}) "
                               "or the admin key (auth.admin_key_env)", code="insufficient_scope")


def require_admin(who: Principal) -> None:
    require_scope(who, "admin")


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it may resolve anywhere
        return False


def exposure(host: str, open_: bool, keys: KeyStore, admin_key: str | None) -> str | None:
    """Why serving ``host`` as configured would expose the gateway to anyone (None: it would
    not). A non-loopback address needs a key, the admin key, or an explicit ``auth.open``."""
    if loopback(host) or open_ or admin_key or keys.any_active():
        return None
    return (f"refusing to listen on {host} with no API key and no admin key: anyone who can reach it could use "
            "every model, read the dashboard and change the knowledge bases. Create a key (plusn keys create "
            "--name NAME), or set the admin key ($PLUSN_ADMIN_KEY, auth.admin_key_env), or serve on 127.0.0.1; "
            "to run it open on purpose, set auth: {open: true}")


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
               team: str | None = None, limits: LimitSpec | None = None, capture: bool = False,
               scopes: list[str] | None = None) -> str:
        """Create a key and return it; only its hash is kept."""
        if not name.strip():
            raise InvalidRequest("a key needs a non-empty name", param="name")
        if name.strip() == ADMIN.name:  # documents name keys by name: "key:admin" is the admin key's
            raise InvalidRequest("'admin' is the admin key's name; choose another", param="name")
        if safety not in (None, "block", "flag", "allow"):
            raise InvalidRequest("safety must be block, flag or allow", param="safety")
        wanted = sorted(set(scopes or ["read"]) | {"read"})
        if not set(wanted) <= ALL:
            raise InvalidRequest(f"scopes are {', '.join(SCOPES)}", param="scopes")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._lock, self._db() as db:
            try:
                db.execute(
                    "INSERT INTO api_keys (id, name, prefix, hash, models, created, safety, team, limits, capture, "
                    "scopes) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (uuid.uuid4().hex[:12], name, key[:8], hash_key(key), json.dumps(models or []), time.time(),
                     safety, team, limits.model_dump_json(exclude_none=True) if limits and not limits.empty() else None,
                     int(capture), json.dumps(wanted)),
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
                "SELECT id, name, prefix, models, created, revoked, safety, team, limits, capture, scopes FROM api_keys "
                "ORDER BY created"
            ).fetchall()
        return [dict(r) | {"models": json.loads(r["models"]), "limits": json.loads(r["limits"] or "{}"),
                           "scopes": json.loads(r["scopes"] or '["read"]')} for r in rows]

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
                "SELECT id, name, models, safety, team, limits, capture, scopes FROM api_keys "
                "WHERE hash=? AND revoked IS NULL",
                (h,)
            ).fetchone()
        p = Principal(row["id"], row["name"], frozenset(json.loads(row["models"])), row["safety"], row["team"],
                      LimitSpec.model_validate_json(row["limits"]) if row["limits"] else None,
                      bool(row["capture"]), frozenset(json.loads(row["scopes"] or '["read"]'))) if row else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[h] = (now, p)
        return p


def authenticate(authorization: str | None, keys: KeyStore, admin_key: str | None,
                 anonymous: Principal | None = ANONYMOUS) -> Principal:
    """The caller for an ``Authorization`` header, or a 401; ``anonymous`` while the gateway is
    open (None: it may not be, e.g. a network gateway whose last key was revoked)."""
    token = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            token = value.strip()
    if admin_key and token and hmac.compare_digest(token.encode(), admin_key.encode()):
        return ADMIN
    if not admin_key and not keys.any_active():
        if anonymous is None:
            raise AuthenticationError("this gateway has no active API key and is not open (auth.open): create a "
                                      "key with `plusn keys create`, or set the admin key")
        return anonymous
    if token is None:
        raise AuthenticationError(
            "missing API key: send 'Authorization: Bearer <key>' (create one with `plusn keys create`)"
        )
    principal = keys.lookup(token)
    if principal is None:
        raise AuthenticationError("invalid or revoked API key")
    return principal
