"""``wan-partition``: the WAN between the regions drops for :data:`PARTITION_S` seconds under traffic;
nothing fails over, kdrtui shows the mirror falling behind, and once the link is back the lag drains and
nothing acknowledged is lost."""

from __future__ import annotations

import time

from kdrtui.services.gameday.context import GamedayContext
from kdrtui.services.gameday.scenario import Scenario

PARTITION_S = 30.0
"""How long the link is down."""

WARM_UP = 400
"""Records before the partition."""
DURING = 1000
"""Records produced while the link is down (25 s at 40/s)."""
AFTER = 400
"""Records once it is back."""
TOTAL = WARM_UP + DURING + AFTER
"""Records in all: every run counts the same."""


def _active(ctx: GamedayContext) -> str:
    from kdrtui.services.runbook.store import RunbookStore

    plan = ctx.plan
    return RunbookStore(plan.plan.name, ctx.plan_path).load_state(plan.primary_alias, plan.clusters).active


def run(ctx: GamedayContext) -> None:
    """The scenario (see the module)."""
    wan = ctx.lab.wan
    active = _active(ctx)
    ctx.start_traffic(records=WARM_UP)
    ctx.wait_acked(WARM_UP, f"{WARM_UP} records acknowledged")
    ctx.on_restore("WAN healed", wan.reset)
    wan.partition(PARTITION_S)
    ctx.fault(f"WAN partitioned for {PARTITION_S:g} s (both ways; heals by itself)")
    ctx.allow(DURING)
    ctx.detected(
        f"kdrtui shows {ctx.flow.source}->{ctx.flow.target} behind (not OK)",
        lambda s: ctx.flow_health(s) not in ("OK", "IDLE", None),
        PARTITION_S + 30,
    )
    ctx.wait_until(lambda: not wan.state().partitioned, PARTITION_S + 30, "the WAN healing by itself")
    assert ctx.fault_at is not None
    healed = ctx.now()
    at_risk, oldest = ctx.exposure_now()
    ctx.mark(f"WAN healed by itself after {healed - ctx.fault_at:.1f} s; {at_risk} records not yet mirrored")
    ctx.figure("records not mirrored when the link came back", at_risk)
    ctx.figure("oldest of them (s)", round(oldest, 1))
    ctx.allow(AFTER)
    catch_up = ctx.wait_caught_up(180, "the partition's records mirrored")
    ctx.figure("catch-up after the link came back (s)", round(catch_up, 1))
    ctx.set_rto(None, "nothing fails over in a partition: no runbook ran")
    settled = ctx.settle(total=TOTAL)
    healthy_at = ctx.shown_healthy(90)
    ctx.measure_rpo(time.time(), "no failover: acknowledged records missing on the target once settled")
    counts = ctx.verifier.counts(ctx.traffic)
    lost = sum(c.lost for c in counts)
    ooo = sum(c.out_of_order for c in counts)
    during_records, during_seconds = ctx.max_lag(ctx.fault_at)
    ctx.figure("max lag during the partition (records)", during_records)
    ctx.figure("max lag during the partition (s)", round(during_seconds, 1))
    ctx.figure("settle (s)", None if settled is None else round(settled, 1))
    ctx.figure("duplicated", sum(c.duplicated for c in counts))
    after = _active(ctx)
    ctx.check("no-failover", f"{active} still active", f"{after} active", after == active)
    ctx.check("no-loss", "0 acknowledged records lost", f"{lost} lost", lost == 0)
    grew = int(PARTITION_S * ctx.traffic.rate / 4)
    ctx.check(
        "lag-grew",
        f">= {grew} records behind during the partition",
        str(during_records),
        during_records >= grew,
    )
    ctx.check(
        "lag-recovered",
        "kdrtui shows the flow OK again",
        f"at t+{healthy_at:.1f} s" if healthy_at is not None else "not within 90 s",
        healthy_at is not None,
    )
    ctx.check("in-order", "0 records out of order per key", f"{ooo} out of order", ooo == 0)


SCENARIO = Scenario(
    name="wan-partition",
    summary=f"The WAN between the regions drops both ways for {PARTITION_S:g} s under traffic, then heals "
    "by itself.",
    proves="A partition is not a disaster: nothing fails over, kdrtui shows the mirror falling behind while "
    "the link is down, and once it is back MirrorMaker drains the backlog with no acknowledged record lost.",
    needs=frozenset({"wan"}),
    long=True,
    run=run,
)
