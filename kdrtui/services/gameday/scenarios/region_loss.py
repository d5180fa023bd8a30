"""``region-loss``: the primary region goes dark under traffic (SIGKILL of every broker); kdrtui shows it
unreachable; ``kdrtui failover`` runs with the primary down (no fence possible, no drain); the traffic moves
to the DR cluster; the RPO is counted exactly from the sequence numbers and the RTO from the fault to the
first write the DR cluster acknowledges. Then the primary comes back, what was written on the DR cluster
goes back to it, ``kdrtui failback`` runs (the records the DR cluster never got are delivered late) and
MirrorMaker runs as before. See :mod:`kdrtui.services.gameday.outage` for the steps."""

from __future__ import annotations

from kdrtui.services.gameday.context import GamedayContext
from kdrtui.services.gameday.outage import (
    detected_check,
    fail_back,
    failback_checks,
    lose_primary,
    primary_back,
    rto_checks,
)
from kdrtui.services.gameday.scenario import Scenario


def run(ctx: GamedayContext) -> None:
    """The scenario (see the module)."""
    outage = lose_primary(ctx)
    rto_checks(ctx, outage)
    lost = sum(len(v) for v in outage.lost.values())
    detected_check(ctx)
    back = primary_back(ctx, outage)
    ctx.check(
        "rpo-exact",
        "the primary's log holds every acknowledged record the DR cluster lacks (nothing acked vanished)",
        f"{lost} acknowledged records missing on the DR cluster; "
        f"{sum(len(v) for v in back.unmirrored.values())} records on the primary never mirrored",
        all(outage.lost[t] <= back.unmirrored[t] for t in outage.lost),
    )
    failback = fail_back(ctx, outage, back)
    failback_checks(ctx, back, failback, back.unmirrored)


SCENARIO = Scenario(
    name="region-loss",
    summary="The primary's brokers are killed under traffic; kdrtui fails over to the DR cluster with the "
    "primary down, the traffic moves there, then the primary returns and kdrtui fails back.",
    proves="A regional failover with the primary unreachable completes within the plan's RTO, losing "
    "exactly the records MirrorMaker had not copied (counted from sequence numbers, against the plan's RPO); "
    "the runbook never claims a smaller loss than the real one; failback returns every record written during "
    "the outage and delivers the stranded ones late.",
    needs=frozenset(),
    long=True,
    run=run,
)
