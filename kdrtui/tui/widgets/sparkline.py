"""A tiny text sparkline (``▁▂▃▄▅▆▇█``) for a topic's recent lag."""

from __future__ import annotations

from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"
"""Eight levels, lowest first."""


def sparkline(values: Sequence[int | float], width: int = 6) -> str:
    """The last ``width`` values as bars scaled between their minimum and maximum.

    A flat series draws as the lowest bar when it is zero and a middle bar otherwise, so "always 0"
    and "always 5,000 behind" look different. Empty input gives an empty string.
    """
    recent = list(values)[-width:] if width > 0 else []
    if not recent:
        return ""
    low, high = min(recent), max(recent)
    if high == low:
        return (BARS[0] if high == 0 else BARS[3]) * len(recent)
    span = high - low
    top = len(BARS) - 1
    return "".join(BARS[round((v - low) / span * top)] for v in recent)
