"""Configuration of knowledge bases and SQL sources."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class KnowledgeSpec(BaseModel):
    """One knowledge base: where it is stored, how it is chunked and searched."""

    model_config = ConfigDict(extra="forbid")
    description: str = ""
    # Files and folders this base holds, ingested when it first opens in a process (unchanged
    # files are skipped by their content hash, files gone from a folder are removed): relative
    # to the config file, absolute, or pkg:<package>/<path> inside an installed package.
    # Documents added with `plusn kb ingest` or the API are kept beside them.
    paths: list[str] = Field(default_factory=list)
    # sqlite: a file under data_dir/kb/ (default). postgres: pgvector + full-text search at `dsn`.
    store: Literal["sqlite", "postgres"] = "sqlite"
    dsn: str | None = None
    embedding_model: str = "multilingual-e5-small"
    # Chunks are at most this many (estimated) model tokens; e5 reads at most 512.
    chunk_tokens: int = Field(256, ge=32, le=512)
    # How keyword and vector results are combined; see docs/knowledge.md.
    fusion: Literal["adaptive", "rrf", "bm25", "dense"] = "adaptive"
    top_k: int = Field(4, ge=1, le=50)
    # Optional rerank hook, "package.module:function": called as function(query, hits) (sync or
    # async) with three times top_k fused hits; returns them reordered (and possibly fewer).
    rerank: str | None = Field(None, pattern=r"^[\w.]+:\w+$")

    @model_validator(mode="after")
    def _dsn(self) -> KnowledgeSpec:
        if self.store == "postgres" and not self.dsn:
            raise ValueError("store 'postgres' needs a dsn, e.g. postgresql://user@host/db")
        return self


class SQLSpec(BaseModel):
    """A database the ``sql`` tool may read: a SQLite file or a Postgres DSN."""

    model_config = ConfigDict(extra="forbid")
    description: str = ""
    url: str  # sqlite:///path/to/file.db or postgresql://user@host/db
    max_rows: int = Field(50, ge=1, le=10_000)
    timeout_s: float = Field(5.0, gt=0, le=300)
    # Tables the model may see and query; empty means every table.
    tables: list[str] = Field(default_factory=list)
