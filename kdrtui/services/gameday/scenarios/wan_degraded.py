"""``wan-degraded``: the WAN gets :data:`LATENCY_MS` ms of latency (± jitter) and :data:`LOSS_PCT` % of its
connections black-holed while :data:`DURING` records cross (30 s); the mirror's lag is recorded before, during
and after, nothing acknowledged is lost, and the lag is back to normal once the link is."""

from __future__ import annotations

import time

from kdrtui.domain.gameday import Measure
from kdrtui.services.gameday.context import GamedayContext
from kdrtui.services.gameday.scenario import Scenario

LATENCY_MS = 250
JITTER_MS = 50
LOSS_PCT = 5.0

WARM_UP = 400
"""Records before the baseline."""
BASELINE = 200
"""Records while the baseline lag is sampled (5 s at 40/s)."""
DURING = 1200
"""Records while the link is degraded (30 s at 40/s): how long it stays degraded."""
AFTER = 400
"""Records once it is restored."""
TOTAL = WARM_UP + BASELINE + DURING + AFTER
"""Records in all: every run counts the same."""


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def run(ctx: GamedayContext) -> None:
    """The scenario (see the module)."""
    wan = ctx.lab.wan
    name = f"{ctx.flow.source}->{ctx.flow.target}"
    ctx.start_traffic(records=WARM_UP)
    ctx.wait_acked(WARM_UP, f"{WARM_UP} records acknowledged")
    start = ctx.now()
    ctx.wait_acked(ctx.allow(BASELINE), "the baseline's records")
    baseline = [s.flow_lag.get(name, (0, 0.0))[1] for s in ctx.observer.since(start)]
    ctx.on_restore("WAN back to what `lab up` set", wan.reset)
    before = wan.state()
    wan.set_latency(before.latency_ms + LATENCY_MS, JITTER_MS)
    wan.set_loss(LOSS_PCT)
    fault_at = ctx.fault(f"WAN degraded: +{LATENCY_MS} ms ± {JITTER_MS} ms each way, {LOSS_PCT:g} % loss")
    limit = max(baseline, default=0.0) + 1.0
    ctx.wait_acked(ctx.allow(DURING), f"{DURING} records produced over the degraded link")
    during = ctx.observer.since(fault_at)
    seen = ctx.observer.first(lambda s: s.flow_lag.get(name, (0, 0.0))[1] > limit, fault_at)
    ctx.detection_expected = f"kdrtui shows the lag above the baseline's worst + 1 s ({limit:.1f} s)"
    if seen is not None:
        ctx.set_detection(ctx.detection_expected, seen.t - fault_at)
    else:
        ctx.detection = Measure(
            None, f"the lag stayed within {limit:.1f} s while {DURING} records crossed degraded"
        )
    ctx.undo("WAN back to what `lab up` set")
    ctx.allow(AFTER)
    healed = ctx.now()
    catch_up = ctx.wait_caught_up(180, "the degraded period's records mirrored")
    ctx.set_rto(None, "nothing fails over on a degraded link: no runbook ran")
    settled = ctx.settle(total=TOTAL)
    healthy_at = ctx.shown_healthy(90)
    after = [s.flow_lag.get(name, (0, 0.0))[1] for s in ctx.observer.since(healed + catch_up)]
    ctx.measure_rpo(time.time(), "no failover: acknowledged records missing on the target once settled")
    counts = ctx.verifier.counts(ctx.traffic)
    lost = sum(c.lost for c in counts)
    ooo = sum(c.out_of_order for c in counts)
    lags = [s.flow_lag.get(name, (0, 0.0)) for s in during]
    ctx.figure("lag before (mean s)", round(_mean(baseline), 2))
    ctx.figure("lag degraded (mean s)", round(_mean([s for _, s in lags]), 2))
    ctx.figure("lag degraded (max s)", round(max((s for _, s in lags), default=0.0), 2))
    ctx.figure("lag degraded (max records)", max((r for r, _ in lags), default=0))
    ctx.figure("lag after (mean s)", round(_mean(after), 2) if after else None)
    ctx.figure("catch-up after the link was restored (s)", round(catch_up, 1))
    ctx.figure("settle (s)", None if settled is None else round(settled, 1))
    ctx.figure("duplicated", sum(c.duplicated for c in counts))
    ctx.check("no-loss", "0 acknowledged records lost", f"{lost} lost", lost == 0)
    ctx.check("in-order", "0 records out of order per key", f"{ooo} out of order", ooo == 0)
    ctx.check(
        "lag-recovered",
        "kdrtui shows the flow OK again once the link is restored",
        f"at t+{healthy_at:.1f} s" if healthy_at is not None else "not within 90 s",
        healthy_at is not None,
    )
    ctx.check(
        "lag-recorded",
        "the lag under degradation is measured (how far it rises is the finding, not a pass/fail)",
        f"max {max((s for _, s in lags), default=0.0):.1f} s over {len(lags)} samples",
        None,
    )


SCENARIO = Scenario(
    name="wan-degraded",
    summary=f"The WAN gets +{LATENCY_MS} ms (± {JITTER_MS} ms) latency and {LOSS_PCT:g} % loss for "
    f"{DURING // 40} s of traffic, then is restored.",
    proves="A slow, lossy link between the regions costs lag, not data: the report records how far the lag "
    "rises, no acknowledged record is lost, and the mirror is back to normal once the link is.",
    needs=frozenset({"wan"}),
    long=True,
    run=run,
)
