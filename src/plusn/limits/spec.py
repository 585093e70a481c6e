"""Limits of a key or a team: requests and tokens per minute, requests at once, a budget."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LimitSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rpm: int | None = Field(None, ge=1)  # requests per minute
    tpm: int | None = Field(None, ge=1)  # tokens (prompt + completion) per minute
    max_concurrency: int | None = Field(None, ge=1)  # requests at once
    budget: float | None = Field(None, gt=0)  # in the deployment's currency, per budget_period
    budget_period: Literal["day", "month", "total"] = "month"

    def empty(self) -> bool:
        return self.rpm is None and self.tpm is None and self.max_concurrency is None and self.budget is None


class LimitsSettings(BaseModel):
    """Limits per key and per team; see docs/limits.md."""

    model_config = ConfigDict(extra="forbid")

    # Counters live in Redis when set (exact across gateway processes), else in this process.
    redis_url: str | None = None
    # Teams: keys that name a team share its limits, on top of their own.
    teams: dict[str, LimitSpec] = Field(default_factory=dict)
    # Limits for every key that sets none of its own (and for the open gateway's anonymous caller).
    default: LimitSpec = Field(default_factory=LimitSpec)
    # A request holds its concurrency slot at most this long, so a crashed process cannot keep it.
    lease_s: float = Field(900.0, gt=0)
    # The completion tokens reserved for a request that does not say (max_tokens), for TPM and budget.
    reserve_completion_tokens: int = Field(512, ge=0)
