"""One topic of one flow: its partitions summed, its rates, trend and health, and what it remembers
between refreshes to know them."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from kdrtui.domain.lag import PartitionLag, TopicLag
from kdrtui.domain.lag_health import Health
from kdrtui.domain.lag_seconds import OffsetHistory, worst_seconds

STALL_REFRESHES = 3
"""Refreshes without progress (while the source moved on) before a topic is STALLED."""
TREND_LENGTH = 30
"""``lag_records`` values kept per topic for the sparkline."""


@dataclass
class TopicMemory:
    """What one topic of one flow remembers between refreshes."""

    history_in: OffsetHistory = field(default_factory=OffsetHistory)
    """Sum of source end offsets (rate in)."""
    history_out: OffsetHistory = field(default_factory=OffsetHistory)
    """Sum of replicated offsets (rate out)."""
    last_source: int = -1
    last_replicated: int = -1
    no_progress: int = 0
    """Refreshes in a row that replicated nothing while committed records waited and the source moved."""
    trend: deque[int] = field(default_factory=lambda: deque(maxlen=TREND_LENGTH))


def topic_lag(
    memory: TopicMemory,
    topic: str,
    target: str,
    partitions: list[PartitionLag],
    now: float,
    health: Callable[[float, bool, bool], Health],
) -> TopicLag:
    """The topic's figures from its partitions' (and ``memory``, updated); ``health(lag_s, stalled,
    lost)`` classifies it."""
    source_sum = sum(p.source_end for p in partitions)
    replicated_sum = sum(p.replicated for p in partitions)
    lag_records = sum(p.lag_records for p in partitions)
    if lag_records == 0 or replicated_sum > memory.last_replicated >= 0:
        memory.no_progress = 0
    elif memory.last_replicated >= 0 and source_sum > memory.last_source:
        memory.no_progress += 1
    memory.last_source, memory.last_replicated = source_sum, replicated_sum
    memory.history_in.add(now, source_sum)
    memory.history_out.add(now, replicated_sum)
    memory.trend.append(lag_records)
    behind_now = [p for p in partitions if p.replicated < p.source_end]  # the others add nothing
    lag_s, source = worst_seconds([(p.lag_seconds, p.lag_seconds_source) for p in behind_now])
    behind = max(partitions, key=lambda p: p.lag_records, default=None)
    stalled = lag_records > 0 and memory.no_progress >= STALL_REFRESHES
    lost = sum(p.lost_records for p in behind_now)
    return TopicLag(
        topic=topic,
        target_topic=target,
        partitions=tuple(partitions),
        lag_records=lag_records,
        lag_seconds=lag_s,
        worst_partition=behind.partition if behind is not None and behind.lag_records > 0 else None,
        rate_in=memory.history_in.rate(now),
        rate_out=memory.history_out.rate(now),
        health=health(lag_s, stalled, lost > 0),
        trend=tuple(memory.trend),
        lost_records=lost,
        lag_seconds_source=source,
        open_transactions=sum(p.open_transaction for p in behind_now),
    )
