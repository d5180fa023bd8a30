"""What the console knows about each cluster, derived purely from a stream of observations.

A probe produces :class:`ClusterObservation` values; :func:`advance` folds each one into a
:class:`ClusterView`. The view never shows stale data as fresh: once a probe fails, the last good
observation is kept but labelled with its age and the time the cluster became unreachable. A cluster that
answers but misses a broker, or has partitions offline or under ``min.insync.replicas``, is DEGRADED.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kdrtui.domain.plan_sites import Cluster


class Reachability(StrEnum):
    """Whether the console can talk to a cluster."""

    CONNECTING = "connecting"
    """No observation has completed yet."""
    UP = "up"
    """The last probe succeeded."""
    DEGRADED = "degraded"
    """The last probe succeeded, but a broker is missing or partitions are offline or under min ISR."""
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
    """The controller id the metadata names: the active controller on a ZooKeeper cluster (HDInsight's),
    but any live broker on a KRaft one (see ``kraft``)."""
    kraft: bool | None = None
    """The cluster runs KRaft (its brokers' ``process.roles`` is set): the metadata cannot name the active
    controller, so none is shown. None: not known yet."""
    cluster_id: str | None = None
    """The Kafka cluster id."""
    error: str | None = None
    """Why the probe failed, in one line."""
    latency_s: float = 0.0
    """How long the probe took."""
    brokers_expected: int | None = None
    """Brokers the cluster should have: the plan's (:func:`expect_from_plan`), else the brokers its
    replicas name and those alive (a lower bound); None when not known."""
    expected_source: str = "derived"
    """Where ``brokers_expected`` comes from: ``plan`` (``brokers``), ``hdinsight`` (its worker count) or
    ``derived`` (a lower bound: the brokers the replicas name and those alive)."""
    under_replicated: int = 0
    """Partitions with fewer in-sync replicas than replicas."""
    offline: int = 0
    """Partitions without a leader."""
    under_min_isr: int | None = 0
    """Partitions with fewer in-sync replicas than ``min.insync.replicas`` (None: unknown)."""
    unwritable: tuple[str, ...] = ()
    """The first few partitions (``topic-partition``) that are offline or under ``min.insync.replicas``."""
    unwritable_count: int = 0
    """How many partitions are offline or under ``min.insync.replicas`` (refuse ``acks=all`` writes)."""

    @property
    def missing_brokers(self) -> int:
        """How many of the expected brokers are not in the metadata."""
        if not self.ok or self.brokers_expected is None:
            return 0
        return max(0, self.brokers_expected - self.brokers)

    @property
    def degraded(self) -> bool:
        """The cluster answers, but a broker is missing or partitions are offline or under min ISR."""
        return self.ok and (self.missing_brokers > 0 or self.unwritable_count > 0)

    def expected_text(self) -> str:
        """``3``, or ``≥3`` when derived from the replicas; ``?`` when unknown."""
        if self.brokers_expected is None:
            return "?"
        return f"{'≥' if self.expected_source == 'derived' else ''}{self.brokers_expected}"

    def controller_text(self) -> str:
        """The active controller's broker id; ``KRaft`` on a KRaft cluster (its metadata names a random
        broker, not the active controller, which lives in the controller quorum); ``-`` when none."""
        if self.kraft:
            return "KRaft"
        return "-" if self.controller_id is None else str(self.controller_id)

    def health_line(self) -> str:
        """``brokers 2/3 · URP 14 · offline 0 · <minISR 0 · controller 1`` (plain text)."""
        below = "?" if self.under_min_isr is None else str(self.under_min_isr)
        controller = self.controller_text()
        return (
            f"brokers {self.brokers}/{self.expected_text()} · URP {self.under_replicated} · "
            f"offline {self.offline} · <minISR {below} · controller {controller}"
        )


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


def expect_from_plan(obs: ClusterObservation, cluster: Cluster) -> ClusterObservation:
    """``obs`` with the brokers the plan expects (``brokers``, else the HDInsight worker count) instead of
    the probe's lower bound; unchanged when the plan says neither."""
    if cluster.brokers is not None:
        return replace(obs, brokers_expected=cluster.brokers, expected_source="plan")
    if cluster.hdinsight is not None:
        return replace(obs, brokers_expected=cluster.hdinsight.worker_count, expected_source="hdinsight")
    return obs


def state_of(obs: ClusterObservation) -> Reachability:
    """UP, DEGRADED or UNREACHABLE, from one observation alone."""
    if not obs.ok:
        return Reachability.UNREACHABLE
    return Reachability.DEGRADED if obs.degraded else Reachability.UP


def health_block(obs: ClusterObservation) -> dict[str, Any]:
    """One cluster's health in ``kdrtui status --json`` (``state`` is ``up``, ``degraded`` or
    ``unreachable``; the counts are null when the cluster did not answer)."""
    answered = obs.ok
    return {
        "state": str(state_of(obs)),
        "brokers_up": obs.brokers if answered else None,
        "brokers_expected": obs.brokers_expected,
        "expected_source": obs.expected_source,
        "under_replicated": obs.under_replicated if answered else None,
        "offline": obs.offline if answered else None,
        "under_min_isr": obs.under_min_isr if answered else None,
        "unwritable": list(obs.unwritable) if answered else [],
        "controller": obs.controller_id if answered and not obs.kraft else None,
        "metadata": None if obs.kraft is None else ("kraft" if obs.kraft else "zookeeper"),
        "error": obs.error,
    }


def unwritable_reason(alias: str, obs: ClusterObservation, who: str) -> str | None:
    """Why ``alias`` cannot take every write (partitions offline or under ``min.insync.replicas``, the
    first few named), e.g. ``dr: 12 partitions have fewer in-sync replicas than min.insync.replicas
    (orders-0, orders-1, …): the DR cluster cannot take acks=all writes``; ``who`` names the cluster in the
    sentence's end. None when every partition takes them."""
    if not obs.ok or not obs.unwritable_count:
        return None
    count = obs.unwritable_count
    named = ", ".join(obs.unwritable) + (", …" if count > len(obs.unwritable) else "")
    below = obs.under_min_isr or 0
    if obs.offline and below:
        what = "are offline or have fewer in-sync replicas than min.insync.replicas"
    elif obs.offline:
        what = "are offline (no leader)"
    else:
        what = "have fewer in-sync replicas than min.insync.replicas"
    plural = "partitions" if count != 1 else "partition"
    if count == 1:
        what = what.replace("are ", "is ", 1).replace("have ", "has ", 1)
    return f"{alias}: {count} {plural} {what} ({named}): {who} cannot take acks=all writes"


def advance(view: ClusterView, obs: ClusterObservation) -> ClusterView:
    """Fold one observation into a view; pure."""
    if obs.ok:
        return replace(
            view,
            state=state_of(obs),
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


FRESH_AGE_S = 5.0
"""An age under this reads as fresh (``< 5 s``). At the console's 2 s refresh a cluster's data and
MirrorMaker's heartbeat are 0-3 s old while all is well: shown to the tenth, they changed on every refresh
and repainted their card for nothing (a slow SSH link paid for it)."""


def coarse_age(seconds: float | None, fresh: float = FRESH_AGE_S) -> str:
    """An age on a live screen, at a grain that changes only when it means something: ``< 5 s`` while
    fresh (under ``fresh``), then in 5 s steps under a minute (``10 s``), whole minutes under an hour
    (``3 min``), then ``2 h 4 min``; ``-`` when unknown. A figure that stops being refreshed is shown as
    old within one step (5 s). ``fresh`` 0 shows every age (``0 s``); 60 or more reads ``< 1 min``."""
    if seconds is None:
        return "-"
    if fresh > 0 and seconds < fresh:
        return f"< {int(fresh) // 60} min" if fresh >= 60 else f"< {fresh:g} s"
    whole = max(int(seconds), 0)
    if whole < 60:
        return f"{whole - whole % 5} s"
    if whole < 3600:
        return f"{whole // 60} min"
    return f"{whole // 3600} h {(whole % 3600) // 60} min"


def coarse_compact_age(seconds: float | None, fresh: float = FRESH_AGE_S) -> str:
    """:func:`coarse_age` in six characters at most, for table cells and one-line summaries: ``<5s``,
    ``15s``, ``3m``, ``2h04m``, ``1d02h``."""
    if seconds is None:
        return "-"
    if fresh > 0 and seconds < fresh:
        return f"<{int(fresh) // 60}m" if fresh >= 60 else f"<{fresh:g}s"
    whole = max(int(seconds), 0)
    if whole < 60:
        return f"{whole - whole % 5}s"
    if whole < 3600:
        return f"{whole // 60}m"
    if whole < 86400:
        return f"{whole // 3600}h{(whole % 3600) // 60:02d}m"
    return f"{whole // 86400}d{(whole % 86400) // 3600:02d}h"
