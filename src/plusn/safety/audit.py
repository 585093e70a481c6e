"""Safety decisions of the request being served, collected for the audit log.

The gateway opens a list per request (:func:`collecting`); anything that decides (the input
guard, a passage screen, redaction before a remote call) appends to it with :func:`note`,
wherever it runs inside that request. The ledger writes the list to the ``audit`` table with
the request's id, key and endpoint. Decisions carry kinds, categories, scores and actions,
never the sensitive values themselves.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_current: ContextVar[list[dict[str, Any]] | None] = ContextVar("plusn_safety_decisions", default=None)


@contextmanager
def collecting(into: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    token = _current.set(into)
    try:
        yield into
    finally:
        _current.reset(token)


def note(stage: str, *, category: str, action: str, score: float | None = None, target: str | None = None,
         detail: Any = None) -> dict[str, Any]:
    """Record one decision (a no-op outside a request)."""
    d: dict[str, Any] = {"ts": time.time(), "stage": stage, "category": category, "action": action}
    if score is not None:
        d["score"] = round(float(score), 4)
    if target is not None:
        d["target"] = target
    if detail is not None:
        d["detail"] = detail
    decisions = _current.get()
    if decisions is not None:
        decisions.append(d)
    return d
