"""``zombie-primary``: a forced failover with the primary down (as ``region-loss``), then the old primary
returns and an old client — one never moved to the DR cluster — writes to it. What the scenario records:

- whether the writes were refused (fenced) or accepted: the lab's fence (``reject-writes``, like ``acl``)
  needs the primary's brokers, so the failover could not put it up, and nothing puts it up when the
  primary returns — the writes are accepted, and the ``zombie-fenced`` check fails, as it should;
- what kdrtui detects: ``kdrtui status`` shows the primary up again (and nothing about writes there); the
  failback pre-flight (``kdrtui failback --dry-run``, the console's forecast) counts the records on the
  primary the DR cluster never got — read before and after the old client's writes, its count must grow
  by exactly the writes acknowledged;
- at failback (``--divergent=deliver``) those records are delivered to the DR cluster late: counted there.
"""

from __future__ import annotations

from kdrtui.services.gameday.context import GamedayContext, bootstrap_of
from kdrtui.services.gameday.operator import failback_forecast, write_sequences
from kdrtui.services.gameday.outage import (
    detected_check,
    fail_back,
    failback_checks,
    lose_primary,
    primary_back,
    rto_checks,
)
from kdrtui.services.gameday.scenario import Scenario

ZOMBIE_RECORDS = 50
"""Records the old client writes to the returned primary."""

ZOMBIE_FIRST_SEQ = 1_000_000
"""The old client's first sequence number (far above the traffic's, so its records are told apart)."""


def run(ctx: GamedayContext) -> None:
    """The scenario (see the module)."""
    primary = ctx.plan.primary_alias
    outage = lose_primary(ctx)
    rto_checks(ctx, outage)
    detected_check(ctx)
    back = primary_back(ctx, outage)
    seen = ctx.observer.first(lambda s: s.clusters.get(primary) == "up", back.back_t)
    assert seen is not None  # primary_back waited for it
    ctx.figure(f"`kdrtui status` after {primary} returned", _status_line(seen.clusters, seen.flows))

    before = failback_forecast(ctx.plan, ctx.plan_path)
    topic = ctx.traffic.topics[0]
    seqs = range(ZOMBIE_FIRST_SEQ, ZOMBIE_FIRST_SEQ + ZOMBIE_RECORDS)
    ctx.fault(
        f"an old client (never moved to {ctx.plan.secondary_alias}) writes {ZOMBIE_RECORDS} records "
        f"to {topic} on {primary}"
    )
    written = write_sequences(
        bootstrap_of(ctx.plan, primary), topic, seqs, client_id="kdrtui-gameday-old-client"
    )
    accepted, refused = len(written.acked), len(written.refused)
    ctx.mark(f"old client: {accepted} acknowledged by {primary}, {refused} refused", "fault")
    after = failback_forecast(ctx.plan, ctx.plan_path)
    counted = _divergent(after) - _divergent(before)
    detected_t = ctx.mark(
        f"failback pre-flight: {_divergent(before)} -> {_divergent(after)} records on {primary} that "
        f"{ctx.plan.secondary_alias} never got"
    )
    assert ctx.fault_at is not None
    ctx.figure("old client: acknowledged", accepted)
    ctx.figure("old client: refused", refused)
    if written.refused:
        ctx.figure("old client: first refusal", next(iter(written.refused.values())))
    ctx.figure("failback pre-flight divergent, before the old client", _divergent(before))
    ctx.figure("failback pre-flight divergent, after the old client", _divergent(after))
    ctx.figure("old client's writes to the pre-flight's count (s)", round(detected_t - ctx.fault_at, 1))
    fence_status, fence_summary = outage.failover.step("fence")
    ctx.check(
        "zombie-fenced",
        f"every write to the returned old primary refused (the failover's fence holds on {primary})",
        f"{accepted} of {ZOMBIE_RECORDS} accepted, {refused} refused; the failover's fence: {fence_status}"
        + (f" ({fence_summary})" if fence_summary else "")
        + "; nothing fences the primary when it returns",
        accepted == 0,
    )
    ctx.check(
        "zombie-flagged",
        f"kdrtui counts every write {primary} accepted after the failover as divergent (failback pre-flight)",
        f"the count grew by {counted} for {accepted} acknowledged",
        counted == accepted,
    )
    zombie = {topic: set(written.acked)}
    failback = fail_back(ctx, outage, back, extra=zombie)
    owed = {t: back.unmirrored[t] | zombie.get(t, set()) for t in back.unmirrored}
    failback_checks(ctx, back, failback, owed)
    late = len(failback.late.get(topic, set()) & zombie[topic])
    ctx.figure(f"old client's records read on {ctx.plan.secondary_alias} after failback", late)


def _divergent(facts: dict[str, object]) -> int:
    value = facts.get("divergent_records")
    if not isinstance(value, int):
        raise RuntimeError(f"the failback pre-flight counted no divergent records: {facts.get('reasons')}")
    return value


def _status_line(clusters: dict[str, str], flows: dict[str, str]) -> str:
    parts = [f"{alias} {state}" for alias, state in sorted(clusters.items())]
    parts += [f"flow {name} {health}" for name, health in sorted(flows.items())]
    return ", ".join(parts)


SCENARIO = Scenario(
    name="zombie-primary",
    summary="A forced failover with the primary down, then the old primary returns and an old client writes "
    "to it; kdrtui fails back.",
    proves="What a failover with the primary down leaves unprotected, with evidence: whether the returned "
    "old primary refuses writes (the lab's reject-writes fence cannot go up on a dead cluster: it does not), "
    "whether kdrtui counts every write it took as divergent before failing back (it must), and that "
    "failback delivers them to the DR cluster instead of losing them.",
    needs=frozenset(),
    long=True,
    run=run,
)
