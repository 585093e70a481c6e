"""A progress bar for the eval commands, driven by (done, total)."""

from __future__ import annotations

from typing import Any


class Bar:
    """A tqdm bar driven by (done, total), or nothing."""

    def __init__(self, enabled: bool, desc: str, unit: str) -> None:
        self._tqdm: Any = None
        self._n = 0
        if enabled:
            from tqdm import tqdm

            self._tqdm = tqdm(desc=desc, unit=unit, leave=False)

    def update(self, n: int, total: int) -> None:
        if self._tqdm is None:
            return
        if self._tqdm.total != total:
            self._tqdm.total = total
        self._tqdm.update(n - self._n)
        self._n = n

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
