"""A region outage and its recovery, as the failover scenarios (``region-loss``, ``zombie-primary``) play it:

1. :func:`lose_primary` — under the run's traffic the primary's brokers are killed (SIGKILL); the time to
   detect is the observer's first sample showing the primary unreachable (or its flow stalled/stopped);
   ``kdrtui failover --yes --json`` runs as an operator types it; the traffic moves to the DR cluster
   (the topics of the same names there, as the runbook's switch step tells producers); the RPO is
   counted exactly from the sequence numbers: records acknowledged by the primary that the DR cluster
   never got (read to the end of the mirrored topics once MirrorMaker is stopped);
2. :func:`primary_back` — the primary's brokers are started again (its data kept) and its log is read:
   what it holds that never reached the DR cluster, and what it holds that was never acknowledged;
3. :func:`fail_back` — replication from the DR cluster back (``kdrtui mm start``: the reverse flow), the
   traffic written on the DR cluster carried back and counted, ``kdrtui failback --yes --json`` (its
   divergent records delivered late to the DR cluster, checked there), MirrorMaker as before.

:func:`failed_back` is what the run's restore does when a scenario broke half-way: the primary active
again, whatever happened.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kdrtui.domain.gameday import TopicCounts, count_topic
from kdrtui.services.gameday import mirrormaker
from kdrtui.services.gameday.context import GamedayContext, bootstrap_of, target_topic
from kdrtui.services.gameday.operator import (
    RunbookAnswer,
    read_sequences,
    read_to_end,
    run_runbook,
)
from kdrtui.services.gameday.traffic import SequencedTraffic, Verifier

if TYPE_CHECKING:
    from collections.abc import Callable

    from kdrtui.domain.plan import Plan

RESTORE = "primary active again (failback when the run left the DR cluster active)"
"""The restore step the failover scenarios register."""

PRIMARY_RECORDS = 400
"""The primary dies once its traffic has this many records acknowledged (10 s at 40/s), so every run loses
the region at the same point (give or take the records in flight)."""

DR_RECORDS = 400
"""The traffic's budget on the DR cluster during the outage (10 s at 40/s): every run counts the same."""


@dataclass
class Outage:
    """What :func:`lose_primary` saw."""

    fault_t: float
    """Run seconds of the kill."""
    fault_epoch: float
    """Epoch seconds right after the kill (the RPO's moment)."""
    failover: RunbookAnswer
    dr_traffic: SequencedTraffic
    """The traffic as it writes on the DR cluster after the switch."""
    writing_t: float | None
    """Run seconds when the first record written on the DR cluster was acknowledged."""
    seen: dict[str, set[int]]
    """Per topic, the sequence numbers read on the DR cluster once MirrorMaker was stopped."""
    lost: dict[str, set[int]]
    """Per topic, acknowledged by the primary and never on the DR cluster: the RPO, exactly."""


@dataclass
class PrimaryBack:
    """What the primary's log holds once it is back (read by :func:`primary_back`)."""

    back_t: float
    log: dict[str, set[int]]
    """Per topic, the sequence numbers on the primary."""
    unmirrored: dict[str, set[int]]
    """Per topic, on the primary and never on the DR cluster (acknowledged or not)."""
    unacked: dict[str, set[int]]
    """Per topic, on the primary though the producer never saw them acknowledged."""


@dataclass
class Failback:
    """What :func:`fail_back` saw."""

    answer: RunbookAnswer
    dr_counts: list[TopicCounts] = field(default_factory=list)
    """The records written on the DR cluster during the outage, counted on the primary after failback."""
    late: dict[str, set[int]] = field(default_factory=dict)
    """Per topic, the primary's unmirrored records read on the DR cluster after failback."""


def primary_alias(ctx: GamedayContext) -> str:
    return ctx.plan.primary_alias


def secondary_alias(ctx: GamedayContext) -> str:
    return ctx.plan.secondary_alias


def _down(ctx: GamedayContext) -> object:
    primary = primary_alias(ctx)
    forward = f"{primary}->{secondary_alias(ctx)}"
    return lambda s: (
        s.clusters.get(primary) == "unreachable" or s.flows.get(forward) in ("STALLED", "STOPPED")
    )


def lose_primary(
    ctx: GamedayContext, failover: Callable[[GamedayContext], RunbookAnswer] | None = None
) -> Outage:
    """Steps 1 (see the module): traffic, kill, detection, ``kdrtui failover``, traffic on the DR cluster,
    the RPO counted. The context's traffic and verifier end stopped (their counts are the cutover's).
    ``failover``: how the failover happens once the primary is down (default: an operator runs
    ``kdrtui failover``; the automation scenarios wait for ``kdrtui watch`` to run it)."""
    primary, secondary = primary_alias(ctx), secondary_alias(ctx)
    if ctx.flow.source != primary:
        raise RuntimeError(f"{ctx.flow.source} is active, not {primary}: fail back first (`kdrtui failback`)")
    ctx.start_traffic()
    ctx.on_restore(RESTORE, lambda: failed_back(ctx))
    # Under traffic (being mirrored since start_traffic returned), at the same point in every run.
    ctx.wait_until(
        lambda: ctx.traffic.total_acked() >= PRIMARY_RECORDS, 120, f"{PRIMARY_RECORDS} records acknowledged"
    )
    fault_t = ctx.fault(f"SIGKILL every broker of {primary} (the region goes dark), under traffic")
    ctx.lab.kill(primary)
    fault_epoch = time.time()
    ctx.detected(f"{primary} unreachable (or its flow stalled/stopped) in `kdrtui status`", _down(ctx), 60)  # type: ignore[arg-type]

    answer = run_runbook(ctx, "failover") if failover is None else failover(ctx)
    # The clients move as the switch step says: producers write the same topic names on the DR cluster.
    ctx.traffic.stop(flush_s=1.0)
    ctx.mark(
        f"traffic on {primary} stopped: {ctx.traffic.total_acked()} records acknowledged there", "traffic"
    )
    dr_traffic = SequencedTraffic(
        bootstrap_of(ctx.plan, secondary), list(ctx.traffic.topics), rate=ctx.traffic.rate
    )
    dr_traffic.create_topics()
    dr_traffic.limit = DR_RECORDS
    dr_traffic.start()
    writing_t: float | None = None
    try:
        ctx.wait_until(lambda: dr_traffic.total_acked() > 0, 60, f"a write acknowledged by {secondary}", 0.05)
        writing_t = ctx.now()
        ctx.mark(f"traffic writes on {secondary}: the first record acknowledged", "traffic")
    except Exception:
        dr_traffic.stop(flush_s=1.0)
        raise

    # Nothing more reaches the DR cluster (MirrorMaker is stopped): read its copies to their end.
    read_to_end(
        ctx,
        ctx.verifier,
        bootstrap_of(ctx.plan, secondary),
        list(ctx.traffic.topics),
        f"the mirrored topics on {secondary} read to their end",
    )
    ctx.verifier.stop()
    ctx.figure(
        "records per topic",
        f"counted at the cutover ({secondary}'s copies read to their end once MirrorMaker stopped): "
        "'lost' is the RPO; failback later delivers those records late (see divergent-delivered)",
    )
    seen = {t: ctx.verifier.seen(t) for t in ctx.traffic.topics}
    lost = {t: set(ctx.traffic.acked(t)) - seen[t] for t in ctx.traffic.topics}
    records, seconds = ctx.measure_rpo(
        fault_epoch, f"acknowledged by {primary}, never on {secondary}: counted from the sequence numbers"
    )
    ctx.mark(
        f"RPO: {records} acknowledged records never reached {secondary} "
        f"(oldest {seconds:.1f} s before the kill)"
    )
    return Outage(fault_t, fault_epoch, answer, dr_traffic, writing_t, seen, lost)


def detected_check(ctx: GamedayContext) -> None:
    """The check ``detected``: kdrtui showed the primary unreachable, and how long after the kill."""
    seen = ctx.detection.value
    ctx.check(
        "detected",
        f"{ctx.plan.primary_alias} shown unreachable",
        f"after {seen:.1f} s" if seen is not None else "not seen",
        seen is not None,
    )


def rto_checks(ctx: GamedayContext, outage: Outage) -> None:
    """The RTO as the scenario measured it (fault -> a write acknowledged by the DR cluster), the runbook's
    own, and whether the runbook's RPO claim is honest."""
    report = outage.failover.report
    secondary = secondary_alias(ctx)
    if outage.writing_t is None:
        ctx.set_rto(None, f"no write was acknowledged by {secondary}")
    else:
        ctx.set_rto(
            outage.writing_t - outage.fault_t,
            f"fault -> the first write acknowledged by {secondary} "
            "(detection, `kdrtui failover`, clients moved)",
        )
    detected = ctx.detection.value
    ctx.figure("detection (s)", None if detected is None else round(detected, 1))
    ctx.figure("failover command (s)", round(outage.failover.ended - outage.failover.started, 1))
    ctx.figure("runbook RTO: confirmation -> clients switched (s)", report.get("rto_seconds"))
    ctx.figure("scenario RTO: fault -> first write on DR (s)", ctx.rto.value and round(ctx.rto.value, 1))
    lost = sum(len(v) for v in outage.lost.values())
    measured = report.get("rpo_measured")
    claimed = report.get("rpo_records")
    bound = report.get("rpo_bound_records")
    ctx.figure("runbook RPO (records)", "not measured" if claimed is None else claimed)
    ctx.figure("runbook RPO bound (records)", bound)
    ctx.figure("runbook RPO bound age (s)", report.get("rpo_bound_age_s"))
    if measured:
        honest = claimed == lost
        said = f"measured {claimed} records"
    else:
        honest = claimed is None
        said = "not measured (source unreachable)"
    ctx.check(
        "runbook-rpo-honest",
        "the runbook's RPO is exact, or said to be unknown (never a figure it could not read)",
        f"runbook: {said}; exact: {lost} records",
        honest,
    )
    if bound is not None and not measured:
        # The bound is the flow's lag at the last read before the loss: MirrorMaker may have caught up since.
        age = report.get("rpo_bound_age_s")
        ctx.check(
            "runbook-rpo-bound",
            "informational: the runbook's estimate (the flow's lag at its last read before the loss) "
            "against the exact loss",
            f"estimated {bound} records (read {age} s before the loss); exact: {lost} records"
            + (
                ""
                if bound == lost
                else ": it overstates the loss (MirrorMaker caught up after that read)"
                if bound > lost
                else ": it understates the loss (records written after that read)"
            ),
            None,
        )
    fence = outage.failover.step("fence")
    ctx.figure("fence at failover", f"{fence[0]}: {fence[1]}")


def primary_back(ctx: GamedayContext, outage: Outage) -> PrimaryBack:
    """Step 2: the primary's brokers started again; its log read."""
    primary = primary_alias(ctx)
    started = ctx.lab.restore()
    back_t = ctx.mark(f"{primary} back: restarted {', '.join(started) or 'nothing (already up)'}", "restore")
    # Its partitions have leaders and in-sync replicas again (three brokers take a while): kdrtui shows it up.
    shown_up = lambda s: s.clusters.get(primary) == "up"  # noqa: E731
    ctx.wait_until(
        lambda: ctx.observer.first(shown_up, back_t) is not None, 180, f"`kdrtui status` showing {primary} up"
    )
    seen = ctx.observer.first(shown_up, back_t)
    assert seen is not None
    ctx.mark(f"`kdrtui status`: {primary} up again ({seen.t - back_t:.1f} s after the restart)")
    ctx.figure(f"`kdrtui status` showing {primary} up after its restart (s)", round(seen.t - back_t, 1))
    log = {t: {r.seq for r in read_sequences(bootstrap_of(ctx.plan, primary), t)} for t in ctx.traffic.topics}
    unmirrored = {t: log[t] - outage.seen[t] for t in log}
    unacked = {t: log[t] - set(ctx.traffic.acked(t)) for t in log}
    ctx.figure(f"records on {primary} never mirrored (its log)", sum(len(v) for v in unmirrored.values()))
    ctx.figure(f"records on {primary} never acknowledged (its log)", sum(len(v) for v in unacked.values()))
    return PrimaryBack(back_t, log, unmirrored, unacked)


def fail_back(
    ctx: GamedayContext, outage: Outage, back: PrimaryBack, *, extra: dict[str, set[int]] | None = None
) -> Failback:
    """Step 3: what was written on the DR cluster goes back, ``kdrtui failback``; the records the DR cluster
    never got (``back.unmirrored`` and ``extra``) delivered late there, checked."""
    from kdrtui.services.runbook.operate import current_plan

    primary, secondary = primary_alias(ctx), secondary_alias(ctx)
    running = current_plan(ctx.plan, ctx.plan_path)
    reverse = running.flows[0]
    ctx.mark(f"runbook: kdrtui mm start (the reverse flow {reverse.source}->{reverse.target})", "runbook")
    mirrormaker.start_all(running, lambda _m: None)
    verifier = Verifier(
        bootstrap_of(ctx.plan, primary), {t: target_topic(reverse, t) for t in outage.dr_traffic.topics}
    )
    verifier.start()
    try:
        dr = outage.dr_traffic
        ctx.wait_until(
            lambda: dr.total_acked() + dr.failed() >= DR_RECORDS,
            90,
            f"{DR_RECORDS} records written on {secondary}",
        )
        dr.stop()  # the clients stop writing for the failback (its fence would refuse them)
        ctx.mark(f"traffic on {secondary} stopped: {dr.total_acked()} records acknowledged there", "traffic")
        ctx.wait_until(
            lambda: verifier.missing(dr.acked) == 0,
            90,
            f"the records written on {secondary} mirrored back to {primary}",
        )
        ctx.mark(f"the outage's {dr.total_acked()} records on {secondary} read on {primary}")
        answer = run_runbook(ctx, "failback")
        read_to_end(
            ctx,
            verifier,
            bootstrap_of(ctx.plan, primary),
            dr.topics,
            f"the copies on {primary} read to their end",
        )
    finally:
        verifier.stop()
    counts = [
        count_topic(
            t,
            verifier.targets[t],
            produced=outage.dr_traffic.produced(t),
            acked=outage.dr_traffic.acked(t),
            reads=verifier.reads(t),
        )
        for t in outage.dr_traffic.topics
    ]
    # The records the DR cluster never got are delivered late by MirrorMaker (--divergent=deliver).
    owed = {t: back.unmirrored[t] | (extra or {}).get(t, set()) for t in back.unmirrored}
    forward = current_plan(ctx.plan, ctx.plan_path).flows[0]
    late: dict[str, set[int]] = {}

    def delivered() -> bool:
        for t, want in owed.items():
            got = {r.seq for r in read_sequences(bootstrap_of(ctx.plan, secondary), target_topic(forward, t))}
            late[t] = want & got
        return all(late[t] == owed[t] for t in owed)

    try:
        ctx.wait_until(delivered, 90, f"the divergent records delivered to {secondary} late", interval=2.0)
        ctx.mark(
            f"the {sum(len(v) for v in owed.values())} divergent records read on {secondary} (delivered late)"
        )
    except Exception as exc:  # the check below says it; the run goes on to its report
        ctx.mark(f"not all divergent records reached {secondary}: {exc}")
    return Failback(answer, counts, late)


def failback_checks(
    ctx: GamedayContext, back: PrimaryBack, failback: Failback, owed: dict[str, set[int]]
) -> None:
    """The counts of the way back, and the failback's divergent figure against the primary's log."""
    primary, secondary = primary_alias(ctx), secondary_alias(ctx)
    acked = sum(c.acked for c in failback.dr_counts)
    lost = sum(c.lost for c in failback.dr_counts)
    dup = sum(c.duplicated for c in failback.dr_counts)
    ooo = sum(c.out_of_order for c in failback.dr_counts)
    ctx.figure(f"written on {secondary} during the outage (acked)", acked)
    ctx.figure(f"of those, lost on the way back to {primary}", lost)
    ctx.figure(f"of those, duplicated on {primary}", dup)
    ctx.figure(f"of those, out of order on {primary}", ooo)
    ctx.check(
        "failback-no-loss",
        f"every record acknowledged by {secondary} during the outage is on {primary} after failback",
        f"{lost} of {acked} lost, {dup} duplicated, {ooo} out of order",
        lost == 0 and ooo == 0,
    )
    divergent = failback.answer.report.get("divergent") or {}
    said = divergent.get("records")
    exact = sum(len(v) for v in owed.values())
    ctx.figure("failback: divergent records (runbook)", said)
    ctx.check(
        "divergent-counted",
        f"the failback counts every record on {primary} that {secondary} never got (exact: its log)",
        f"runbook: {said}; exact: {exact}",
        said == exact,
    )
    delivered = sum(len(v) for v in failback.late.values())
    ctx.check(
        "divergent-delivered",
        f"those records reach {secondary} late (--divergent=deliver)",
        f"{delivered} of {exact} read on {secondary}",
        delivered == exact,
    )
    status, summary = failback.answer.step("replication")
    ctx.figure("failback replication step", f"{status}: {summary}")


def failed_back(ctx: GamedayContext) -> None:
    """The restore step: whatever the run left, the primary's brokers up and the primary active (a failback
    run, or resumed, when the DR state says the DR cluster is active); idempotent."""
    from kdrtui.services.runbook.operate import interrupted, next_operation

    ctx.lab.restore()
    pending = interrupted(ctx.plan, ctx.plan_path)
    if pending is not None:
        operation, _journal = pending
        run_runbook(ctx, operation, "--resume")
    if next_operation(ctx.plan, ctx.plan_path) == "failback":
        mirrormaker.start_all(_running(ctx.plan, ctx), lambda _m: None)
        run_runbook(ctx, "failback")


def _running(plan: Plan, ctx: GamedayContext) -> Plan:
    from kdrtui.services.runbook.operate import current_plan

    return current_plan(plan, ctx.plan_path)
