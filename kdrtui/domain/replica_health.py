"""The replicas of one cluster's partitions, summed up from its metadata (pure).

A probe reads every partition's leader, replicas and in-sync replicas in one metadata request;
:func:`summarize` counts what an operator acts on: under-replicated partitions (fewer in-sync replicas
than replicas), offline ones (no leader) and those with fewer in-sync replicas than the topic's
``min.insync.replicas`` (they refuse ``acks=all`` writes), and which brokers the replicas name (a lower
bound on the brokers the cluster has when the plan does not say).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

UNWRITABLE_SAMPLE = 5
"""How many unwritable partitions a summary names (the rest are counted)."""


@dataclass(frozen=True, slots=True)
class PartitionReplicas:
    """One partition as the metadata describes it."""

    topic: str
    """The topic's name."""
    partition: int
    """The partition number."""
    leader: int
    """The leader's broker id; -1 when the partition has no leader (offline)."""
    replicas: tuple[int, ...]
    """Broker ids of its replicas."""
    isr: tuple[int, ...]
    """Broker ids of its in-sync replicas."""

    @property
    def name(self) -> str:
        """``topic-partition``, as Kafka's tools print it."""
        return f"{self.topic}-{self.partition}"

    @property
    def offline(self) -> bool:
        """No leader: the partition takes neither reads nor writes."""
        return self.leader < 0

    @property
    def under_replicated(self) -> bool:
        """Fewer in-sync replicas than replicas."""
        return len(self.isr) < len(self.replicas)


@dataclass(frozen=True, slots=True)
class ReplicaSummary:
    """What :func:`summarize` found across every partition of a cluster."""

    under_replicated: int = 0
    """Partitions with fewer in-sync replicas than replicas."""
    offline: int = 0
    """Partitions without a leader."""
    under_min_isr: int | None = 0
    """Partitions with fewer in-sync replicas than their topic's ``min.insync.replicas``; None when that
    setting could not be read for a topic that has an under-replicated partition."""
    unwritable: tuple[str, ...] = ()
    """The first :data:`UNWRITABLE_SAMPLE` partitions (``topic-partition``, sorted) that are offline or
    under ``min.insync.replicas``."""
    unwritable_count: int = 0
    """How many partitions are offline or under ``min.insync.replicas``."""
    replica_brokers: frozenset[int] = frozenset()
    """Every broker id a partition's replicas name."""


def topics_to_describe(partitions: Iterable[PartitionReplicas]) -> set[str]:
    """The topics whose ``min.insync.replicas`` matters now: those with an under-replicated partition (a
    partition with all its replicas in sync is never under it, unless the topic is misconfigured)."""
    return {p.topic for p in partitions if p.under_replicated}


def summarize(partitions: Iterable[PartitionReplicas], min_isr: Mapping[str, int] | None) -> ReplicaSummary:
    """Count the partitions' problems; ``min_isr`` is each described topic's ``min.insync.replicas`` (None:
    it could not be read, so partitions under it are not counted and ``under_min_isr`` is None)."""
    under_replicated = offline = under_min = 0
    unknown = False
    unwritable: list[tuple[str, int]] = []
    brokers: set[int] = set()
    for p in partitions:
        brokers.update(p.replicas)
        under_replicated += p.under_replicated
        offline += p.offline
        below = False
        if p.under_replicated:
            floor = None if min_isr is None else min_isr.get(p.topic)
            if floor is None:
                unknown = True
            elif len(p.isr) < floor:
                below = True
                under_min += 1
        if p.offline or below:
            unwritable.append((p.topic, p.partition))
    unwritable.sort()
    return ReplicaSummary(
        under_replicated=under_replicated,
        offline=offline,
        under_min_isr=None if unknown and not under_min else under_min,
        unwritable=tuple(f"{topic}-{partition}" for topic, partition in unwritable[:UNWRITABLE_SAMPLE]),
        unwritable_count=len(unwritable),
        replica_brokers=frozenset(brokers),
    )
