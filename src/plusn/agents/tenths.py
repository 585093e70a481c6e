"""A number said in a unit and its tenth: 一米八 is 1.8 米, 两块五 2.5 块, 五米三 5.3 米.

Chinese says a length or a sum with the digit of the next smaller unit after the unit, the
smaller unit left out (一米八 for one metre eight decimetres, 两块五 for two yuan five jiao). Read
apart, 一米八 is 1 米 and a bare 8, which a slot asked for a length then takes. The digit counts
only right after the unit and alone, not before another numeral or a unit ("三块八毛" says its
毛, "一米七五" is left as it was), and only for the units that are said so.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .quantity import Quantity

_DIGITS = "一二三四五六七八九"
_TENTHS = ("米", "块", "元", "斤", "公里")  # the units a digit after them is the tenth of
# one digit, with nothing after it that counts or measures
_AFTER = re.compile(rf"[{_DIGITS}](?![{_DIGITS}十百千万两零〇\d.]|\s*[个份人次件张条位家台笔本辆套项口门天年月周岁斤米块元分毛角])")


def tenths(text: str, found: list[Quantity]) -> list[Quantity]:
    """The quantities with a unit's tenth joined to the number before it (and the bound said
    of the tenth, "五米三左右", said of the whole)."""
    out: list[Quantity] = []
    for q in found:
        prev = out[-1] if out else None
        m = _AFTER.match(text, q.start) if prev is not None and prev.unit in _TENTHS and q.unit is None \
            and q.start == prev.end and not (prev.low or prev.high) else None
        if prev is not None and m is not None:
            def shift(x: float | None, base: float = prev.value) -> float | None:
                return None if x is None else base + x / 10

            out[-1] = replace(q, value=prev.value + q.value / 10, unit=prev.unit, start=prev.start,
                              low=shift(q.low), high=shift(q.high))
            continue
        out.append(q)
    return out
