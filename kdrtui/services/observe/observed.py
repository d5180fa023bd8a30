"""What ``kdrtui exporter`` knows at a scrape (:class:`Observed`: one immutable value, replaced whole after
each refresh or MirrorMaker read), and the small helpers its collectors share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily, StateSetMetricFamily

from kdrtui.services.observe.last_failover import LastFailover
from kdrtui.services.observe.mirrormaker_read import MirrorMakerRead


@dataclass(frozen=True, slots=True)
class Observed:
    """What the exporter knows now: the latest refresh's status body, MirrorMaker read and failover."""

    interval_s: float
    """The refresh cadence (seconds)."""
    clusters: tuple[str, ...] = ()
    """Every cluster alias of the plan."""
    body: dict[str, Any] | None = None
    """The latest refresh's ``kdrtui status --json`` body; None before the first refresh."""
    refreshed_at: float | None = None
    """When the latest refresh finished (epoch s)."""
    refresh_duration_s: float | None = None
    """How long it took."""
    refreshes: int = 0
    """Refreshes done (successful or not)."""
    refresh_errors: int = 0
    """Refreshes that raised (the previous body is kept, and ages on)."""
    last_error: str | None = None
    """The newest refresh failure, cleared by a success."""
    mirrormaker: MirrorMakerRead | None = None
    """The latest MirrorMaker read over SSH; None before the first (or with no edge node)."""
    mirrormaker_reads: int = 0
    """MirrorMaker reads done."""
    mirrormaker_interval_s: float | None = None
    """The MirrorMaker read cadence; None when none is made (no edge node in the plan)."""
    failover: LastFailover | None = None
    """The newest failover or failback; None when none ran."""
    per_partition: bool = False
    """Export per-partition series too."""


def gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    """A labelled gauge family."""
    return GaugeMetricFamily(name, doc, labels=labels)


def stateset(name: str, doc: str, labels: list[str]) -> StateSetMetricFamily:
    """A labelled state set family (one 0/1 series per state; the state in a label named ``name``)."""
    return StateSetMetricFamily(name, doc, labels=labels)
