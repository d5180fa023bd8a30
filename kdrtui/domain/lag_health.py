"""Mirror lag's health: the states a topic or a flow can be in, their order, and how a topic's lag, its
flow's heartbeats and its progress classify it (pure).

Part of the lag maths of :mod:`kdrtui.domain.lag`, which re-exports these names.
"""

from __future__ import annotations

from enum import StrEnum


class Health(StrEnum):
    """How a topic or a flow is doing, worst last."""

    OK = "OK"
    """Lag under the plan's warning threshold."""
    WARN = "WARN"
    """Lag at or over ``lag_warn_seconds``."""
    CRIT = "CRIT"
    """Lag at or over ``lag_crit_seconds``."""
    STALLED = "STALLED"
    """MirrorMaker runs (heartbeats are fresh) but nothing is replicated while the source moves on."""
    STOPPED = "STOPPED"
    """No fresh heartbeats: MirrorMaker is down or cannot reach the target."""
    IDLE = "IDLE"
    """A scheduled (cold-standby) flow between its runs, lag within the schedule's thresholds: as good as
    OK (MirrorMaker is not meant to run now)."""
    LOST = "LOST"
    """Records were deleted on the source (retention, DeleteRecords) before they were mirrored: the
    log start offset passed the replicated offset. The worst health: data is gone for good, whatever
    MirrorMaker does next, so it outranks STOPPED."""


SEVERITY = {
    Health.OK: 0,
    Health.IDLE: 0,
    Health.WARN: 1,
    Health.CRIT: 2,
    Health.STALLED: 3,
    Health.STOPPED: 4,
    Health.LOST: 5,
}
"""Order for sorting worst first and for the exit code of ``kdrtui status`` (IDLE counts as OK)."""


def worst(healths: list[Health] | tuple[Health, ...]) -> Health:
    """The most severe of ``healths`` (OK when empty; IDLE over OK, as it says more)."""
    return max(healths, key=lambda h: (SEVERITY[h], h is Health.IDLE), default=Health.OK)


def classify(
    lag_s: float,
    *,
    warn_s: float,
    crit_s: float,
    heartbeat_age_s: float | None,
    heartbeat_timeout_s: float,
    stalled: bool,
    idle: bool = False,
    lost: bool = False,
) -> Health:
    """Health of a topic from its lag, the flow's heartbeats and whether replication stopped moving.

    ``idle``: a scheduled flow whose MirrorMaker is not meant to run now (between batches, or just
    starting one). Without heartbeats it is IDLE rather than STOPPED, unless its lag crossed the
    thresholds (give the schedule's, see ``Batches.lag_thresholds``). ``lost``: records were deleted
    on the source before they were mirrored: LOST, whatever else holds.
    """
    if lost:
        return Health.LOST
    beating = heartbeat_age_s is not None and heartbeat_age_s <= heartbeat_timeout_s
    if not beating and not idle:
        return Health.STOPPED
    if beating and stalled:
        return Health.STALLED
    if lag_s >= crit_s:
        return Health.CRIT
    if lag_s >= warn_s:
        return Health.WARN
    return Health.OK if beating else Health.IDLE
