"""Feedback on an answer, stored beside its request's ledger row."""

from __future__ import annotations

import time
from typing import Any

from ..database import connect
from ..safety.redact import redact

# Who made a request: (found, key_id). Only answers can be rated: generations, not shadow calls,
# model lists or feedback itself.
_OWNER = ("SELECT key_id FROM ledger WHERE id = ? AND shadow = 0 AND (endpoint IN "
          "('/v1/chat/completions', '/v1/completions') OR endpoint LIKE '/v1/skills/%')")
_SAVE = ("INSERT INTO feedback (request_id, key_id, ts, score, correct, comment) VALUES (?, ?, ?, ?, ?, ?) "
         "ON CONFLICT (request_id) DO UPDATE SET ts = excluded.ts, score = excluded.score, "
         "correct = excluded.correct, comment = excluded.comment")


def owner(db: Any, request_id: str) -> tuple[bool, str | None]:
    """Whether the request is in the ledger, and the id of the key that made it."""
    conn = connect(db)
    try:
        row = conn.execute(_OWNER, (request_id,)).fetchone()
    finally:
        conn.close()
    return (False, None) if row is None else (True, row[0])


def save(db: Any, request_id: str, key_id: str | None, score: float, correct: bool | None,
         comment: str | None) -> None:
    """Keep the latest feedback on a request (a second one replaces the first); the comment is
    redacted as captured text is."""
    conn = connect(db)
    try:
        with conn:
            conn.execute(_SAVE, (request_id, key_id, time.time(), score, None if correct is None else int(correct),
                                 None if comment is None else redact(comment)[0][:2000].replace("\x00", "")))
    finally:
        conn.close()
