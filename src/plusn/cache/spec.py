"""``cache:`` in the config: whether answers are kept, for how long, and how alike a question
must be to reuse one. See docs/cache.md."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CacheRoute(BaseModel):
    """``cache.routes.<served name>``: the cache of one model, route or skill. Unset keys follow
    the ``cache`` section."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    # Reuse an answer to a question alike in meaning (cosine of the query embeddings). None:
    # where the route embeds the question anyway (auto with intents, a route over a knowledge
    # base); a route that embeds nothing else pays one embedding per request for it.
    semantic: bool | None = None
    threshold: float | None = Field(None, gt=0, le=1)
    ttl_s: float | None = Field(None, gt=0)
    max_entries: int | None = Field(None, ge=1)
    # Keep sampled answers too (temperature above 0): one sample then stands for all of them.
    sampled: bool = False



class CacheSettings(BaseModel):
    """``cache``: the response cache (exact and semantic), scoped per key."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    # The embedding model for semantic matches; None: exact matches only.
    embedding_model: str | None = "multilingual-e5-small"
    # The lowest cosine similarity that counts as the same question (measured with
    # `plusn eval cache`: docs/cache.md gives the wrong-hit rate at each threshold).
    threshold: float = Field(0.95, gt=0, le=1)
    ttl_s: float = Field(86_400, gt=0)
    # Entries kept per served name; the least recently used go first.
    max_entries: int = Field(10_000, ge=1)
    # How often a gateway reads what other processes stored or cleared (several gateway
    # processes over one Postgres database share one cache this way).
    sync_interval_s: float = Field(2.0, gt=0)
    routes: dict[str, CacheRoute] = Field(default_factory=dict)
