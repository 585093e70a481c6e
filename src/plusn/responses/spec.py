"""``responses:`` in the config: how long the conversations behind ``previous_response_id`` are kept."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ResponsesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # A stored response (and the conversation up to it) is deleted this long after it was made.
    retention_days: float = Field(30, gt=0)
