"""Lag in seconds: how certain a figure is, the worst of several, and dating a replicated offset by the end
offsets seen over time when the source's records cannot be read (pure).

Part of the lag maths of :mod:`kdrtui.domain.lag`, which re-exports these names.
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum


class LagSecondsSource(StrEnum):
    """Where a lag in seconds comes from, most certain first."""

    RECORD = "record"
    """From the source's data: now minus the timestamp of the first committed record not mirrored (read
    with a bounded fetch), or 0 because nothing committed is left to mirror. Exact."""
    HISTORY = "history"
    """The source's records could not be read: estimated from the end offsets this process saw over time
    (when the source was at the replicated offset)."""
    UNKNOWN = "unknown"
    """Neither: the replicated offset is older than the history. ``lag_seconds`` is then a lower bound
    (the age of the oldest end offset seen), 0 on a first refresh."""


UNCERTAINTY = {LagSecondsSource.RECORD: 0, LagSecondsSource.HISTORY: 1, LagSecondsSource.UNKNOWN: 2}
"""Among equal lags in seconds the least certain one stands for the topic or the flow."""


def worst_seconds(items: list[tuple[float, LagSecondsSource]]) -> tuple[float, LagSecondsSource]:
    """The largest lag in seconds with its source; among equals the least certain source."""
    return max(
        items, key=lambda item: (item[0], UNCERTAINTY[item[1]]), default=(0.0, LagSecondsSource.RECORD)
    )


class OffsetHistory:
    """Recent (time, end offset) points of one source partition, to date an offset without fetching it.

    The kafka-lag-exporter method: the source was at offset ``o`` at about the time its end offset passed
    ``o``; interpolate between the two points around it. Bounded in length.
    """

    def __init__(self, maxlen: int = 120) -> None:
        self.points: deque[tuple[float, int]] = deque(maxlen=maxlen)
        """(time, end offset), oldest first; end offsets never decrease."""

    def add(self, when: float, end: int) -> None:
        """Record the partition's end offset at ``when`` (duplicates of the last offset are merged)."""
        if self.points and self.points[-1][1] == end:
            # Keep the FIRST time the end was seen at this value: that is when it got there.
            return
        self.points.append((when, end))

    def time_at(self, offset: int) -> float | None:
        """When the end offset reached ``offset`` (interpolated), or None if older than the history."""
        previous: tuple[float, int] | None = None
        for when, end in self.points:
            if end >= offset:
                if previous is None:
                    return when if end == offset else None
                t0, e0 = previous
                if end == e0:
                    return when
                return t0 + (when - t0) * (offset - e0) / (end - e0)
            previous = (when, end)
        return None

    def rate(self, now: float, window: float = 30.0) -> float:
        """Records per second over the last ``window`` seconds."""
        recent = [(t, e) for t, e in self.points if t >= now - window]
        if len(recent) < 2:
            return 0.0
        (t0, e0), (t1, e1) = recent[0], recent[-1]
        return (e1 - e0) / (t1 - t0) if t1 > t0 else 0.0


def lag_seconds(history: OffsetHistory, replicated: int, source_end: int, now: float) -> float:
    """Seconds the mirror is behind: now minus when the source was at ``replicated`` (0 when caught up).

    Without history old enough, the oldest point's age is a lower bound.
    """
    return history_seconds(history, replicated, source_end, now)[0]


def history_seconds(
    history: OffsetHistory, replicated: int, source_end: int, now: float
) -> tuple[float, LagSecondsSource]:
    """:func:`lag_seconds` and whether the history could date ``replicated`` (HISTORY) or only bound it
    from below (UNKNOWN)."""
    if replicated >= source_end:
        return 0.0, LagSecondsSource.HISTORY
    reached = history.time_at(replicated + 1)
    if reached is not None:
        return max(0.0, now - reached), LagSecondsSource.HISTORY
    oldest = history.points[0][0] if history.points else now
    return max(0.0, now - oldest), LagSecondsSource.UNKNOWN
