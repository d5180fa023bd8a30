"""One flow of the lag engine: what it keeps between refreshes, what MirrorMaker replicated of each of its
partitions, and its :class:`~kdrtui.domain.lag.FlowLag` — from a refresh's facts, or its last numbers
marked stale when one of its clusters did not answer.

Nothing here reads a cluster: :class:`~kdrtui.services.kafka.lag_engine.LagEngine` does, and hands over
what it read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from kdrtui.domain.lag import FlowLag, GroupLag, PartitionLag, SourceRead, TopicLag, partition_lag
from kdrtui.domain.lag_health import SEVERITY, Health, classify, worst
from kdrtui.domain.lag_seconds import OffsetHistory
from kdrtui.domain.plan import MirrorFlow
from kdrtui.services.kafka.group_lag import group_lags, target_topic_name
from kdrtui.services.kafka.mm2_status import Mm2StatusReader
from kdrtui.services.kafka.mm2_tail import Mm2Tail
from kdrtui.services.kafka.topic_lag import TopicMemory, topic_lag

TP = tuple[str, int]
"""(topic, partition)."""

Behind = tuple[int, int, int | None, int]
"""(partition, source end, target end, replicated) of a partition behind."""


@dataclass
class Replicated:
    """One flow's raw facts of a refresh, before the source is read for the partitions behind."""

    heartbeat_age: float | None
    partitions: dict[str, list[PartitionLag | Behind]]
    """Source topic -> its partitions: final figures when caught up, else what the source's reads
    finish."""
    replicated_of: dict[TP, int]
    """Replicated offset per source partition."""


@dataclass
class FlowState:
    """What the lag engine keeps of one flow between refreshes."""

    flow: MirrorFlow
    tail: Mm2Tail | None = None
    histories: dict[TP, OffsetHistory] = field(default_factory=dict)
    """Source end offsets per source partition."""
    topics: dict[str, TopicMemory] = field(default_factory=dict)
    caught_up: dict[TP, PartitionLag] = field(default_factory=dict)
    """The last caught-up figures per partition, reused while they do not change (fewer objects)."""
    last: FlowLag | None = None
    fresh_at: float | None = None
    """Clock time of the last fresh numbers."""
    groups: tuple[GroupLag, ...] = ()
    status: Mm2StatusReader | None = None
    """MM2: reads the flow's connector and task states from its status topic on the target."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """How a flow's lag and heartbeats are judged: the plan's lag thresholds and the heartbeat timeout."""

    warn_s: float
    """Lag shown as a warning from this many seconds."""
    crit_s: float
    """Lag shown as critical from this many seconds."""
    heartbeat_timeout_s: float
    """An MM2 flow without a heartbeat newer than this is STOPPED."""

    def classify(
        self, lag_s: float, heartbeat_age: float | None, *, stalled: bool, lost: bool = False
    ) -> Health:
        """Health from a lag in seconds and the flow's heartbeat age (:func:`kdrtui.domain.lag.classify`)."""
        return classify(
            lag_s,
            warn_s=self.warn_s,
            crit_s=self.crit_s,
            heartbeat_age_s=heartbeat_age,
            heartbeat_timeout_s=self.heartbeat_timeout_s,
            stalled=stalled,
            lost=lost,
        )


def replicated_partitions(
    state: FlowState,
    topics: list[str],
    source_meta: dict[str, int],
    target_meta: dict[str, int],
    source_ends: dict[TP, int],
    target_ends: dict[TP, int],
    mm1_committed: dict[TP, int],
    heartbeat_age: float | None,
    now: float,
) -> Replicated:
    """What MirrorMaker replicated of each partition of the flow's ``topics`` (the source topics it
    mirrors): from the MM2 tail's offsets (``state.tail``), or MM1's committed offsets (``mm1_committed``).

    Args:
        state: the flow; its offset histories and caught-up figures are updated.
        topics: the source topics the flow mirrors.
        source_meta: partition count per topic on the source; ``target_meta`` on the target.
        source_ends: end offsets read on the source; ``target_ends`` on the target.
        mm1_committed: MM1's committed offsets on the source ({} for MM2).
        heartbeat_age: seconds since the flow's last heartbeat (None: none seen).
        now: clock time of the refresh.
    """
    flow, tail = state.flow, state.tail
    partitions: dict[str, list[PartitionLag | Behind]] = {}
    replicated_of: dict[TP, int] = {}
    histories, caught_up = state.histories, state.caught_up
    for topic in topics:
        target = target_topic_name(flow, topic)
        target_partitions = target_meta.get(target, 0)
        rows = partitions[topic] = []
        for p in range(source_meta[topic]):
            tp = (topic, p)
            source_end = source_ends.get(tp)
            if source_end is None:
                continue
            target_end = target_ends.get((target, p)) if p < target_partitions else None
            if tail is not None:
                replicated = 0
                connect = tail.connect.get(tp)
                if connect is not None:
                    replicated = connect + 1
                sync = tail.syncs.get(tp)
                if sync is not None and target_end is not None:
                    replicated = max(replicated, sync[0] + (target_end - sync[1]))
            else:
                replicated = mm1_committed.get(tp, 0)
            replicated = replicated_of[tp] = min(replicated, source_end)
            history = histories.get(tp)
            if history is None:
                history = histories[tp] = OffsetHistory()
            history.add(now, source_end)
            if replicated < source_end:
                rows.append((p, source_end, target_end, replicated))
                continue
            # Caught up, most partitions most of the time: no maths, and the same object while the
            # figures stay the same (thousands of partitions allocate nothing per refresh).
            same = caught_up.get(tp)
            if same is None or same.source_end != source_end or same.target_end != target_end:
                same = caught_up[tp] = PartitionLag(p, source_end, target_end, replicated, 0, 0.0)
            rows.append(same)
    return Replicated(heartbeat_age, partitions, replicated_of)


def flow_lag(
    state: FlowState,
    facts: Replicated,
    read: dict[tuple[TP, int], SourceRead],
    source_groups: dict[str, dict[TP, int]],
    failed: tuple[str, ...],
    thresholds: Thresholds,
    now: float,
) -> FlowLag:
    """The flow's fresh numbers, remembered in ``state`` as its last.

    Args:
        state: the flow; its topic memories, groups and last numbers are updated.
        facts: what MirrorMaker replicated (:func:`replicated_partitions`).
        read: the source's reads of the partitions behind, by (partition, replicated offset).
        source_groups: committed offsets of the consumer groups on the source (MM2).
        failed: one line per FAILED MirrorMaker 2 connector or task.
        thresholds: how lag and heartbeats are judged.
        now: clock time of the refresh.
    """
    flow = state.flow
    topics: list[TopicLag] = []
    for topic, rows in facts.partitions.items():
        partitions: list[PartitionLag] = []
        for row in rows:
            if isinstance(row, PartitionLag):
                partitions.append(row)
                continue
            p, source_end, target_end, replicated = row
            partitions.append(
                partition_lag(
                    p,
                    source_end=source_end,
                    target_end=target_end,
                    replicated=replicated,
                    read=read.get(((topic, p), replicated)),
                    history=state.histories[(topic, p)],
                    now=now,
                )
            )
        target = target_topic_name(flow, topic)
        memory = state.topics.get(topic)
        if memory is None:
            memory = state.topics[topic] = TopicMemory()

        def health(lag_s: float, stalled: bool, lost: bool) -> Health:
            return thresholds.classify(lag_s, facts.heartbeat_age, stalled=stalled, lost=lost)

        topics.append(topic_lag(memory, topic, target, partitions, now, health))
    topics.sort(key=lambda t: (-SEVERITY[t.health], -t.lag_seconds, -t.lag_records, t.topic))
    if state.tail is not None:
        state.groups = group_lags(
            flow,
            state.tail.checkpoints,
            source_groups,
            facts.replicated_of,
            now,
            state.tail.checkpoint_records,
            state.tail.sync_history,
        )
    liveness = thresholds.classify(0.0, facts.heartbeat_age, stalled=False)
    # A FAILED task copies nothing, whatever the lag says yet: CRIT ("task failed").
    lag = FlowLag(
        source=flow.source,
        target=flow.target,
        mirrormaker=str(flow.mirrormaker),
        heartbeat_age_s=facts.heartbeat_age,
        health=worst([t.health for t in topics] + [liveness] + ([Health.CRIT] if failed else [])),
        topics=tuple(topics),
        groups=state.groups,
        failed_tasks=failed,
    )
    state.last, state.fresh_at = lag, now
    return lag


def stale_lag(state: FlowState, now: float, since: float, error: str, thresholds: Thresholds) -> FlowLag:
    """The last numbers of a flow whose cluster did not answer (since ``since``), marked as such."""
    flow = state.flow
    stale_s = now - (state.fresh_at if state.fresh_at is not None else since)
    last = state.last
    heartbeat_age: float | None = None
    if state.tail is not None and state.tail.heartbeat_ms is not None:
        heartbeat_age = max(0.0, now - state.tail.heartbeat_ms / 1000.0)
    liveness = thresholds.classify(0.0, heartbeat_age, stalled=False)
    if last is None:
        return FlowLag(
            source=flow.source,
            target=flow.target,
            mirrormaker=str(flow.mirrormaker),
            heartbeat_age_s=heartbeat_age,
            health=Health.STOPPED if heartbeat_age is None else liveness,
            topics=(),
            stale_s=stale_s,
            error=error,
        )
    return replace(
        last,
        heartbeat_age_s=heartbeat_age,
        health=worst([last.health, liveness]),
        stale_s=stale_s,
        error=error,
    )
