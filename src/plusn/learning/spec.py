"""Config of learning from traffic: what a route keeps, what it compares, for how long."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..routing.extract import Extractor


class ShadowSpec(BaseModel):
    """Send a share of a route's captured requests to other members too, off the request path,
    and judge their answers against the served one."""

    model_config = ConfigDict(extra="forbid")
    share: float = Field(0.1, ge=0, le=1)  # of the captured requests
    models: list[str] = Field(min_length=1)  # fleet members to compare with
    # Remote members get shadow traffic only when the route says so: it sends the prompt out.
    remote: bool = False
    # The most shadow calls may cost per day (UTC), in the deployment's currency; None: no cap.
    daily_budget: float | None = Field(None, gt=0)
    # A chat model of the fleet that says whether a shadow answer agrees with the served one,
    # for answers no extractor can compare (free text); its calls count in the shadow cost.
    judge: str | None = None


class RouteLearning(BaseModel):
    """``routes.<name>.learning``: nothing is kept or compared unless asked for here."""

    model_config = ConfigDict(extra="forbid")
    # Keep the prompt and each answer (redacted) for learning; the key must opt in as well.
    capture: bool = False
    shadow: ShadowSpec | None = None
    # How answers are compared (agreement between the served answer and a shadow's).
    extractor: Extractor = Field(default_factory=Extractor)


class LearningSettings(BaseModel):
    """``learning``: how long captured text is kept."""

    model_config = ConfigDict(extra="forbid")
    retention_days: float = Field(30, gt=0)
    # Requests made without a key (an open gateway, no admin key) have no key to opt in with;
    # they are captured only when this says so. The admin key's requests are never captured.
    capture_keyless: bool = False
