"""What the console knows about each cluster, derived purely from a stream of observations.

A probe produces :class:`ClusterObservation` values; :func:`advance` folds each one into a
:class:`ClusterView`. The view never shows stale data as fresh: once a probe fails, the last good
observation is kept but labelled with its age and the time the cluster became unreachable.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Reachability(StrEnum):
    """Whether the console can talk to a cluster."""

    CONNECTING = "connecting"
    """No observation has completed yet."""
    UP = "up"
    """The last probe succeeded."""
    UNREACHABLE = "unreachable"
    """The last probe failed; numbers shown are from the last success, if any."""


@dataclass(frozen=True, slots=True)
class ClusterObservation:
    """One probe of one cluster: a metadata read, or the reason it failed."""

    observed_at: float
    """Wall-clock time (seconds since the epoch) when the probe finished."""
    ok: bool
    """True when the cluster answered."""
    brokers: int = 0
    """Brokers in the cluster's metadata."""
    topics: int = 0
    """Topics, excluding Kafka's own internal ones (``__consumer_offsets`` and the like)."""
    controller_id: int | None = None
    """Broker id of the active controller, when the cluster reports one."""
    cluster_id: str | None = None
    """The Kafka cluster id."""
    error: str | None = None
    """Why the probe failed, in one line."""
    latency_s: float = 0.0
    """How long the probe took."""


@dataclass(frozen=True, slots=True)
class ClusterView:
    """The console's current belief about one cluster."""

    alias: str
    """The cluster's alias in the plan."""
    state: Reachability = Reachability.CONNECTING
    """Reachable, unreachable, or not yet known."""
    last_ok: ClusterObservation | None = None
    """The newest successful observation (its numbers are what the console shows)."""
    unreachable_since: float | None = None
    """When the first failed probe after a success (or since start) finished."""
    last_error: str | None = None
    """The newest failure's reason, cleared on success."""
    checked_at: float | None = None
    """When the newest probe, successful or not, finished."""

    def data_age(self, now: float) -> float | None:
        """Seconds since the numbers shown were read, or ``None`` if nothing was ever read."""
        if self.last_ok is None:
            return None
        return max(0.0, now - self.last_ok.observed_at)


def advance(view: ClusterView, obs: ClusterObservation) -> ClusterView:
    """Fold one observation into a view; pure."""
    if obs.ok:
        return replace(
            view,
            state=Reachability.UP,
            last_ok=obs,
            unreachable_since=None,
            last_error=None,
            checked_at=obs.observed_at,
        )
    since = view.unreachable_since if view.state is Reachability.UNREACHABLE else obs.observed_at
    return replace(
        view,
        state=Reachability.UNREACHABLE,
        unreachable_since=since,
        last_error=obs.error,
        checked_at=obs.observed_at,
    )


def format_age(seconds: float | None) -> str:
    """A short human age: ``0.4 s``, ``12 s``, ``3 min 5 s``, ``2 h 4 min``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {(whole % 3600) // 60} min"


def compact_age(seconds: float | None) -> str:
    """An age in six characters at most, for table cells: ``0.4s``, ``12s``, ``3m05s``, ``2h04m``."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{max(seconds, 0.0):.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{(whole % 3600) // 60:02d}m"
    return f"{whole // 86400}d{(whole % 86400) // 3600:02d}h"
