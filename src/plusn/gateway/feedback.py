"""``POST /v1/feedback``: a user's verdict on an answer, by the answer's request id.

    {"request_id": "req-…", "score": 0.8}                 a score from 0 (bad) to 1 (good)
    {"request_id": "req-…", "label": "good", "correct": true, "comment": "…"}

Only the key that made a request may rate it; for any other caller, and for an id the ledger
does not hold, the answer is the same 404, so ids cannot be probed. The verdict becomes outcome
data for refitting routes (``plusn learning export``).
"""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import JSONResponse

from ..errors import NotFound
from ..learning import feedback
from .body import body_schema, parse
from .runtime import principal, runtime

router = APIRouter()


class FeedbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request_id: str = Field(min_length=1, max_length=100)
    score: float | None = Field(None, ge=0, le=1)
    label: Literal["good", "bad"] | None = None
    correct: bool | None = None  # whether the answer was right, where the task has a right answer
    comment: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _one_verdict(self) -> FeedbackBody:
        if (self.score is None) == (self.label is None):
            raise ValueError("give either 'score' (0 to 1) or 'label' ('good' or 'bad')")
        return self

    def value(self) -> float:
        return self.score if self.score is not None else 1.0 if self.label == "good" else 0.0


@router.post("/v1/feedback", openapi_extra=body_schema(FeedbackBody))
async def post_feedback(request: Request) -> JSONResponse:
    who = await principal(request)
    body = await parse(request, FeedbackBody)
    rt = runtime(request)
    db = rt.settings.state_db()
    found, key_id = await asyncio.to_thread(feedback.owner, db, body.request_id)
    if not found:  # a request that has just ended may still be queued for the ledger's writer
        await asyncio.to_thread(rt.ledger.flush, 2.0)
        found, key_id = await asyncio.to_thread(feedback.owner, db, body.request_id)
    if not found or key_id != who.key_id:
        raise NotFound(f"no request {body.request_id!r} made with this key", param="request_id")
    await asyncio.to_thread(feedback.save, db, body.request_id, key_id, body.value(), body.correct, body.comment)
    return JSONResponse({"object": "feedback", "request_id": body.request_id, "score": body.value(),
                         "correct": body.correct})
