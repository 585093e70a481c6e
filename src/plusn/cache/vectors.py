"""One scope's question vectors, and the exact search for those alike enough to a question.

Every vector is unit length, so two are at least ``t`` alike exactly when they are at most
``sqrt(2 - 2t)`` apart. Projected onto a few orthonormal directions, a difference can only get
shorter, so a row whose projection lies farther than that from the question's cannot be alike
enough and is skipped without reading its full vector. The directions are the principal ones of
the scope's own questions (fitted at PROJECT_FROM rows, refitted each time the scope grows four
times), along which questions differ most, so few rows pass; those few are then scored exactly.
Nothing is approximate: the same rows are found as by one product over the whole matrix, which
is what a small scope still does (and a scope of short vectors, under 2 x DIRECTIONS dimensions).
"""

from __future__ import annotations

import numpy as np

PROJECT_FROM = 2048  # rows below which one product over the whole matrix costs as little
DIRECTIONS = 48  # of 384: an eighth of the memory read per lookup
_SAMPLE = 2048  # rows the directions are fitted on
# A fit runs on the request path that adds the row: 50-100 ms at 16,384 rows on 2 busy cores, a
# handful of times in a scope's life; the directions of the first questions serve the later ones.
_ROUNDING = 1e-4  # float32 rounding in the distances: never skip a row on the boundary


class ScopeVectors:
    """The vectors as rows of one matrix that grows by doubling, with their projections."""

    def __init__(self, dim: int) -> None:
        self._refit_at: int | None
        self.keys: list[str] = []
        self.pos: dict[str, int] = {}
        self.matrix = np.empty((8, dim), dtype=np.float32)
        self.basis: np.ndarray | None = None  # DIRECTIONS × dim, orthonormal rows
        self.projected = np.empty((8, DIRECTIONS), dtype=np.float32)
        self.lengths = np.empty(8, dtype=np.float32)  # each projection's squared length
        # Short vectors are read whole as quickly as their projections would be.
        self._refit_at = PROJECT_FROM if dim > 2 * DIRECTIONS else None

    def add(self, key: str, vector: np.ndarray) -> None:
        n = len(self.keys)
        if n == len(self.matrix):
            self.matrix = np.concatenate([self.matrix, np.empty_like(self.matrix)])
            self.projected = np.concatenate([self.projected, np.empty_like(self.projected)])
            self.lengths = np.concatenate([self.lengths, np.empty_like(self.lengths)])
        self.matrix[n] = vector
        self.pos[key] = n
        self.keys.append(key)
        if self.basis is not None:
            p = self.basis @ self.matrix[n]
            self.projected[n], self.lengths[n] = p, p @ p
        if self._refit_at is not None and n + 1 >= self._refit_at:
            self._fit(n + 1)
            self._refit_at *= 4

    def remove(self, key: str) -> None:
        """Move the last row into the removed one's place."""
        i = self.pos.pop(key)
        last = self.keys.pop()
        if last != key:
            n = len(self.keys)
            self.matrix[i], self.projected[i], self.lengths[i] = self.matrix[n], self.projected[n], self.lengths[n]
            self.keys[i] = last
            self.pos[last] = i

    def _fit(self, n: int) -> None:
        """The principal directions of (a sample of) the rows, and every row's projection."""
        rows = self.matrix[:n]
        sample = rows[:: max(1, n // _SAMPLE)]
        centred = sample - sample.mean(axis=0)
        _, vectors = np.linalg.eigh(centred.T @ centred)  # ascending: the last are the principal
        self.basis = np.ascontiguousarray(vectors[:, -DIRECTIONS:].T, dtype=np.float32)
        self.projected[:n] = rows @ self.basis.T
        self.lengths[:n] = np.einsum("ij,ij->i", self.projected[:n], self.projected[:n])

    def nearest(self, vector: np.ndarray, threshold: float, n: int) -> list[tuple[str, float]]:
        """Up to ``n`` keys at least ``threshold`` alike, the closest first."""
        count = len(self.keys)
        rows: np.ndarray | None = None  # the rows scored, when not all of them
        if self.basis is not None:
            q = self.basis @ vector
            radius = 2.0 * (1.0 - threshold) + _ROUNDING
            distances = self.lengths[:count] - 2.0 * (self.projected[:count] @ q) + q @ q
            close = np.flatnonzero(distances <= radius)
            if len(close) < count // 4:  # else reading every row is as quick
                rows = close
        sims = self.matrix[:count] @ vector if rows is None else self.matrix[rows] @ vector
        if len(sims) <= n:
            order = np.argsort(-sims)
        else:
            top = np.argpartition(-sims, n)[:n]
            order = top[np.argsort(-sims[top])]
        index = order if rows is None else rows[order]
        return [(self.keys[i], float(s)) for i, s in zip(index, sims[order], strict=True) if s >= threshold]
