"""Divergence of a hot standby with dual ingest: how far apart the two clusters are, per topic (pure).

A hot-standby plan mirrors nothing: applications write every record to both clusters. There is no mirror
lag to show; what matters is whether both clusters got the same writes. Per topic and per cluster, a
divergence engine (services) reads three batched facts per partition — the earliest offset, the end
offset and the timestamp of the record with the largest timestamp (``OffsetSpec.max_timestamp()``,
KIP-734) — and the functions here compare the two sides:

- **records** on a side = sum over its partitions of ``end - earliest`` (what the cluster holds; with
  compacted topics an upper bound);
- **Δ records** = records on the primary - records on the secondary (positive: the primary has more);
- **Δ s** = newest timestamp on the primary - newest on the secondary (positive: the primary is newer);
- **gap** (what health is judged on, ≥ 0): ``|Δ s|``; when one side has records and the other none,
  ``now -`` the newest record's time (the other side has been missing data at least that long);
- **health**: ``OK`` / ``WARN`` / ``CRIT`` from the plan's ``lag_warn_seconds`` / ``lag_crit_seconds``
  applied to the gap; a topic on one cluster only is ``CRIT``.

Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kdrtui.domain.lag_health import SEVERITY, Health, worst

EMPTY = -1
"""What ListOffsets answers for the max timestamp of a partition without records."""


@dataclass(frozen=True, slots=True)
class PartitionFacts:
    """One partition on one cluster."""

    partition: int
    """Partition number."""
    start: int
    """Earliest offset (log start)."""
    end: int
    """End offset (high watermark)."""
    newest_ms: int | None
    """Timestamp (epoch ms) of the record with the largest timestamp; None when empty or unknown."""

    @property
    def records(self) -> int:
        """``end - start``, never negative."""
        return max(0, self.end - self.start)


@dataclass(frozen=True, slots=True)
class SideFacts:
    """One topic on one cluster: sums over its partitions."""

    partitions: tuple[PartitionFacts, ...]
    """Per partition, in partition order."""
    records: int
    """Sum of ``end - start``."""
    end: int
    """Sum of end offsets."""
    newest: float | None
    """Epoch seconds of the topic's newest record (by timestamp); None when it has none."""


def side_facts(partitions: Iterable[PartitionFacts]) -> SideFacts:
    """Sum one topic's partitions on one cluster."""
    parts = tuple(sorted(partitions, key=lambda p: p.partition))
    stamps = [p.newest_ms for p in parts if p.newest_ms is not None and p.newest_ms >= 0]
    return SideFacts(
        partitions=parts,
        records=sum(p.records for p in parts),
        end=sum(p.end for p in parts),
        newest=max(stamps) / 1000.0 if stamps else None,
    )


@dataclass(frozen=True, slots=True)
class TopicDivergence:
    """One topic compared across the two clusters."""

    topic: str
    """Topic name (the same on both clusters: dual ingest keeps names)."""
    primary: SideFacts | None
    """The topic on the primary; None when the primary has no such topic."""
    secondary: SideFacts | None
    """The topic on the secondary; None when the secondary has no such topic."""
    records_delta: int
    """Records on the primary - records on the secondary (a missing side counts 0)."""
    seconds_delta: float | None
    """Newest timestamp on the primary - newest on the secondary; None unless both sides have records."""
    gap_s: float
    """How far apart the sides are in time (≥ 0); what the health is judged on."""
    health: Health
    """OK / WARN / CRIT."""
    reason: str | None = None
    """Why, when it is not just the numbers (a side missing, a side empty, partition counts differ)."""


def classify_gap(gap_s: float, *, warn_s: float, crit_s: float) -> Health:
    """OK under ``warn_s``, WARN from it, CRIT from ``crit_s``."""
    if gap_s >= crit_s:
        return Health.CRIT
    if gap_s >= warn_s:
        return Health.WARN
    return Health.OK


def topic_divergence(
    topic: str,
    primary: SideFacts | None,
    secondary: SideFacts | None,
    *,
    now: float,
    warn_s: float,
    crit_s: float,
    names: tuple[str, str] = ("primary", "secondary"),
) -> TopicDivergence:
    """Compare ``topic`` on the primary and the secondary (``names``: their aliases, for the reason)."""
    records_delta = (primary.records if primary else 0) - (secondary.records if secondary else 0)
    if primary is None or secondary is None:
        present = primary if primary is not None else secondary
        here, there = names if primary is not None else names[::-1]
        return TopicDivergence(
            topic=topic,
            primary=primary,
            secondary=secondary,
            records_delta=records_delta,
            seconds_delta=None,
            gap_s=max(0.0, now - present.newest) if present and present.newest is not None else 0.0,
            health=Health.CRIT,
            reason=f"only on {here}: the topic does not exist on {there}",
        )
    reasons: list[str] = []
    seconds_delta: float | None = None
    if primary.newest is not None and secondary.newest is not None:
        seconds_delta = primary.newest - secondary.newest
        gap = abs(seconds_delta)
    elif primary.newest is not None or secondary.newest is not None:
        newest, other, other_name = (
            (primary.newest, secondary, names[1])
            if primary.newest is not None
            else (secondary.newest, primary, names[0])
        )
        assert newest is not None
        if other.records == 0:
            gap = max(0.0, now - newest)
            reasons.append(f"no records on {other_name}")
        else:  # records there, but no timestamp read yet: nothing to judge the gap by
            gap = 0.0
            reasons.append(f"newest timestamp unknown on {other_name}")
    else:
        gap = 0.0
    # Dual ingest writes both sides: one side empty while the other has records has diverged, however
    # fresh the other side's newest record is (its age says nothing about how long the gap has lasted).
    one_side_empty = (primary.records == 0) != (secondary.records == 0)
    if len(primary.partitions) != len(secondary.partitions):
        reasons.append(
            f"partitions differ: {len(primary.partitions)} on {names[0]}, "
            f"{len(secondary.partitions)} on {names[1]}"
        )
    return TopicDivergence(
        topic=topic,
        primary=primary,
        secondary=secondary,
        records_delta=records_delta,
        seconds_delta=seconds_delta,
        gap_s=gap,
        health=Health.CRIT if one_side_empty else classify_gap(gap, warn_s=warn_s, crit_s=crit_s),
        reason="; ".join(reasons) or None,
    )


def worst_first(topics: Iterable[TopicDivergence]) -> tuple[TopicDivergence, ...]:
    """Worst health first, then the largest gap, the most records apart, the name."""
    return tuple(
        sorted(topics, key=lambda t: (-SEVERITY[t.health], -t.gap_s, -abs(t.records_delta), t.topic))
    )


def compare(
    primary: Mapping[str, SideFacts],
    secondary: Mapping[str, SideFacts],
    *,
    now: float,
    warn_s: float,
    crit_s: float,
    names: tuple[str, str] = ("primary", "secondary"),
) -> tuple[TopicDivergence, ...]:
    """Every topic of either cluster compared, worst first."""
    return worst_first(
        topic_divergence(
            name, primary.get(name), secondary.get(name), now=now, warn_s=warn_s, crit_s=crit_s, names=names
        )
        for name in sorted(set(primary) | set(secondary))
    )


@dataclass(frozen=True, slots=True)
class DivergenceSnapshot:
    """Everything the lag pane and ``kdrtui status`` show for a hot-standby plan, at one instant."""

    taken_at: float
    """Wall-clock time of the refresh."""
    primary: str
    """Alias of the primary (the cluster clients use now)."""
    secondary: str
    """Alias of the secondary."""
    topics: tuple[TopicDivergence, ...]
    """Every application topic of either cluster, worst first."""
    stale_s: float | None = None
    """When a cluster is unreachable: the age of the numbers shown (the last ones read from both), else
    None (fresh)."""
    error: str | None = None
    """Why the numbers are stale or incomplete."""
    unreachable: dict[str, float] = field(default_factory=dict)
    """Alias -> since when (epoch s) for clusters that did not answer."""

    @property
    def health(self) -> Health:
        """Worst of all topics; CRIT while a cluster is unreachable (the standby cannot be judged)."""
        return worst([t.health for t in self.topics] + ([Health.CRIT] if self.unreachable else []))

    @property
    def records_delta(self) -> int:
        """Sum of the topics' Δ records."""
        return sum(t.records_delta for t in self.topics)

    @property
    def gap_s(self) -> float:
        """The largest gap of any topic."""
        return max((t.gap_s for t in self.topics), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON of ``kdrtui status --json`` for a hot-standby plan."""

        def side(facts: SideFacts | None) -> dict[str, Any] | None:
            if facts is None:
                return None
            return {
                "records": facts.records,
                "end_offsets": facts.end,
                "newest": None if facts.newest is None else round(facts.newest, 3),
                "partitions": [
                    {
                        "partition": p.partition,
                        "start": p.start,
                        "end": p.end,
                        "newest": None
                        if p.newest_ms is None or p.newest_ms < 0
                        else round(p.newest_ms / 1000.0, 3),
                    }
                    for p in facts.partitions
                ],
            }

        return {
            "taken_at": round(self.taken_at, 3),
            "topology": "hot-standby",
            "primary": self.primary,
            "secondary": self.secondary,
            "health": str(self.health),
            "records_delta": self.records_delta,
            "gap_s": round(self.gap_s, 1),
            "stale_s": None if self.stale_s is None else round(self.stale_s, 1),
            "error": self.error,
            "unreachable": {alias: round(since, 3) for alias, since in self.unreachable.items()},
            "topics": [
                {
                    "topic": t.topic,
                    "health": str(t.health),
                    "records_delta": t.records_delta,
                    "seconds_delta": None if t.seconds_delta is None else round(t.seconds_delta, 3),
                    "gap_s": round(t.gap_s, 1),
                    "reason": t.reason,
                    "primary": side(t.primary),
                    "secondary": side(t.secondary),
                }
                for t in self.topics
            ],
        }
