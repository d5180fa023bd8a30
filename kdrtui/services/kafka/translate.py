"""Consumer-group offset translation, as MirrorMaker does it (REFERENCE §2), for a failover runbook and
its forecasts. The translation is pure: it reads no cluster.

A checkpoint carries a group's committed offset on the source (``upstream``) and its translation on the
target (``downstream``), conservative — consumers that resume at ``downstream`` re-read up to about
``offset.lag.max`` records, never skip one. The offset syncs map single offsets both ways.

The facts come from :mod:`~kdrtui.services.kafka.internal_reads` (checkpoints, offset syncs) and
:mod:`~kdrtui.services.kafka.group_offsets` (groups, committed offsets, commits, offsets by time), whose
blocking calls raise :class:`~kdrtui.services.kafka.admin_calls.TranslateError`; the tests still import
those from here, so this module re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Re-exported for the tests that import the reads and commits from here (see the module docstring).
from kdrtui.services.kafka.admin_calls import TranslateError
from kdrtui.services.kafka.group_offsets import (
    commit_offsets,
    committed_offsets,
    group_states,
    list_groups,
    offsets_for_times,
)
from kdrtui.services.kafka.internal_reads import read_checkpoints, read_offset_syncs
from kdrtui.services.kafka.internal_topics import Checkpoint, CheckpointKey, OffsetSync

__all__ = [
    "TP",
    "GroupTranslation",
    "TranslateError",
    "TranslatedOffset",
    "best_downstream",
    "best_upstream",
    "commit_offsets",
    "committed_offsets",
    "downstream_of",
    "group_states",
    "list_groups",
    "offsets_for_times",
    "plan_partition",
    "plan_within",
    "read_checkpoints",
    "read_offset_syncs",
    "translate_group",
    "upstream_of",
]

TP = tuple[str, int]
"""(topic, partition)."""


def upstream_of(syncs: list[OffsetSync], downstream: int) -> int | None:
    """The source offset matching ``downstream`` on the target, conservatively (the reverse of MirrorMaker's
    ``translateDownstream``).

    Args:
        syncs: the offset syncs of one partition, sorted by upstream.
        downstream: an offset on the target.

    Returns:
        ``sync.upstream`` of the latest sync with ``sync.downstream == downstream``, ``sync.upstream + 1``
        when the latest sync with ``sync.downstream <= downstream`` lies below it, None when no sync is that
        old (no translation).
    """
    for sync in reversed(syncs):
        if sync.downstream <= downstream:
            return sync.upstream + (0 if sync.downstream == downstream else 1)
    return None


def downstream_of(syncs: list[OffsetSync], upstream: int) -> int | None:
    """The target offset to resume at for a source position ``upstream``, by MirrorMaker's own rule
    (``OffsetSync::translateDownstream``) over EVERY sync of the partition rather than the sparse set a
    checkpoint task keeps: ``sync.downstream`` for an exact hit, ``sync.downstream + 1`` past the latest
    sync below it; None when no sync is that old. Re-delivers fewer than ``offset.lag.max`` records, as
    MirrorMaker emits a sync at least every ``offset.lag.max`` records.
    """
    for sync in reversed(syncs):
        if sync.upstream <= upstream:
            return sync.downstream + (0 if sync.upstream == upstream else 1)
    return None


def best_downstream(upstream: int, checkpoint: Checkpoint | None, syncs: list[OffsetSync]) -> int | None:
    """The furthest safe target offset for source position ``upstream``: the checkpoint's (when it is not
    ahead of ``upstream``) or the offset syncs' translation, whichever re-delivers less."""
    candidates = [] if checkpoint is None or checkpoint.upstream > upstream else [checkpoint.downstream]
    from_syncs = downstream_of(syncs, upstream)
    if from_syncs is not None:
        candidates.append(from_syncs)
    return max(candidates) if candidates else None


def plan_partition(
    upstream: int, checkpoint: Checkpoint | None, syncs: list[OffsetSync]
) -> tuple[int, int] | None:
    """For a group at source offset ``upstream`` on one partition: (the target offset to commit, the records
    it will read again there), or None when nothing translates it yet.

    The one computation behind both the failover's translate step and every forecast of it (pre-flight,
    ``kdrtui status`` groups, the lag pane): the resume point is :func:`best_downstream`; the records read
    again are those between the source offset that resume point stands for (:func:`upstream_of`, or the
    checkpoint's own upstream when no sync is that old) and ``upstream``.
    """
    downstream = best_downstream(upstream, checkpoint, syncs)
    if downstream is None:
        return None
    base = upstream_of(syncs, downstream)
    if base is None and checkpoint is not None:
        base = checkpoint.upstream
    return downstream, max(0, upstream - (base if base is not None else upstream))


def plan_within(
    upstream: int, checkpoint: Checkpoint | None, syncs: list[OffsetSync], end: int | None
) -> tuple[int, int] | None:
    """:func:`plan_partition`, never past the target partition's end offset ``end`` (None: unknown).

    A resume point past the end is never right: MirrorMaker before 3.5 (KAFKA-12468) projected a
    checkpoint past its last offset sync by the distance on the source, which can land beyond what was
    copied; committed there, the group would skip the records copied later. Such a checkpoint is dropped and
    the offset syncs alone translate (None when they cannot: the caller rewinds by timestamps). A 3.5+
    checkpoint never goes past the syncs, so nothing changes for it.
    """
    planned = plan_partition(upstream, checkpoint, syncs)
    if planned is None or end is None or planned[0] <= end:
        return planned
    return plan_partition(upstream, None, syncs)


def best_upstream(downstream: int, checkpoint: Checkpoint | None, syncs: list[OffsetSync]) -> int | None:
    """The furthest safe source offset for a target position ``downstream`` (failback: a group's offset on
    the mirror mapped back to the original topic).

    The offset syncs give :func:`upstream_of`. A checkpoint of the same group whose ``downstream`` the
    group has reached says more: the group had committed ``checkpoint.upstream`` on the source itself, so
    everything before it was read there — resuming at it re-reads nothing the group did not read on the
    mirror. A group that did not move on the mirror thus goes back exactly where it was.
    """
    candidates = [] if checkpoint is None or checkpoint.downstream > downstream else [checkpoint.upstream]
    from_syncs = upstream_of(syncs, downstream)
    if from_syncs is not None:
        candidates.append(from_syncs)
    return max(candidates) if candidates else None


@dataclass(frozen=True, slots=True)
class TranslatedOffset:
    """One partition of a group's failover: where to resume on the target, and where that came from."""

    source_topic: str
    """Topic name on the source."""
    target_topic: str
    """Topic name on the target."""
    partition: int
    """Partition number (the same on both sides)."""
    upstream: int
    """The group's committed offset on the source when MirrorMaker wrote the checkpoint."""
    downstream: int
    """The offset to commit on the target."""


@dataclass(frozen=True, slots=True)
class GroupTranslation:
    """A group's translated offsets, from the latest checkpoints."""

    group: str
    """Consumer group id."""
    offsets: tuple[TranslatedOffset, ...]
    """One per checkpointed partition, sorted by (target topic, partition)."""

    def to_commit(self) -> dict[TP, int]:
        """(target topic, partition) -> offset to commit on the target (for :func:`commit_offsets`)."""
        return {(o.target_topic, o.partition): o.downstream for o in self.offsets}

    def upstream(self) -> dict[TP, int]:
        """(source topic, partition) -> the source offset each checkpoint was made from."""
        return {(o.source_topic, o.partition): o.upstream for o in self.offsets}

    def expected_duplicates(self, committed_on_source: Mapping[TP, int]) -> dict[TP, int]:
        """(source topic, partition) -> records the group processed on the source after its checkpoint
        (``committed - checkpoint.upstream``, at least 0): at least this many are read again on the target.

        Partitions without a committed offset on the source are left out.
        """
        return {
            (o.source_topic, o.partition): max(
                0, committed_on_source[(o.source_topic, o.partition)] - o.upstream
            )
            for o in self.offsets
            if (o.source_topic, o.partition) in committed_on_source
        }


def translate_group(
    checkpoints: Mapping[CheckpointKey, Checkpoint],
    group: str,
    topic_map: Mapping[str, str] | None = None,
) -> GroupTranslation:
    """The offsets to commit for ``group`` on the target, from the latest checkpoints.

    Args:
        checkpoints: the latest checkpoint per (group, target topic, partition) (:func:`read_checkpoints`).
        group: the consumer group.
        topic_map: target topic -> source topic (``primary.orders`` -> ``orders`` with the default
            replication policy). Only the topics it names are translated. None: every checkpointed topic of
            the group, with the same name on both sides (identity replication policy).
    """
    offsets = [
        TranslatedOffset(
            source_topic=topic if topic_map is None else topic_map[topic],
            target_topic=topic,
            partition=partition,
            upstream=checkpoint.upstream,
            downstream=checkpoint.downstream,
        )
        for (g, topic, partition), checkpoint in sorted(checkpoints.items())
        if g == group and (topic_map is None or topic in topic_map)
    ]
    return GroupTranslation(group=group, offsets=tuple(offsets))
