"""Mirror lag: the snapshot the console and ``kdrtui status`` show, and the maths behind it (pure).

The only place lag is computed, with :mod:`kdrtui.domain.lag_health` (the health classification) and
:mod:`kdrtui.domain.lag_seconds` (the lag in seconds and its certainty), whose names this module
re-exports. A lag engine (services) gathers raw facts — end offsets of both clusters, MirrorMaker's
replicated offsets, offset syncs, checkpoints, heartbeats, and for partitions behind their log start,
last stable offset and first unmirrored record (:class:`SourceRead`) — and the functions here turn them
into a frozen :class:`LagSnapshot`. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kdrtui.domain.lag_health import SEVERITY, Health, classify, worst
from kdrtui.domain.lag_seconds import (
    UNCERTAINTY,
    LagSecondsSource,
    OffsetHistory,
    history_seconds,
    lag_seconds,
    worst_seconds,
)

__all__ = [
    "SEVERITY",
    "UNCERTAINTY",
    "FlowLag",
    "FlowSchedule",
    "GroupLag",
    "Health",
    "LagSecondsSource",
    "LagSnapshot",
    "OffsetHistory",
    "PartitionLag",
    "SourceRead",
    "TopicLag",
    "classify",
    "history_seconds",
    "lag_seconds",
    "partition_lag",
    "worst",
    "worst_seconds",
]


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """One mirrored partition."""

    partition: int
    """Partition number (the same on both sides: MirrorMaker preserves partitioning)."""
    source_end: int
    """High watermark on the source cluster."""
    target_end: int | None
    """High watermark of the mirrored partition on the target (None before it exists)."""
    replicated: int
    """Next source offset MirrorMaker will copy (everything below it is on the target)."""
    lag_records: int
    """Offsets still to mirror that hold committed data: from the first committed record not mirrored
    to the last stable offset (transaction markers and aborted records before it are not lag, nor are
    records of a still open transaction); ``source_end - replicated`` when the source was not read."""
    lag_seconds: float
    """Now minus the timestamp of the first committed record not mirrored (0 when caught up); see
    ``lag_seconds_source``."""
    lost_records: int = 0
    """Records deleted on the source before they were mirrored: ``log_start - replicated`` when the log
    start offset passed the replicated offset (not counted in ``lag_records``)."""
    lag_seconds_source: LagSecondsSource = LagSecondsSource.RECORD
    """Where ``lag_seconds`` comes from."""
    open_transaction: bool = False
    """A transaction is open on the source partition (last stable offset below the high watermark): its
    records are not lag until it commits."""
    log_start: int | None = None
    """The source partition's log start offset (read only for partitions behind)."""
    stable_end: int | None = None
    """The source partition's last stable offset (read only for partitions behind)."""


@dataclass(frozen=True, slots=True)
class TopicLag:
    """One mirrored topic: sums over its partitions."""

    topic: str
    """Name on the source."""
    target_topic: str
    """Name on the target (``primary.orders`` with prefixed naming)."""
    partitions: tuple[PartitionLag, ...]
    """Per partition, in partition order."""
    lag_records: int
    """Sum over partitions."""
    lag_seconds: float
    """Worst partition's lag in seconds."""
    worst_partition: int | None
    """The partition with the most records behind (None when caught up)."""
    rate_in: float
    """Records per second arriving on the source (over the recent history)."""
    rate_out: float
    """Records per second replicated (over the recent history)."""
    health: Health
    """From the thresholds, heartbeats and trend; LOST when any partition lost records."""
    trend: tuple[int, ...] = ()
    """Recent ``lag_records`` values, oldest first (for a sparkline)."""
    lost_records: int = 0
    """Sum over partitions of the records deleted before they were mirrored."""
    lag_seconds_source: LagSecondsSource = LagSecondsSource.RECORD
    """Where the worst partition's lag in seconds comes from."""
    open_transactions: int = 0
    """Partitions behind with an open transaction on the source."""


@dataclass(frozen=True, slots=True)
class GroupLag:
    """A consumer group on the source, and what failing it over now would do."""

    group: str
    """Group id (the same on the target)."""
    topic: str
    """Source topic name."""
    committed: int | None
    """Sum of the group's committed offsets on the source (None when it has none)."""
    checkpointed: int | None
    """Sum of the latest checkpoints' upstream offsets for the group on the target."""
    checkpoint_age_s: float | None
    """Age of the newest checkpoint for this group and topic."""
    redeliver: int
    """Records the group would read again after a failover now (committed - checkpointed, ≥ 0)."""
    skip: int
    """Records it would skip (checkpointed beyond what was replicated; normally 0)."""


@dataclass(frozen=True, slots=True)
class FlowSchedule:
    """Where a scheduled (cold-standby) flow is in its schedule."""

    description: str
    """``every 60 min for 15 min`` or ``cron '0 2 * * *' for 30 min``."""
    next_run: float | None
    """When the next batch starts (epoch s; after the open window when one is open; None: never)."""
    last_run: float | None
    """When MirrorMaker last ran: its newest heartbeat (MM1: when its group last had members); None:
    never seen."""
    running: bool
    """MirrorMaker runs now (fresh heartbeats)."""

    def to_dict(self) -> dict[str, Any]:
        """``{"next_run", "last_run", "running"}`` of ``kdrtui status --json``."""
        return {
            "next_run": None if self.next_run is None else round(self.next_run, 3),
            "last_run": None if self.last_run is None else round(self.last_run, 3),
            "running": self.running,
        }


@dataclass(frozen=True, slots=True)
class FlowLag:
    """One flow ``source -> target``."""

    source: str
    """Source cluster alias."""
    target: str
    """Target cluster alias."""
    mirrormaker: str
    """``mm2`` or ``mm1``."""
    heartbeat_age_s: float | None
    """Age of the newest MirrorMaker heartbeat for this flow (None: none seen; MM1 has none)."""
    health: Health
    """Worst of its topics, or STOPPED."""
    topics: tuple[TopicLag, ...]
    """Worst first."""
    groups: tuple[GroupLag, ...] = ()
    """Consumer groups the flow covers."""
    stale_s: float | None = None
    """When a cluster of this flow is unreachable: the age of the numbers shown (None = fresh)."""
    error: str | None = None
    """Why the numbers are stale or missing."""
    schedule: FlowSchedule | None = None
    """For a scheduled (cold-standby) flow: next and last run; None for a flow that always runs."""
    failed_tasks: tuple[str, ...] = ()
    """MirrorMaker 2 connectors or tasks in state FAILED, one line each with the first line of the trace
    (the flow is CRIT whatever its lag: a failed task copies nothing)."""

    @property
    def lag_records(self) -> int:
        """Total records behind, all topics."""
        return sum(t.lag_records for t in self.topics)

    @property
    def lag_seconds(self) -> float:
        """Worst topic's lag in seconds."""
        return max((t.lag_seconds for t in self.topics), default=0.0)

    @property
    def lag_seconds_source(self) -> LagSecondsSource:
        """Where the worst topic's lag in seconds comes from."""
        return worst_seconds([(t.lag_seconds, t.lag_seconds_source) for t in self.topics])[1]

    @property
    def lost_records(self) -> int:
        """Records deleted on the source before they were mirrored, all topics."""
        return sum(t.lost_records for t in self.topics)


@dataclass(frozen=True, slots=True)
class LagSnapshot:
    """Everything the lag pane and ``kdrtui status`` show, at one instant."""

    taken_at: float
    """Wall-clock time of the refresh."""
    flows: tuple[FlowLag, ...]
    """Every flow of the plan."""
    active: str | None = None
    """Alias of the cluster clients use now (the plan's primary until a failover)."""
    unreachable: dict[str, float] = field(default_factory=dict)
    """Alias -> since when (epoch s) for clusters that did not answer."""
    errors: dict[str, str] = field(default_factory=dict)
    """Alias -> why it did not answer, one line starting ``<alias>: `` (a secured cluster's reason: a wrong
    password, an unknown CA...), for the clusters in ``unreachable``."""

    @property
    def health(self) -> Health:
        """Worst of all flows."""
        return worst([f.health for f in self.flows])

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON of ``kdrtui status --json``."""
        return {
            "taken_at": round(self.taken_at, 3),
            "active": self.active,
            "health": str(self.health),
            "unreachable": {alias: round(since, 3) for alias, since in self.unreachable.items()},
            "errors": dict(self.errors),
            "flows": [
                {
                    "source": f.source,
                    "target": f.target,
                    "mirrormaker": f.mirrormaker,
                    "heartbeat_age_s": None if f.heartbeat_age_s is None else round(f.heartbeat_age_s, 1),
                    "health": str(f.health),
                    "lag_records": f.lag_records,
                    "lag_seconds": round(f.lag_seconds, 1),
                    "lag_seconds_source": str(f.lag_seconds_source),
                    "lost_records": f.lost_records,
                    "stale_s": None if f.stale_s is None else round(f.stale_s, 1),
                    "error": f.error,
                    "schedule": None if f.schedule is None else f.schedule.to_dict(),
                    "failed_tasks": list(f.failed_tasks),
                    "topics": [
                        {
                            "topic": t.topic,
                            "target_topic": t.target_topic,
                            "lag_records": t.lag_records,
                            "lag_seconds": round(t.lag_seconds, 1),
                            "lag_seconds_source": str(t.lag_seconds_source),
                            "lost_records": t.lost_records,
                            "open_transactions": t.open_transactions,
                            "rate_in": round(t.rate_in, 1),
                            "rate_out": round(t.rate_out, 1),
                            "health": str(t.health),
                            "partitions": [
                                {
                                    "partition": p.partition,
                                    "source_end": p.source_end,
                                    "target_end": p.target_end,
                                    "replicated": p.replicated,
                                    "lag_records": p.lag_records,
                                    "lag_seconds": round(p.lag_seconds, 1),
                                    "lag_seconds_source": str(p.lag_seconds_source),
                                    "lost_records": p.lost_records,
                                    "open_transaction": p.open_transaction,
                                    "log_start": p.log_start,
                                    "stable_end": p.stable_end,
                                }
                                for p in t.partitions
                            ],
                        }
                        for t in f.topics
                    ],
                    "groups": [
                        {
                            "group": g.group,
                            "topic": g.topic,
                            "committed": g.committed,
                            "checkpointed": g.checkpointed,
                            "checkpoint_age_s": None
                            if g.checkpoint_age_s is None
                            else round(g.checkpoint_age_s, 1),
                            "redeliver": g.redeliver,
                            "skip": g.skip,
                        }
                        for g in f.groups
                    ],
                }
                for f in self.flows
            ],
        }


@dataclass(frozen=True, slots=True)
class SourceRead:
    """What was read from the source about one partition behind its mirror (all optional: a read that
    failed leaves its part None)."""

    log_start: int | None = None
    """Log start offset (ListOffsets earliest)."""
    stable_end: int | None = None
    """Last stable offset (ListOffsets latest, read_committed): the end of committed data."""
    first_offset: int | None = None
    """Offset of the first committed record at or after ``max(replicated, log_start)``."""
    first_timestamp: float | None = None
    """Its timestamp (epoch s): producer CreateTime, or LogAppendTime when the topic uses it."""
    read_to: int | None = None
    """When no committed record was found: the offset a read_committed fetch reached from there (its
    end of partition). Nothing committed lies below it."""


def partition_lag(
    partition: int,
    *,
    source_end: int,
    target_end: int | None,
    replicated: int,
    read: SourceRead | None,
    history: OffsetHistory,
    now: float,
) -> PartitionLag:
    """One partition's lag from what MirrorMaker replicated and what the source says (``read``: None
    when the partition is caught up or the source could not be read).

    - Records below the log start offset were deleted: ``log_start - replicated`` are lost, never lag.
    - Lag ends at the last stable offset: an open transaction's records are not committed data yet.
    - Lag starts at the first committed record not mirrored: transaction markers and aborted records
      before it occupy offsets but are no lag; when a read_committed fetch reached the end without a
      record, nothing is left (lag 0).
    - Lag in seconds is now minus that record's timestamp; without it, estimated from ``history``.
    """
    replicated = min(replicated, source_end)
    if replicated >= source_end:
        return PartitionLag(partition, source_end, target_end, replicated, 0, 0.0)
    read = read or SourceRead()
    lost = max(0, read.log_start - replicated) if read.log_start is not None else 0
    start = replicated + lost
    end = source_end if read.stable_end is None else min(read.stable_end, source_end)

    def lag(records: int, seconds: float, source: LagSecondsSource) -> PartitionLag:
        return PartitionLag(
            partition,
            source_end,
            target_end,
            replicated,
            lag_records=max(0, records),
            lag_seconds=seconds,
            lost_records=lost,
            lag_seconds_source=source,
            open_transaction=read.stable_end is not None and read.stable_end < source_end,
            log_start=read.log_start,
            stable_end=read.stable_end,
        )

    if start >= end or (read.read_to is not None and read.read_to >= end):
        return lag(0, 0.0, LagSecondsSource.RECORD)  # only deleted, uncommitted, aborted or marker offsets
    if read.first_offset is not None and read.first_timestamp is not None:
        if read.first_offset >= end:
            return lag(0, 0.0, LagSecondsSource.RECORD)
        return lag(end - read.first_offset, max(0.0, now - read.first_timestamp), LagSecondsSource.RECORD)
    # The source's records could not be read (or a fetch ran out of time): estimate from the history.
    start = max(start, read.read_to or 0)
    seconds, source = history_seconds(history, start, end, now)
    return lag(end - start, seconds, source)
