"""A quantity read from a message: a number, the unit written after it, and the interval its
words allow. :mod:`.quantities` reads them; :mod:`.tenths` joins a unit's tenth to them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str | None  # the canonical unit written after the number (年, 月, 周, 天, …), or a slot's own word
    start: int  # the span covers the bound words too: text[start:end] is what the user said ("不到一年")
    end: int
    low: float | None = None  # the interval the words allow, in ``unit``; None is the value itself,
    high: float | None = None  # ±inf an open side ("超过三年" has no top)
    low_in: bool = True  # whether the end itself is allowed (不到一年: 1 is not; 一年以上: 1 is)
    high_in: bool = True
    counted: bool = False  # people counted with a measure word or said to be none (三个人, 没招人): of a group
    # the words may not name ("加上我一共三个人"), so certain only as a reply that says nothing else

    @property
    def bounded(self) -> bool:
        """Whether the words give an interval rather than the number itself."""
        return self.low is not None or self.high is not None

    def interval(self) -> tuple[float, float]:
        return (self.value if self.low is None else self.low, self.value if self.high is None else self.high)
