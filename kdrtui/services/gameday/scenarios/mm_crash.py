"""``mm-crash``: MirrorMaker is killed (SIGKILL) mid-batch on its edge node under traffic, kdrtui sees it
crashed, and it is restarted through kdrtui's own ``mm start`` path; nothing acknowledged is lost, and the
duplicates MirrorMaker 2's at-least-once delivery makes are counted."""

from __future__ import annotations

import time

from kdrtui.domain.mirrormaker import MmState
from kdrtui.services.gameday import mirrormaker
from kdrtui.services.gameday.context import GamedayContext
from kdrtui.services.gameday.scenario import Scenario

WARM_UP = 400
"""Records before the fault (MirrorMaker copies them, and records keep flowing while it is killed)."""
DOWN_RECORDS = 300
"""Records produced from just before the kill until the restart (7.5 s at 40/s)."""
AFTER = 300
"""Records after the restart."""
TOTAL = WARM_UP + DOWN_RECORDS + AFTER
"""Records in all: every run counts the same."""


def run(ctx: GamedayContext) -> None:
    """The scenario (see the module)."""
    ctx.start_traffic(records=WARM_UP)
    running = [s for s in mirrormaker.statuses(ctx.running) if s.state is MmState.RUNNING and s.pid]
    if not running:
        raise RuntimeError("no MirrorMaker runs (a scheduled flow between batches has nothing to kill)")
    victim = running[0]
    ctx.wait_acked(WARM_UP, f"{WARM_UP} records acknowledged")
    # Mid-batch: records are being produced and MirrorMaker is copying (the target's reads grow).
    down_until = ctx.allow(DOWN_RECORDS)
    before = sum(len(ctx.verifier.seen(t)) for t in ctx.traffic.topics)
    ctx.wait_until(
        lambda: sum(len(ctx.verifier.seen(t)) for t in ctx.traffic.topics) >= before + 20,
        60,
        "MirrorMaker copying records",
    )
    ctx.on_restore("MirrorMaker started", lambda: mirrormaker.start_all(ctx.running, lambda _m: None))
    ctx.fault(f"SIGKILL MirrorMaker {victim.deployment} (pid {victim.pid}) on {victim.node}, mid-batch")
    mirrormaker.kill(ctx.running, victim.node, victim.pid or 0)

    def crashed() -> bool:
        mine = [s for s in mirrormaker.statuses(ctx.running) if s.node == victim.node]
        return any(s.state is MmState.CRASHED for s in mine)

    ctx.wait_until(crashed, 30, "kdrtui mm status showing MirrorMaker crashed", interval=0.3)
    assert ctx.fault_at is not None
    seconds = ctx.now() - ctx.fault_at
    ctx.observer.note(
        f"mirrormaker {victim.node}",
        "running",
        "crashed",
        f"{victim.deployment} killed",
        rule="KdrtuiMirrorMakerNotRunning",
    )
    ctx.set_detection("`kdrtui mm status` shows MirrorMaker crashed", seconds)
    ctx.wait_acked(down_until, f"{down_until} records acknowledged while MirrorMaker is down")
    ctx.mark("runbook: kdrtui mm start", "runbook")
    ctx.undo("MirrorMaker started")
    restarted = ctx.now()
    ctx.figure("MirrorMaker down (s)", round(restarted - ctx.fault_at, 1))
    ctx.allow(AFTER)
    # Caught up: every record acknowledged before the restart is read on the target.
    pending = {t: set(ctx.traffic.acked(t)) for t in ctx.traffic.topics}
    ctx.wait_until(
        lambda: all(pending[t] <= ctx.verifier.seen(t) for t in ctx.traffic.topics),
        120,
        "the records of the outage mirrored after the restart",
    )
    recovered = ctx.now()
    ctx.mark(f"caught up: the outage's records read on {ctx.flow.target}")
    ctx.set_rto(recovered - ctx.fault_at, "fault to replication caught up after `kdrtui mm start`")
    settled = ctx.settle(total=TOTAL)
    healthy_at = ctx.shown_healthy()
    shown = ctx.observer.first(lambda s: ctx.flow_health(s) not in ("OK", "IDLE", None), ctx.fault_at)
    ctx.figure(
        "lag pane shows the flow not OK after (s)",
        None if shown is None else round(shown.t - ctx.fault_at, 1),
    )
    ctx.figure("flow shown healthy again at (t, s)", None if healthy_at is None else round(healthy_at, 1))
    ctx.measure_rpo(time.time(), "no failover: acknowledged records missing on the target once settled")
    counts = ctx.verifier.counts(ctx.traffic)
    lost = sum(c.lost for c in counts)
    dup = sum(c.duplicated for c in counts)
    ooo = sum(c.out_of_order for c in counts)
    records, seconds = ctx.max_lag()
    ctx.figure("max lag seen (records)", records)
    ctx.figure("max lag seen (s)", round(seconds, 1))
    ctx.figure("settle (s)", None if settled is None else round(settled, 1))
    ctx.check("no-loss", "0 acknowledged records lost", f"{lost} lost", lost == 0)
    ctx.check("duplicates", "allowed (MirrorMaker 2 is at-least-once), counted", f"{dup} duplicated", None)
    ctx.check("in-order", "0 records out of order per key", f"{ooo} out of order", ooo == 0)
    ctx.check(
        "shown-recovered",
        "kdrtui shows the flow OK again",
        "yes" if healthy_at is not None else "not within 60 s",
        healthy_at is not None,
    )
    ctx.check(
        "detected",
        "MirrorMaker shown crashed",
        f"after {ctx.detection.value:.1f} s" if ctx.detection.value is not None else "not seen",
        ctx.detection.value is not None,
    )


SCENARIO = Scenario(
    name="mm-crash",
    summary="MirrorMaker is killed with SIGKILL mid-batch on its edge node under traffic, then restarted "
    "with kdrtui's own `mm start`.",
    proves="A MirrorMaker crash loses no acknowledged record: it resumes from its committed offsets (the "
    "duplicates of its at-least-once delivery are counted), kdrtui shows the crash, and the restart runbook "
    "recovers the mirror within the plan's RTO.",
    needs=frozenset(),
    long=False,
    run=run,
)
