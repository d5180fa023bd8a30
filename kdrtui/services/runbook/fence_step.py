"""Step 2 of a failover or failback: fence the old side against writes (``[failover] fence``), verified by
end offsets that stop moving.

- ``reject-writes`` waits for open transactions first (it would refuse their markers too);
- ``acl`` adds DENY WRITE bindings for every principal allowed to write but kdrtui's and MirrorMaker's
  (:mod:`kdrtui.domain.acl_fence`), recording exactly those in the DR state before creating them, so
  failback deletes those and nothing else;
- ``nsg`` denies the Kafka ports of the source's subnet to ``client_cidrs`` with an NSG rule, through ARM
  (:mod:`.fence_nsg_step`): the one fence that goes up when the source's brokers do not answer.

A plan may combine them (``fence = ["acl", "nsg"]``): they go up in the plan's order, each journaled on
its own (a ``step-note`` per method) and recorded in one DR-state record that failback undoes.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kdrtui.domain.plan import FenceMethod
from kdrtui.domain.runbook import Outcome, Step, StepFailed
from kdrtui.services.runbook.active_active import failback_keeps_flowing
from kdrtui.services.runbook.context import FAILBACK, DrContext
from kdrtui.services.runbook.fence_acl_step import (
    acl_fence_lines,
    acl_summary,
    fence_with_acls,
    missing_denies,
)
from kdrtui.services.runbook.fence_nsg_step import fence_with_nsg, nsg_still_holds

# --- 2. fence -----------------------------------------------------------------------------------------


class Fence(Step[DrContext]):
    key = "fence"
    title = "Fence the old side against writes"

    def undone_by(self, ctx: DrContext) -> frozenset[str]:
        # Failback fences the DR side only until its replication step takes every fence down.
        return frozenset({"replication"}) if ctx.operation == FAILBACK else frozenset()

    async def describe(self, ctx: DrContext) -> list[str]:
        fences = ctx.plan.failover.fences
        if (why := failback_keeps_flowing(ctx)) is not None:
            return [f"nothing fenced on {ctx.source}: {why}"]
        if not fences:
            return [f"fence = none: nothing is fenced; applications must stop writing to {ctx.source}"]
        lines: list[str] = []
        for method in fences:
            if method == FenceMethod.NSG:
                cidrs = ", ".join(ctx.plan.failover.client_cidrs)
                lines.append(
                    f"NSG rule on {ctx.source}'s subnet: deny the Kafka ports to {cidrs} (edge nodes and "
                    "kdrtui allowed above it), through ARM: works with the brokers down"
                )
                continue
            topics = await ctx.covered_topics(ctx.source, ctx.stop_flow)
            if method == FenceMethod.ACL:
                lines += await acl_fence_lines(ctx, topics)
            else:
                what = "max.message.bytes = 1 (every write refused)"
                lines.append(f"{what} on {len(topics)} topic(s) of {ctx.source}: {', '.join(topics[:8])}")
        return lines

    async def run(self, ctx: DrContext) -> Outcome:
        fences = ctx.plan.failover.fences
        if (why := failback_keeps_flowing(ctx)) is not None:
            return Outcome.skipped(f"nothing fenced on {ctx.source}: {why}")
        if not fences:
            return Outcome.skipped(f"fence = none: applications must stop writing to {ctx.source} themselves")
        source_up = ctx.facts["preflight"].get("source_reachable", True)
        if not source_up and FenceMethod.NSG not in fences:
            return Outcome.skipped(
                f"{ctx.source} is unreachable and fence = {ctx.plan.failover.fence_text} needs its brokers: "
                "NO FENCE is possible (fence = nsg would fence through ARM)"
            )
        facts: dict[str, Any] = {"methods": [str(m) for m in fences]}
        done: list[str] = []
        for method in fences:
            if method == FenceMethod.NSG:
                problem = ctx.facts["preflight"].get("nsg_problem")
                if problem and ctx.force:  # accepted by --force in the pre-flight
                    ctx.say(f"NO NSG FENCE on {ctx.source} (accepted with --force): {'; '.join(problem)}")
                    facts["nsg_skipped"] = problem
                    continue
                found = await fence_with_nsg(ctx, ctx.state())
                facts["nsg"] = found
                # each fence journaled on its own
                ctx.note(fence_method="nsg", cluster=ctx.source, fence=found)
                done.append(
                    f"nsg fence on {ctx.source}'s subnet (NSG {found['nsg']}"
                    f"{', created' if found['created'] else ''}; {len(found['rules'])} rule(s))"
                )
                continue
            if not source_up:
                ctx.say(f"{method}: skipped: {ctx.source}'s brokers do not answer")
                facts[str(method)] = {"skipped": "brokers unreachable"}
                continue
            summary, kafka_facts = await self._kafka_fence(ctx, method)
            facts.update(kafka_facts)
            ctx.note(fence_method=str(method), cluster=ctx.source, fence=kafka_facts)
            done.append(summary)
        if not done:
            return Outcome.skipped(f"NO FENCE went up on {ctx.source}", **facts)
        return Outcome.done("; ".join(done), **facts)

    async def _kafka_fence(self, ctx: DrContext, method: FenceMethod) -> tuple[str, dict[str, Any]]:
        """reject-writes or acl on the source's brokers, verified by end offsets that stop moving."""
        from kdrtui.services.kafka import fence

        topics = await ctx.covered_topics(ctx.source, ctx.stop_flow)
        bootstrap = ctx.bootstrap(ctx.source)
        state = ctx.state()
        record = state.fenced.get(ctx.source, {"method": str(method), "topics": {}})
        if record.get("method") == str(FenceMethod.NSG):  # the nsg fence went up first: one record holds both
            record = {**record, "method": str(method)}
        acl: dict[str, Any] = {}
        try:
            if method == FenceMethod.REJECT_WRITES:
                current = await asyncio.to_thread(fence.read_max_bytes, bootstrap, topics)
                wanted: dict[str, int | None] = {t: fence.REJECTING for t in topics}
                await self._transactions_closed(ctx, [t for t in topics if current.get(t) != fence.REJECTING])
                for topic in wanted:
                    # Keep the value from before the FIRST fence: a resumed run must not record its own.
                    if topic not in record["topics"] and current.get(topic) != wanted[topic]:
                        record["topics"][topic] = current.get(topic)
                state.fenced[ctx.source] = record
                ctx.save_state(state)  # before changing anything: failback can always undo
                change = {t: v for t, v in wanted.items() if current.get(t) != v}
                await asyncio.to_thread(fence.set_max_bytes, bootstrap, change)
                ctx.say(
                    f"writes refused on {len(change)} topic(s) (max.message.bytes = 1; "
                    f"{len(wanted) - len(change)} already)"
                )
            else:
                acl = await fence_with_acls(ctx, topics, state)
        except fence.FenceError as exc:
            raise StepFailed(str(exc)) from exc
        moved = await self._still_moving(ctx, topics)
        if moved:
            raise StepFailed(f"fence did not hold: {', '.join(moved[:5])} still take writes")
        caught: dict[str, int] = {}
        if method == FenceMethod.REJECT_WRITES:
            try:
                caught = await asyncio.to_thread(fence.open_transactions, bootstrap, topics)
            except fence.FenceError as exc:
                ctx.say(f"cannot check for transactions caught by the fence: {exc}")
            for where, records in sorted(caught.items()):
                ctx.say(
                    f"WARNING: a transaction began on {where} as the fence went up ({records} record(s)): "
                    "its commit/abort markers are refused too, so it hangs until the brokers' transaction "
                    "coordinator reloads (fence = acl does not block markers)"
                )
        if method == FenceMethod.ACL:
            return acl_summary(ctx.source, topics, acl), {"topics": topics, **acl}
        return (
            f"{method} fence on {len(topics)} topic(s) of {ctx.source}; writes stopped",
            {"topics": topics, "caught_transactions": caught},
        )

    async def _transactions_closed(self, ctx: DrContext, topics: list[str]) -> None:
        """Wait for the transactions open on ``topics`` to end before ``max.message.bytes = 1``: the brokers
        would refuse their commit/abort markers too and leave them hanging (the coordinator gives up on
        a marker the log refuses). Up to ``drain_timeout_seconds``; ``--force`` fences anyway."""
        from kdrtui.services.kafka import fence

        bootstrap = ctx.bootstrap(ctx.source)
        limit = ctx.plan.failover.drain_timeout_seconds
        deadline = time.monotonic() + limit
        while topics:
            found = await asyncio.to_thread(fence.open_transactions, bootstrap, topics)
            if not found:
                return
            if time.monotonic() > deadline:
                where = ", ".join(sorted(found)[:5])
                if ctx.force:
                    ctx.say(f"--force: fencing with transactions still open on {where}; they will hang")
                    return
                raise StepFailed(
                    f"transactions still open after {limit} s on {where}: the fence would leave them "
                    "hanging (the brokers refuse their markers too); stop the transactional producers, or "
                    "use fence = acl, or --force to fence anyway",
                    open_transactions=found,
                )
            ctx.say(
                f"waiting for {len(found)} open transaction(s) to end before refusing writes "
                f"({', '.join(sorted(found)[:3])}): the fence would refuse their markers too"
            )
            await asyncio.sleep(1.0)

    async def _still_moving(self, ctx: DrContext, topics: list[str], settle_s: float = 15.0) -> list[str]:
        """Topics whose end offsets still move ``settle_s`` after the fence, else [].

        Brokers apply a config change when its metadata reaches them, and requests already past the check
        still land: wait for one quiet 1 s window, for up to ``settle_s``.
        """
        if not topics:
            return []
        deadline = time.monotonic() + settle_s
        await asyncio.sleep(0.2)
        before = await _end_sums(ctx, ctx.source, topics)
        while True:
            await asyncio.sleep(1.0)
            now = await _end_sums(ctx, ctx.source, topics)
            moved = [t for t in topics if now.get(t, 0) != before.get(t, 0)]
            if not moved or time.monotonic() > deadline:
                return moved
            ctx.say(f"{len(moved)} topic(s) still took writes; waiting for the fence to reach every broker")
            before = now

    async def verify(self, ctx: DrContext, facts: dict[str, Any]) -> str | None:
        if facts.get("nsg"):
            lost = await nsg_still_holds(ctx, facts["nsg"])
            if lost:
                return lost
        if not facts.get("topics"):
            return None
        kafka = ctx.plan.failover.kafka_fence
        if kafka == FenceMethod.REJECT_WRITES:
            from kdrtui.services.kafka import fence

            current = await asyncio.to_thread(
                fence.read_max_bytes, ctx.bootstrap(ctx.source), facts["topics"]
            )
            lost_topics = [t for t in facts["topics"] if current.get(t) != fence.REJECTING]
            return f"no longer fenced: {', '.join(lost_topics[:5])}" if lost_topics else None
        if kafka == FenceMethod.ACL:
            return await missing_denies(ctx, facts)
        return None


async def _end_sums(ctx: DrContext, alias: str, topics: list[str]) -> dict[str, int]:
    """Sum of end offsets per topic."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    from kdrtui.services.kafka.config import client_config
    from kdrtui.services.kafka.failures import explained
    from kdrtui.services.kafka.offsets import (
        end_offsets_request,
        end_offsets_result,
        error_text,
        request_end_offsets,
    )

    def read() -> dict[str, int]:
        bootstrap = ctx.bootstrap(alias)
        admin = AdminClient(client_config(bootstrap))
        try:
            meta = admin.list_topics(timeout=ctx.timeout).topics
            wanted = [(t, p) for t in topics if t in meta for p in meta[t].partitions]
            ends, _error = end_offsets_result(
                request_end_offsets(admin, end_offsets_request(wanted), ctx.timeout), ctx.timeout + 5
            )
        except KafkaException as exc:  # one line naming the cluster and why (a secured one's reason)
            raise StepFailed(
                explained(bootstrap, f"cannot read end offsets: {error_text(exc)}", admin)
            ) from None
        sums: dict[str, int] = {}
        for (topic, _p), end in ends.items():
            sums[topic] = sums.get(topic, 0) + end
        return sums

    return await asyncio.to_thread(read)
