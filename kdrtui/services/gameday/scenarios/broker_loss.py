"""``broker-loss``: one broker of the three of the active cluster is killed (SIGKILL) under traffic; with
``acks=all`` and ``min.insync.replicas`` 2 writes go on and nothing acknowledged is lost; kdrtui shows the
cluster degraded, and up again once the broker is back."""

from __future__ import annotations

import time

from kdrtui.services.gameday.context import GamedayContext
from kdrtui.services.gameday.scenario import Scenario

WARM_UP = 400
"""Records before the fault."""
DOWN_RECORDS = 300
"""Records produced with the broker down (7.5 s at 40/s), before it is restarted."""
AFTER = 300
"""Records after the restart."""
TOTAL = WARM_UP + DOWN_RECORDS + AFTER
"""Records in all: every run counts the same."""


def run(ctx: GamedayContext) -> None:
    """The scenario (see the module)."""
    source = ctx.flow.source
    node = ctx.lab.brokers  # the last broker: 3 of 3
    ctx.start_traffic(records=WARM_UP)
    ctx.wait_acked(WARM_UP, f"{WARM_UP} records acknowledged")
    acked_at_kill = ctx.traffic.total_acked()
    killed_at = time.time()
    pid = ctx.lab.kill_broker(source, node)
    ctx.fault(f"SIGKILL broker {node} of {source} (pid {pid}) under traffic")
    ctx.on_restore(f"broker {node} of {source} restarted", ctx.lab.restore)
    down_until = ctx.allow(DOWN_RECORDS)
    ctx.detected(f"kdrtui shows {source} degraded", lambda s: s.clusters.get(source) == "degraded", 60)
    ctx.wait_acked(down_until, f"{DOWN_RECORDS} records produced with a broker down")
    written = ctx.traffic.total_acked() - acked_at_kill
    pause = ctx.traffic.longest_ack_pause(killed_at, time.time())
    ctx.figure("longest pause in acknowledgements with the broker down (s)", round(pause, 1))
    ctx.mark(f"writes go on with 2 of 3 brokers: {written} records acknowledged since the kill")
    ctx.undo(f"broker {node} of {source} restarted")
    ctx.allow(AFTER)
    assert ctx.fault_at is not None
    restarted = ctx.now()
    ctx.wait_until(
        lambda: (
            (s := ctx.observer.latest()) is not None and s.t > restarted and s.clusters.get(source) == "up"
        ),
        120,
        f"kdrtui showing {source} up again",
    )
    up_again = ctx.now()
    ctx.mark(f"kdrtui shows {source} up again")
    ctx.figure("broker restarted and up after (s, from the kill)", round(restarted - ctx.fault_at, 1))
    ctx.figure("shown degraded until (t, s)", round(up_again, 1))
    ctx.wait_caught_up(120, "every record of the outage mirrored")
    ctx.set_rto(None, "nothing to recover: the cluster served on with 2 of 3 brokers, no runbook ran")
    settled = ctx.settle(total=TOTAL)
    ctx.measure_rpo(time.time(), "no failover: acknowledged records missing on the target once settled")
    counts = ctx.verifier.counts(ctx.traffic)
    lost = sum(c.lost for c in counts)
    ooo = sum(c.out_of_order for c in counts)
    ctx.figure("records acknowledged with the broker down", written)
    ctx.figure("delivery failures", ctx.traffic.failed())
    ctx.figure("settle (s)", None if settled is None else round(settled, 1))
    records, seconds = ctx.max_lag()
    ctx.figure("max lag seen (records)", records)
    ctx.figure("max lag seen (s)", round(seconds, 1))
    ctx.check("no-loss", "0 acknowledged records lost (acks=all, min ISR 2)", f"{lost} lost", lost == 0)
    ctx.check(
        "writes-continued",
        f"{DOWN_RECORDS} records acknowledged with a broker down",
        str(written),
        written >= DOWN_RECORDS,
    )
    ctx.check("in-order", "0 records out of order per key", f"{ooo} out of order", ooo == 0)
    ctx.check(
        "detected",
        f"{source} shown degraded",
        f"after {ctx.detection.value:.1f} s" if ctx.detection.value is not None else "not seen",
        ctx.detection.value is not None,
    )
    ctx.check("shown-recovered", f"{source} shown up again", f"at t+{up_again:.1f} s", True)


SCENARIO = Scenario(
    name="broker-loss",
    summary="One broker of the active cluster's three is killed with SIGKILL under acks=all traffic, then "
    "restarted.",
    proves="An HDInsight-shaped cluster (3 brokers, replication factor 3, min.insync.replicas 2) loses no "
    "acknowledged record and keeps taking writes with a broker down; kdrtui shows the cluster degraded "
    "and then up again, and the mirror catches up.",
    needs=frozenset({"three-brokers"}),
    long=False,
    run=run,
)
