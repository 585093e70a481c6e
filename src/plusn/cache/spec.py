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
    # The lowest cosine similarity that counts as the same question (its numbers and names must
    # agree too), measured with multilingual-e5-small by `plusn eval cache` on tests/data/cache:
    # 0.98 had at most 1% wrong hits in each language on the tuning pairs, but 1.3% in Chinese on
    # the held-out ones; 0.985 keeps both within 1% (tuning 0.0%, held-out zh 1.0%), hitting 5-6%
    # of paraphrases. e5-small rates "Basic plan price" and "Pro plan price" as alike as two
    # paraphrases, so it cannot do better: docs/cache.md.
    threshold: float = Field(0.985, gt=0, le=1)
    ttl_s: float = Field(86_400, gt=0)
    # Entries kept per served name; the least recently used go first.
    max_entries: int = Field(10_000, ge=1)
    # How often a gateway reads what other processes stored or cleared (several gateway
    # processes over one Postgres database share one cache this way).
    sync_interval_s: float = Field(2.0, gt=0)
    routes: dict[str, CacheRoute] = Field(default_factory=dict)
