"""The one exception tree of plusn.

Library exceptions are translated into these where they happen (``raise X(...) from exc``);
the HTTP edge turns any of them into OpenAI's error envelope exactly once.
"""

from __future__ import annotations

from typing import Any


class PlusnError(Exception):
    """Base of every error plusn raises on purpose."""

    status: int = 500
    type: str = "server_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.headers = headers or {}

    def envelope(self) -> dict[str, Any]:
        """OpenAI's error body: ``{"error": {"message", "type", "param", "code"}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


# --- client errors -------------------------------------------------------------------------


class InvalidRequest(PlusnError):
    status = 400
    type = "invalid_request_error"


class AuthenticationError(PlusnError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(PlusnError):
    status = 403
    type = "permission_error"
    code = "model_not_allowed"


class NotFound(PlusnError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class PayloadTooLarge(PlusnError):
    status = 413
    type = "invalid_request_error"
    code = "payload_too_large"


class _RetryLater(PlusnError):
    def __init__(self, message: str, *, retry_after: float = 1.0, **kw: Any) -> None:
        headers = dict(kw.pop("headers", None) or {})
        headers["Retry-After"] = str(max(1, round(retry_after)))
        super().__init__(message, headers=headers, **kw)
        self.retry_after = retry_after


class RateLimited(_RetryLater):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class ClientDisconnected(PlusnError):
    """The client went away before the answer was ready; nothing is sent (nginx's 499)."""

    status = 499
    type = "client_disconnected"


# --- server and upstream errors ------------------------------------------------------------


class Overloaded(_RetryLater):
    status = 503
    type = "server_error"
    code = "overloaded"


class UpstreamError(PlusnError):
    status = 502
    type = "upstream_error"
    code = "upstream_error"


class UpstreamTimeout(PlusnError):
    status = 504
    type = "timeout_error"
    code = "upstream_timeout"


class NotReady(PlusnError):
    status = 503
    type = "server_error"
    code = "not_ready"


# --- configuration -------------------------------------------------------------------------


class ConfigError(PlusnError):
    """A configuration problem; the message names the file and the key."""

    type = "config_error"

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        where = ""
        if file and key:
            where = f"{file}: {key}: "
        elif file:
            where = f"{file}: "
        elif key:
            where = f"{key}: "
        super().__init__(where + message, param=key)
        self.file = file
        self.key = key
        self.detail = message  # without the file and the key


class MissingDependency(ConfigError):
    """An optional dependency needed by the configuration is not installed."""
