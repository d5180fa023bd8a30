"""The failover and failback runbooks: steps over the real clusters, MirrorMaker and the DR state.

Failover ``primary -> dr`` (failback is the same engine from ``dr`` back to ``primary``):

1. ``preflight``   target healthy; MirrorMaker state; what is not mirrored yet (the RPO if forced now); the
                   groups' checkpoints; whether the source is reachable. GO / NO-GO with reasons.
2. ``fence``       keep the old side from taking writes (plan ``[failover] fence``), verified by end
                   offsets that stop moving; what it replaced is kept in the DR state for undoing.
3. ``drain``       wait for the mirror lag to reach 0 (skipped with --force or when the source is down).
4. ``stop-mirrormaker``  stop the flow's MirrorMaker on every edge node; measure what was left unmirrored.
5. ``translate-offsets`` commit each group's translated offsets on the target (empty groups only).
6. ``switch-clients``    by ``[switch] method``; the DR state records the new active cluster.
7. ``replication``       failover: start mirroring back; failback: undo the fences, restore the original
                         direction.
8. ``report``      RPO (records not mirrored at cutover), RTO (confirmation -> clients switched), steps.

Blocking Kafka calls run in threads (``asyncio.to_thread``); MirrorMaker is driven over SSH by
:class:`~kdrtui.services.mirrormaker.manager.MirrorMakerManager`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kdrtui.domain.lag import LagSnapshot
from kdrtui.domain.mirrormaker import MmState
from kdrtui.domain.plan import FenceMethod, MirrorFlow, Naming, Plan, SwitchMethod
from kdrtui.domain.runbook import Outcome, Step, StepFailed
from kdrtui.services.runbook.flows import only_flow, reverse_flow, target_name, with_reverse
from kdrtui.services.runbook.runner import Facts
from kdrtui.services.runbook.store import DrState, RunbookStore

FAILOVER = "failover"
FAILBACK = "failback"


class LagReader:
    """Reads one flow's lag (a LagEngine over a one-flow plan), in a thread."""

    def __init__(self, plan: Plan, flow: MirrorFlow, factory: Callable[[Plan], Any] | None = None) -> None:
        self._plan = only_flow(plan, flow)
        self._factory = factory
        self._engine: Any = None

    async def read(self) -> LagSnapshot:
        def refresh() -> LagSnapshot:
            if self._engine is None:
                if self._factory is not None:
                    self._engine = self._factory(self._plan)
                else:
                    from kdrtui.services.kafka.lag_engine import LagEngine

                    self._engine = LagEngine(self._plan, heartbeat_timeout_s=15.0)
            snapshot: LagSnapshot = self._engine.refresh()
            return snapshot

        return await asyncio.to_thread(refresh)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None


@dataclass
class DrContext:
    """What the steps of one failover or failback work on."""

    plan: Plan
    """The plan with the reverse flow added (see :func:`~kdrtui.services.runbook.flows.with_reverse`)."""
    store: RunbookStore
    operation: str
    source: str
    """The cluster clients leave."""
    target: str
    """The cluster clients move to."""
    stop_flow: MirrorFlow
    """The flow source -> target that is drained and stopped."""
    resume_flow: MirrorFlow
    """The flow started at the end (failover: target -> source; failback: the original forward flow)."""
    force: bool = False
    timeout: float = 5.0
    manager_factory: Callable[[Plan], Any] | None = None
    lag_factory: Callable[[Plan], Any] | None = None
    facts: Facts = field(default_factory=Facts)
    say: Callable[[str], None] = lambda _text: None
    confirmed_at: float = field(default_factory=time.time)
    _manager: Any = None
    _lag: LagReader | None = None

    def bootstrap(self, alias: str) -> str:
        return self.plan.cluster(alias).bootstrap

    @property
    def manager(self) -> Any:
        if self._manager is None:
            if self.manager_factory is not None:
                self._manager = self.manager_factory(self.plan)
            else:
                from kdrtui.services.mirrormaker.manager import MirrorMakerManager

                self._manager = MirrorMakerManager(self.plan)
        return self._manager

    @property
    def lag(self) -> LagReader:
        if self._lag is None:
            self._lag = LagReader(self.plan, self.stop_flow, self.lag_factory)
        return self._lag

    def state(self) -> DrState:
        return self.store.load_state(self.plan.primary_alias)

    async def reachable(self, alias: str) -> str | None:
        """None when ``alias`` answers a metadata request, else why not."""
        from kdrtui.services.kafka.probe import KafkaClusterProbe

        def probe() -> str | None:
            client = KafkaClusterProbe(self.bootstrap(alias), timeout_s=self.timeout)
            try:
                seen = client.observe()
            finally:
                client.close()
            return None if seen.ok else (seen.error or "no answer")

        return await asyncio.to_thread(probe)

    async def covered_topics(self, alias: str, flow: MirrorFlow) -> list[str]:
        """The topics of ``alias`` that ``flow`` mirrors (when ``alias`` is its source)."""
        from confluent_kafka.admin import AdminClient

        from kdrtui.services.kafka.config import client_config
        from kdrtui.services.kafka.topics import flow_mirrors

        def topics() -> list[str]:
            found = AdminClient(client_config(self.bootstrap(alias))).list_topics(timeout=self.timeout)
            return sorted(t for t in found.topics if flow_mirrors(flow, t))

        return await asyncio.to_thread(topics)

    async def close(self) -> None:
        if self._lag is not None:
            await asyncio.to_thread(self._lag.close)
        if self._manager is not None:
            await self._manager.close()


def _lag_of(snapshot: LagSnapshot) -> tuple[dict[str, list[float]], int, float, bool]:
    """Per topic [records, seconds]; total records; worst seconds; whether the numbers are stale."""
    (flow,) = snapshot.flows
    topics = {t.topic: [t.lag_records, round(t.lag_seconds, 1)] for t in flow.topics}
    return topics, flow.lag_records, round(flow.lag_seconds, 1), flow.stale_s is not None


async def _mm_states(ctx: DrContext, flow: MirrorFlow) -> dict[str, str]:
    """``node/deployment`` -> state of the flow's MirrorMaker deployments (``unknown: why`` when unasked)."""
    try:
        deps = await ctx.manager.select(flow=flow.name)
    except Exception as exc:
        return {"?": f"unknown: {exc}"}
    states: dict[str, str] = {}
    for dep in deps:
        status = await ctx.manager.status(dep, with_drift=False)
        text = str(status.state)
        if status.state is MmState.UNKNOWN and status.error:
            text += f": {status.error}"
        states[f"{dep.node.name}/{dep.name}"] = text
    return states


# --- 1. pre-flight ----------------------------------------------------------------------------------


class Preflight(Step[DrContext]):
    key = "preflight"
    title = "Pre-flight: health, MirrorMaker, what would be lost"

    async def forecast(self, ctx: DrContext) -> dict[str, Any]:
        source_down, target_down = await asyncio.gather(ctx.reachable(ctx.source), ctx.reachable(ctx.target))
        facts: dict[str, Any] = {
            "source_reachable": source_down is None,
            "target_reachable": target_down is None,
            "source_error": source_down,
            "target_error": target_down,
        }
        facts["mirrormaker"] = await _mm_states(ctx, ctx.stop_flow)
        if source_down is None and target_down is None:
            snapshot = await ctx.lag.read()
            topics, total, seconds, stale = _lag_of(snapshot)
            (flow,) = snapshot.flows
            facts.update(
                topics=topics,
                lag_records=total,
                lag_seconds=seconds,
                stale=stale,
                heartbeat_age_s=flow.heartbeat_age_s,
                groups=[
                    {
                        "group": g.group,
                        "topic": g.topic,
                        "checkpoint_age_s": None
                        if g.checkpoint_age_s is None
                        else round(g.checkpoint_age_s, 1),
                        "redeliver": g.redeliver,
                    }
                    for g in flow.groups
                ],
            )
        reasons: list[str] = []
        state = ctx.state()
        if state.active != ctx.source:
            reasons.append(
                f"{ctx.source} is not the active cluster ({state.active} is, per {ctx.store.state_path})"
            )
        if target_down is not None:
            reasons.append(f"{ctx.target} is unreachable: {target_down}")
        running = any(s.startswith("running") for s in facts["mirrormaker"].values())
        if (
            source_down is None
            and target_down is None
            and not running
            and facts.get("lag_records", 0) > 0
            and not ctx.force
        ):
            reasons.append(
                f"MirrorMaker {ctx.stop_flow.name} is not running and {facts['lag_records']:,} records are "
                "not mirrored: the drain cannot finish. Start it (kdrtui mm start) or accept the loss with "
                "--force"
            )
        if ctx.operation == FAILBACK and source_down is not None and not ctx.force:
            reasons.append(
                f"{ctx.source} is unreachable: what was written there since the failover cannot be checked "
                "(--force to fail back anyway and lose it)"
            )
        facts["go"] = not reasons
        facts["reasons"] = reasons
        return facts

    async def describe(self, ctx: DrContext) -> list[str]:
        return forecast_lines(ctx, await self.forecast(ctx))

    async def run(self, ctx: DrContext) -> Outcome:
        facts = await self.forecast(ctx)
        for line in forecast_lines(ctx, facts):
            ctx.say(line)
        if not facts["go"]:
            raise StepFailed("NO-GO: " + "; ".join(facts["reasons"]), **facts)
        return Outcome.done("GO", **facts)

    async def verify(self, ctx: DrContext, facts: dict[str, Any]) -> str | None:
        down = await ctx.reachable(ctx.target)
        return None if down is None else f"{ctx.target} is unreachable now: {down}"


def _reach_line(alias: str, reachable: bool, error: object) -> str:
    return f"{alias}: reachable" if reachable else f"{alias}: UNREACHABLE: {error}"


def forecast_lines(ctx: DrContext, facts: dict[str, Any]) -> list[str]:
    """The pre-flight forecast as an operator reads it."""
    lines = [
        f"{ctx.operation} {ctx.source} -> {ctx.target}",
        _reach_line(ctx.target, facts["target_reachable"], facts["target_error"]),
        _reach_line(ctx.source, facts["source_reachable"], facts["source_error"]),
    ]
    for where, state in sorted(facts.get("mirrormaker", {}).items()):
        lines.append(f"MirrorMaker {ctx.stop_flow.name} on {where}: {state}")
    if "lag_records" in facts:
        stale = " (stale)" if facts.get("stale") else ""
        lines.append(
            f"not mirrored yet (RPO if forced now): {facts['lag_records']:,} records, "
            f"{facts['lag_seconds']:.1f} s{stale}"
        )
        for topic, (records, seconds) in sorted(facts.get("topics", {}).items(), key=lambda kv: -kv[1][0])[
            :10
        ]:
            if records:
                lines.append(f"  {topic}: {records:,} records, {seconds:.1f} s")
        for group in facts.get("groups", [])[:10]:
            age = group["checkpoint_age_s"]
            lines.append(
                f"  group {group['group']} on {group['topic']}: checkpoint "
                f"{'none' if age is None else f'{age:.0f} s old'}, "
                f"~{group['redeliver']:,} records re-delivered"
            )
    elif facts["source_reachable"] is False:
        lines.append(f"{ctx.source} is down: its unmirrored records cannot be counted (region-down failover)")
    verdict = "GO" if facts["go"] else "NO-GO"
    lines.append(verdict + ("" if facts["go"] else ": " + "; ".join(facts["reasons"])))
    return lines


# --- 2. fence -----------------------------------------------------------------------------------------


class Fence(Step[DrContext]):
    key = "fence"
    title = "Fence the old side against writes"

    async def describe(self, ctx: DrContext) -> list[str]:
        method = ctx.plan.failover.fence
        if method == FenceMethod.NONE:
            return [f"fence = none: nothing is fenced; applications must stop writing to {ctx.source}"]
        topics = await ctx.covered_topics(ctx.source, ctx.stop_flow)
        what = (
            "max.message.bytes = 1 (every write refused)"
            if method == FenceMethod.REJECT_WRITES
            else ("deny-write ACLs")
        )
        return [f"{what} on {len(topics)} topic(s) of {ctx.source}: {', '.join(topics[:8])}"]

    async def run(self, ctx: DrContext) -> Outcome:
        from kdrtui.services.kafka import fence

        method = ctx.plan.failover.fence
        if method == FenceMethod.NONE:
            return Outcome.skipped(f"fence = none: applications must stop writing to {ctx.source} themselves")
        if not ctx.facts["preflight"].get("source_reachable", True):
            return Outcome.skipped(f"{ctx.source} is unreachable (nothing can write to it either)")
        topics = await ctx.covered_topics(ctx.source, ctx.stop_flow)
        bootstrap = ctx.bootstrap(ctx.source)
        state = ctx.state()
        record = state.fenced.get(ctx.source, {"method": str(method), "topics": {}})
        try:
            if method == FenceMethod.REJECT_WRITES:
                current = await asyncio.to_thread(fence.read_max_bytes, bootstrap, topics)
                wanted: dict[str, int | None] = {t: fence.REJECTING for t in topics}
                for topic in wanted:
                    # Keep the value from before the FIRST fence: a resumed run must not record its own.
                    if topic not in record["topics"] and current.get(topic) != wanted[topic]:
                        record["topics"][topic] = current.get(topic)
                state.fenced[ctx.source] = record
                ctx.store.save_state(state)  # before changing anything: failback can always undo
                change = {t: v for t, v in wanted.items() if current.get(t) != v}
                await asyncio.to_thread(fence.set_max_bytes, bootstrap, change)
                ctx.say(
                    f"writes refused on {len(change)} topic(s) (max.message.bytes = 1; "
                    f"{len(wanted) - len(change)} already)"
                )
            else:
                record["topics"].update({t: None for t in topics})
                state.fenced[ctx.source] = record
                ctx.store.save_state(state)
                await asyncio.to_thread(fence.deny_writes, bootstrap, topics)
                ctx.say(f"deny-write ACLs on {len(topics)} topic(s)")
        except fence.FenceError as exc:
            raise StepFailed(str(exc)) from exc
        moved = await self._still_moving(ctx, topics)
        if moved:
            raise StepFailed(f"fence did not hold: {', '.join(moved[:5])} still take writes")
        return Outcome.done(
            f"{method} fence on {len(topics)} topic(s) of {ctx.source}; writes stopped", topics=topics
        )

    async def _still_moving(self, ctx: DrContext, topics: list[str]) -> list[str]:
        """Topics whose end offsets still move a moment after the fence (in-flight writes settle first)."""
        if not topics:
            return []
        await asyncio.sleep(0.5)  # let requests already past the check land
        first = await _end_sums(ctx, ctx.source, topics)
        await asyncio.sleep(1.5)
        second = await _end_sums(ctx, ctx.source, topics)
        return [t for t in topics if second.get(t, 0) != first.get(t, 0)]

    async def verify(self, ctx: DrContext, facts: dict[str, Any]) -> str | None:
        if not facts.get("topics"):
            return None
        if ctx.plan.failover.fence == FenceMethod.REJECT_WRITES:
            from kdrtui.services.kafka import fence

            current = await asyncio.to_thread(
                fence.read_max_bytes, ctx.bootstrap(ctx.source), facts["topics"]
            )
            lost = [t for t in facts["topics"] if current.get(t) != fence.REJECTING]
            return f"no longer fenced: {', '.join(lost[:5])}" if lost else None
        return None


async def _end_sums(ctx: DrContext, alias: str, topics: list[str]) -> dict[str, int]:
    """Sum of end offsets per topic."""
    from confluent_kafka.admin import AdminClient

    from kdrtui.services.kafka.config import client_config
    from kdrtui.services.kafka.offsets import end_offsets_request, end_offsets_result, request_end_offsets

    def read() -> dict[str, int]:
        admin = AdminClient(client_config(ctx.bootstrap(alias)))
        meta = admin.list_topics(timeout=ctx.timeout).topics
        wanted = [(t, p) for t in topics if t in meta for p in meta[t].partitions]
        ends, _error = end_offsets_result(
            request_end_offsets(admin, end_offsets_request(wanted), ctx.timeout), ctx.timeout + 5
        )
        sums: dict[str, int] = {}
        for (topic, _p), end in ends.items():
            sums[topic] = sums.get(topic, 0) + end
        return sums

    return await asyncio.to_thread(read)


# --- 3. drain -----------------------------------------------------------------------------------------


class Drain(Step[DrContext]):
    key = "drain"
    title = "Drain: wait for the mirror lag to reach 0"

    async def describe(self, ctx: DrContext) -> list[str]:
        if ctx.force:
            return ["skipped: --force"]
        return [f"wait up to {ctx.plan.failover.drain_timeout_seconds} s for {ctx.stop_flow.name} lag = 0"]

    async def run(self, ctx: DrContext) -> Outcome:
        if ctx.force:
            return Outcome.skipped("--force: not waiting for MirrorMaker to catch up")
        if not ctx.facts["preflight"].get("source_reachable", True):
            return Outcome.skipped(f"{ctx.source} is unreachable: nothing more can be mirrored")
        timeout = ctx.plan.failover.drain_timeout_seconds
        started = time.monotonic()
        first: int | None = None
        while True:
            snapshot = await ctx.lag.read()
            _topics, total, seconds, stale = _lag_of(snapshot)
            first = total if first is None else first
            if not stale and total == 0:
                took = time.monotonic() - started
                return Outcome.done(f"lag 0 after {took:.1f} s ({first:,} records drained)", drained=first)
            done = 0 if not first else max(0, first - total)
            ctx.say(
                f"lag {total:,} records ({seconds:.1f} s){' (stale)' if stale else ''}; "
                f"{done:,}/{first:,} drained"
            )
            if time.monotonic() - started > timeout:
                raise StepFailed(
                    f"lag still {total:,} records after {timeout} s: is something still writing to "
                    f"{ctx.source} "
                    "(fence it), or MirrorMaker stuck? --force fails over without waiting",
                    lag_records=total,
                )
            await asyncio.sleep(1.0)


# --- 4. stop MirrorMaker ------------------------------------------------------------------------------


class StopMirrorMaker(Step[DrContext]):
    key = "stop-mirrormaker"
    title = "Stop MirrorMaker"

    async def describe(self, ctx: DrContext) -> list[str]:
        states = await _mm_states(ctx, ctx.stop_flow)
        return [f"stop {where} ({state})" for where, state in sorted(states.items())]

    async def run(self, ctx: DrContext) -> Outcome:
        from kdrtui.services.mirrormaker.manager import MirrorMakerError

        stopped: list[str] = []
        try:
            deps = await ctx.manager.select(flow=ctx.stop_flow.name)
            for dep in deps:
                status = await ctx.manager.stop(dep, ctx.say)
                stopped.append(f"{dep.node.name}/{dep.name}: {status.state}")
        except MirrorMakerError as exc:
            if not ctx.force:
                raise StepFailed(
                    f"cannot stop MirrorMaker {ctx.stop_flow.name}: {exc} (--force to go on)"
                ) from exc
            ctx.say(f"WARNING: could not stop MirrorMaker ({exc}); going on because of --force")
            stopped.append(f"unknown: {exc}")
        # What is left unmirrored now is lost to the target: the RPO achieved.
        rpo = await self._unmirrored(ctx)
        return Outcome.done(
            f"stopped {len(stopped)} deployment(s); {rpo['rpo_records']:,} records not mirrored",
            stopped=stopped,
            **rpo,
        )

    async def _unmirrored(self, ctx: DrContext) -> dict[str, Any]:
        preflight = ctx.facts["preflight"]
        if preflight.get("source_reachable") and await ctx.reachable(ctx.source) is None:
            # MirrorMaker flushes its position on stop; read until the numbers settle (two equal readings).
            previous: int | None = None
            for _ in range(10):
                snapshot = await ctx.lag.read()
                topics, total, seconds, stale = _lag_of(snapshot)
                if not stale and total == previous:
                    break
                previous = total
                await asyncio.sleep(1.0)
            return {"rpo_records": total, "rpo_seconds": seconds, "rpo_topics": topics, "rpo_measured": True}
        return {
            "rpo_records": int(preflight.get("lag_records", 0)),
            "rpo_seconds": float(preflight.get("lag_seconds", 0.0)),
            "rpo_topics": preflight.get("topics", {}),
            "rpo_measured": False,
        }

    async def verify(self, ctx: DrContext, facts: dict[str, Any]) -> str | None:
        states = await _mm_states(ctx, ctx.stop_flow)
        running = [where for where, state in states.items() if state.startswith("running")]
        return f"MirrorMaker runs again on {', '.join(running)}" if running else None


# --- 5. translate consumer group offsets ---------------------------------------------------------------


class TranslateOffsets(Step[DrContext]):
    key = "translate-offsets"
    title = "Translate consumer group offsets"

    async def describe(self, ctx: DrContext) -> list[str]:
        plan = await asyncio.to_thread(self._plan_offsets, ctx)
        lines = []
        for group, entry in sorted(plan["groups"].items()):
            lines.append(
                f"group {group}: {len(entry['offsets'])} partition(s) from {entry['how']}, "
                f"~{entry['duplicates']} duplicates"
            )
        lines += [f"group {g}: REFUSED, active on {ctx.target}" for g in plan["refused"]]
        return lines or ["no consumer groups to move"]

    def _plan_offsets(self, ctx: DrContext) -> dict[str, Any]:
        from kdrtui.services.kafka import translate

        if ctx.operation == FAILOVER:
            return failover_offsets(ctx, translate)
        return failback_offsets(ctx, translate)

    async def run(self, ctx: DrContext) -> Outcome:
        from kdrtui.services.kafka import translate

        try:
            plan = await asyncio.to_thread(self._plan_offsets, ctx)
        except translate.TranslateError as exc:
            raise StepFailed(str(exc)) from exc
        target = ctx.bootstrap(ctx.target)
        committed: dict[str, Any] = {}
        failures: list[str] = []

        async def commit(group: str, entry: dict[str, Any]) -> None:
            offsets = {_tp(k): v for k, v in entry["offsets"].items()}
            errors = await asyncio.to_thread(translate.commit_offsets, target, group, offsets, ctx.timeout)
            if errors:
                failures.append(f"{group}: " + "; ".join(sorted(set(errors.values()))[:3]))
            else:
                committed[group] = entry
                ctx.say(
                    f"group {group}: {len(offsets)} partition(s) set from {entry['how']}, "
                    f"~{entry['duplicates']:,} records re-delivered"
                )

        await asyncio.gather(*(commit(g, e) for g, e in sorted(plan["groups"].items())))
        for group in plan["refused"]:
            ctx.say(
                f"group {group}: REFUSED: it has active members on {ctx.target}; stop them and set it by hand"
            )
        if failures:
            raise StepFailed(
                "cannot commit: " + " | ".join(failures), groups=committed, refused=plan["refused"]
            )
        summary = f"{len(committed)} group(s) moved"
        if plan["refused"]:
            summary += f"; {len(plan['refused'])} refused (active): {', '.join(plan['refused'])}"
        return Outcome.done(summary, groups=committed, refused=plan["refused"])

    async def verify(self, ctx: DrContext, facts: dict[str, Any]) -> str | None:
        from kdrtui.services.kafka import translate

        groups = facts.get("groups", {})
        if not groups:
            return None
        now = await asyncio.to_thread(
            translate.committed_offsets, ctx.bootstrap(ctx.target), list(groups), ctx.timeout
        )
        for group, entry in groups.items():
            have = now.get(group, {})
            for key, offset in entry["offsets"].items():
                if have.get(_tp(key), -1) < offset:
                    return f"group {group} is behind its translated offset on {key}"
        return None


def _tp(key: str) -> tuple[str, int]:
    topic, _, partition = key.rpartition(":")
    return topic, int(partition)


def _key(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


def _wanted_group(flow: MirrorFlow, group: str) -> bool:
    import re

    from kdrtui.services.mirrormaker.render import MM2_GROUPS_EXCLUDE_DEFAULT

    if group.startswith(("kdrtui-", "mm2-", "connect-")):
        return False
    if not any(re.fullmatch(p, group) for p in flow.groups):
        return False
    return not any(re.fullmatch(p, group) for p in (*MM2_GROUPS_EXCLUDE_DEFAULT, *flow.groups_exclude))


def failover_offsets(ctx: DrContext, translate: Any) -> dict[str, Any]:
    """Per group: the offsets to commit on the target, how they were found, the expected duplicates.

    A group's source position is its live committed offsets when the source answers, else its latest
    checkpoints. Each partition resumes at the furthest safe translation of that position (checkpoint or
    offset syncs, see :func:`~kdrtui.services.kafka.translate.best_downstream`); a partition with neither
    starts from record timestamps ``fallback_rewind_seconds`` before the failover, and says so.
    """
    from kdrtui.services.kafka.topics import flow_mirrors

    flow = ctx.stop_flow
    target = ctx.bootstrap(ctx.target)
    checkpoints = translate.read_checkpoints(target, flow.source, ctx.timeout)
    syncs = translate.read_offset_syncs(target, flow.source, ctx.timeout)
    by_checkpoint: dict[tuple[str, str, int], Any] = {}
    positions: dict[str, dict[tuple[str, int], int]] = {}
    for (group, topic, partition), cp in checkpoints.items():
        if _wanted_group(flow, group):
            source_topic = _source_name(flow, topic)
            by_checkpoint[(group, source_topic, partition)] = cp
            positions.setdefault(group, {})[(source_topic, partition)] = cp.upstream
    live = "checkpointed"
    if ctx.facts["preflight"].get("source_reachable"):
        try:
            source = ctx.bootstrap(ctx.source)
            groups = [g for g in translate.list_groups(source, ctx.timeout) if _wanted_group(flow, g)]
            for group, committed in translate.committed_offsets(source, groups, ctx.timeout).items():
                mirrored = {tp: o for tp, o in committed.items() if flow_mirrors(flow, tp[0])}
                if mirrored:
                    positions[group] = mirrored
            live = "committed"
        except translate.TranslateError as exc:
            ctx.say(f"cannot read the groups on {ctx.source} ({exc}): using their checkpoints")
    rewind = ctx.plan.failover.fallback_rewind_seconds
    rewind_ms = int((ctx.confirmed_at - rewind) * 1000)
    by_group: dict[str, dict[str, Any]] = {}
    for group, position in sorted(positions.items()):
        offsets: dict[str, int] = {}
        duplicates = 0
        missing: list[tuple[str, int]] = []
        for (source_topic, partition), upstream in sorted(position.items()):
            part_syncs = syncs.get((source_topic, partition), [])
            cp = by_checkpoint.get((group, source_topic, partition))
            downstream = translate.best_downstream(upstream, cp, part_syncs)
            name = target_name(flow, source_topic)
            if downstream is None:
                missing.append((name, partition))
                continue
            offsets[_key(name, partition)] = downstream
            base = translate.upstream_of(part_syncs, downstream)
            if base is None and cp is not None:
                base = cp.upstream
            duplicates += max(0, upstream - (base if base is not None else upstream))
        how = f"{live} offsets translated (checkpoints, offset syncs)"
        if missing:
            found = translate.offsets_for_times(target, missing, rewind_ms, ctx.timeout)
            offsets.update({_key(t, p): o for (t, p), o in found.items()})
            how += (
                f"; {len(missing)} partition(s) by timestamps {rewind} s before the failover (no translation)"
            )
        by_group[group] = {"offsets": offsets, "how": how, "duplicates": duplicates}
    return _split_active(ctx, translate, by_group)


def _source_name(flow: MirrorFlow, target_topic: str) -> str:
    prefix = f"{flow.source}."
    return target_topic.removeprefix(prefix) if flow.naming == Naming.PREFIXED else target_topic


def failback_offsets(ctx: DrContext, translate: Any) -> dict[str, Any]:
    """Failback: groups on the old target (now active) mapped back to the original source's topics.

    ``<src>.orders`` (mirrored from here before the failover) maps back through the forward flow's offset
    syncs; ``orders`` written there during the outage maps to ``<there>.orders`` here through the reverse
    flow's checkpoints.
    """
    here, there = ctx.target, ctx.source  # failback: clients go back to `here` (the original primary)
    forward = ctx.resume_flow  # here -> there
    back = ctx.stop_flow  # there -> here
    there_bootstrap, here_bootstrap = ctx.bootstrap(there), ctx.bootstrap(here)
    checkpoints = translate.read_checkpoints(here_bootstrap, there, ctx.timeout)
    syncs = translate.read_offset_syncs(there_bootstrap, here, ctx.timeout)
    back_syncs = translate.read_offset_syncs(here_bootstrap, there, ctx.timeout)
    groups = [g for g in translate.list_groups(there_bootstrap, ctx.timeout) if _wanted_group(forward, g)]
    committed = translate.committed_offsets(there_bootstrap, groups, ctx.timeout)
    by_group: dict[str, dict[str, Any]] = {}
    prefix = f"{here}."
    for group, offsets in committed.items():
        entry: dict[str, Any] = {"offsets": {}, "how": "offset syncs and checkpoints", "duplicates": 0}
        for (topic, partition), offset in offsets.items():
            if topic.startswith(prefix):  # mirrored from here before the failover
                original = topic.removeprefix(prefix)
                upstream = translate.upstream_of(syncs.get((original, partition), []), offset)
                if upstream is not None:
                    entry["offsets"][_key(original, partition)] = upstream
            else:
                cp = checkpoints.get((group, target_name(back, topic), partition))
                part_syncs = back_syncs.get((topic, partition), [])
                downstream = translate.best_downstream(offset, cp, part_syncs)
                if downstream is not None:
                    entry["offsets"][_key(target_name(back, topic), partition)] = downstream
                    base = translate.upstream_of(part_syncs, downstream)
                    if base is None and cp is not None:
                        base = cp.upstream
                    entry["duplicates"] += max(0, offset - (base if base is not None else offset))
        if entry["offsets"]:
            by_group[group] = entry
    return _split_active(ctx, translate, by_group)


def _split_active(ctx: DrContext, translate: Any, by_group: dict[str, dict[str, Any]]) -> dict[str, Any]:
    states = (
        translate.group_states(ctx.bootstrap(ctx.target), list(by_group), ctx.timeout) if by_group else {}
    )
    refused = sorted(g for g in by_group if states.get(g, "dead") not in ("empty", "dead", "unknown"))
    return {"groups": {g: e for g, e in by_group.items() if g not in refused}, "refused": refused}


# --- 6. switch clients --------------------------------------------------------------------------------


class SwitchClients(Step[DrContext]):
    key = "switch-clients"
    title = "Switch clients"

    def mapping(self, ctx: DrContext) -> list[str]:
        flow = ctx.stop_flow
        lines = [f"bootstrap servers: {ctx.bootstrap(ctx.target)}"]
        if flow.naming == Naming.PREFIXED and ctx.operation == FAILOVER:
            lines.append(
                f"consumers: topic T -> {flow.source}.T (history, offsets translated) and T (new writes on "
                f"{ctx.target}); e.g. subscribe to ^({flow.source}\\.)?T$"
            )
            lines.append(f"producers: write T on {ctx.target}")
        elif ctx.operation == FAILBACK:
            lines.append(
                f"consumers: topic T and {flow.source}.T (written on {flow.source} during the outage)"
            )
            lines.append(f"producers: write T on {ctx.target}")
        else:
            lines.append("topics keep their names")
        return lines

    async def describe(self, ctx: DrContext) -> list[str]:
        method = ctx.plan.switch.method
        head = {
            SwitchMethod.NONE: "print where clients go now (move them yourself)",
            SwitchMethod.COMMAND: f"run: {ctx.plan.switch.command}",
            SwitchMethod.DNS: "repoint the DNS record (Azure Private DNS)",
        }[method]
        return [head, *self.mapping(ctx), f"record {ctx.target} as the active cluster"]

    async def run(self, ctx: DrContext) -> Outcome:
        state = ctx.state()
        if state.active == ctx.target and state.operation == ctx.operation:
            # Switched by an earlier run that died before journaling it: never run the hook twice.
            return Outcome.done(
                f"clients already on {ctx.target} (since {state.since})", switched_at=state.since
            )
        method = ctx.plan.switch.method
        if method == SwitchMethod.DNS:
            raise StepFailed(
                "switch.method = dns is not available yet (it needs the Azure provisioning support); "
                'use "command" or "none"'
            )
        created = await self._producer_topics(ctx)
        if method == SwitchMethod.COMMAND:
            await self._hook(ctx)
        for line in self.mapping(ctx):
            ctx.say(line)
        switched_at = time.time()
        state.active, state.since, state.operation = ctx.target, switched_at, ctx.operation
        ctx.store.save_state(state)
        how = "hook ran" if method == SwitchMethod.COMMAND else "move clients as printed"
        return Outcome.done(
            f"{ctx.target} is active ({how})",
            switched_at=switched_at,
            mapping=self.mapping(ctx),
            created=created,
        )

    async def _producer_topics(self, ctx: DrContext) -> list[str]:
        """Failover with prefixed names: producers now write ``T`` on the target; create it if missing."""
        from kdrtui.services.kafka.topics import ensure_local_topics

        flow = ctx.stop_flow
        if ctx.operation != FAILOVER or flow.naming != Naming.PREFIXED:
            return []
        created = await asyncio.to_thread(
            ensure_local_topics,
            ctx.bootstrap(ctx.target),
            f"{flow.source}.",
            flow.topics,
            flow.topics_exclude,
            replication_factor=ctx.plan.cluster(ctx.target).replication_factor,
        )
        if created:
            ctx.say(
                f"created {len(created)} topic(s) on {ctx.target} for producers: {', '.join(created[:8])}"
            )
        return created

    async def _hook(self, ctx: DrContext) -> None:
        flow = ctx.stop_flow
        env = {
            **os.environ,
            "KDRTUI_OPERATION": ctx.operation,
            "KDRTUI_FROM": ctx.source,
            "KDRTUI_TO": ctx.target,
            "KDRTUI_BOOTSTRAP_SERVERS": ctx.bootstrap(ctx.target),
            "KDRTUI_TOPIC_PREFIX": f"{flow.source}." if flow.naming == Naming.PREFIXED else "",
            "KDRTUI_PLAN": ctx.plan.plan.name,
        }
        process = await asyncio.create_subprocess_shell(
            ctx.plan.switch.command,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
        except TimeoutError as exc:
            process.kill()
            raise StepFailed("the switch command did not finish within 120 s") from exc
        for line in output.decode(errors="replace").splitlines()[-10:]:
            ctx.say(f"switch: {line}")
        if process.returncode != 0:
            raise StepFailed(f"the switch command exited with code {process.returncode}")

    async def verify(self, ctx: DrContext, facts: dict[str, Any]) -> str | None:
        active = ctx.state().active
        return None if active == ctx.target else f"the DR state says {active} is active"


# --- 7. replication after the switch ------------------------------------------------------------------


class Replication(Step[DrContext]):
    key = "replication"
    title = "Replication in the new direction"

    async def describe(self, ctx: DrContext) -> list[str]:
        if ctx.operation == FAILOVER:
            if not ctx.plan.failover.reverse_replication:
                return ["reverse replication off in the plan: nothing to start"]
            return [
                f"start MirrorMaker {ctx.resume_flow.name} (prefixed names: cannot loop) "
                f"if {ctx.source} is reachable"
            ]
        return [
            f"undo the fences on {ctx.target} and {ctx.source}",
            f"start MirrorMaker {ctx.resume_flow.name} again (the original direction)",
        ]

    async def run(self, ctx: DrContext) -> Outcome:
        if ctx.operation == FAILBACK:
            undone = [await unfence(ctx, alias) for alias in (ctx.target, ctx.source)]
            started = await self._start(ctx)
            state = ctx.state()
            state.reverse_flow = None
            ctx.store.save_state(state)
            return Outcome.done(
                f"{'; '.join(u for u in undone if u)}; {started}".strip("; "), started=started
            )
        if not ctx.plan.failover.reverse_replication:
            return Outcome.skipped("reverse replication is off in the plan ([failover] reverse_replication)")
        down = await ctx.reachable(ctx.source)
        if down is not None:
            return Outcome.skipped(f"{ctx.source} is unreachable ({down}); fail back once it is back")
        started = await self._start(ctx)
        state = ctx.state()
        state.reverse_flow = ctx.resume_flow.name
        ctx.store.save_state(state)
        return Outcome.done(started, started=started)

    async def _start(self, ctx: DrContext) -> str:
        from kdrtui.services.mirrormaker.manager import MirrorMakerError

        try:
            deps = await ctx.manager.select(flow=ctx.resume_flow.name)
            for dep in deps:
                await ctx.manager.start(dep, ctx.say)
        except MirrorMakerError as exc:
            raise StepFailed(f"cannot start MirrorMaker {ctx.resume_flow.name}: {exc}") from exc
        return f"MirrorMaker {ctx.resume_flow.name} running on {len(deps)} node(s)"

    async def verify(self, ctx: DrContext, facts: dict[str, Any]) -> str | None:
        if not facts.get("started"):
            return None
        states = await _mm_states(ctx, ctx.resume_flow)
        down = [w for w, s in states.items() if not s.startswith("running")]
        return f"MirrorMaker {ctx.resume_flow.name} not running on {', '.join(down)}" if down else None


async def unfence(ctx: DrContext, alias: str) -> str:
    """Undo what fencing ``alias`` replaced (recorded in the DR state); '' when it was not fenced."""
    from kdrtui.services.kafka import fence

    state = ctx.state()
    record = state.fenced.get(alias)
    if not record:
        return ""
    topics: dict[str, int | None] = record.get("topics", {})
    try:
        if record.get("method") == str(FenceMethod.ACLS):
            await asyncio.to_thread(fence.allow_writes, ctx.bootstrap(alias), list(topics))
        else:
            await asyncio.to_thread(fence.set_max_bytes, ctx.bootstrap(alias), dict(topics))
    except fence.FenceError as exc:
        raise StepFailed(f"cannot undo the fence on {alias}: {exc}") from exc
    del state.fenced[alias]
    ctx.store.save_state(state)
    ctx.say(f"fence on {alias} undone ({len(topics)} topic(s))")
    return f"fence on {alias} undone"


# --- 8. report ----------------------------------------------------------------------------------------


class Report(Step[DrContext]):
    key = "report"
    title = "Report: RPO and RTO achieved"

    async def describe(self, ctx: DrContext) -> list[str]:
        return ["RPO (records not mirrored at cutover), RTO (confirmation -> clients switched), step times"]

    async def run(self, ctx: DrContext) -> Outcome:
        report = build_report(ctx)
        for line in report_lines(report):
            ctx.say(line)
        return Outcome.done(
            f"RPO {report['rpo_records']:,} records, RTO {report['rto_seconds']:.1f} s", **report
        )


def build_report(ctx: DrContext) -> dict[str, Any]:
    stop = ctx.facts["stop-mirrormaker"]
    switch = ctx.facts["switch-clients"]
    switched_at = switch.get("switched_at") or time.time()
    return {
        "operation": ctx.operation,
        "from": ctx.source,
        "to": ctx.target,
        "rpo_records": int(stop.get("rpo_records", 0)),
        "rpo_seconds": float(stop.get("rpo_seconds", 0.0)),
        "rpo_measured": bool(stop.get("rpo_measured", False)),
        "rpo_topics": {t: v[0] for t, v in stop.get("rpo_topics", {}).items() if v and v[0]},
        "rto_seconds": round(max(0.0, float(switched_at) - ctx.confirmed_at), 3),
        "groups": {
            g: {"partitions": len(e["offsets"]), "duplicates": e.get("duplicates", 0), "how": e["how"]}
            for g, e in ctx.facts["translate-offsets"].get("groups", {}).items()
        },
        "refused_groups": ctx.facts["translate-offsets"].get("refused", []),
    }


def report_lines(report: dict[str, Any]) -> list[str]:
    how = "measured" if report["rpo_measured"] else "estimated from the pre-flight (source unreachable)"
    lines = [
        f"{report['operation']} {report['from']} -> {report['to']} complete",
        f"RPO achieved: {report['rpo_records']:,} records not mirrored ({how})",
        f"RTO achieved: {report['rto_seconds']:.1f} s from confirmation to clients switched",
    ]
    for topic, records in sorted(report["rpo_topics"].items()):
        lines.append(f"  lost on {topic}: {records:,} records")
    for group, entry in sorted(report["groups"].items()):
        lines.append(
            f"  group {group}: {entry['partitions']} partition(s), ~{entry['duplicates']:,} duplicates"
        )
    for group in report["refused_groups"]:
        lines.append(f"  group {group}: NOT moved (active on the target)")
    return lines


# --- building a runbook -------------------------------------------------------------------------------


def steps() -> list[Step[DrContext]]:
    """The steps of a failover or failback, in order."""
    return [
        Preflight(),
        Fence(),
        Drain(),
        StopMirrorMaker(),
        TranslateOffsets(),
        SwitchClients(),
        Replication(),
        Report(),
    ]


def make_context(
    plan: Plan,
    store: RunbookStore,
    operation: str,
    *,
    force: bool = False,
    manager_factory: Callable[[Plan], Any] | None = None,
    lag_factory: Callable[[Plan], Any] | None = None,
    confirmed_at: float | None = None,
) -> DrContext:
    """The context of a failover (primary -> secondary) or failback (back to primary)."""
    primary, secondary = plan.primary_alias, plan.secondary_alias
    forward = forward_of(plan)
    full = with_reverse(plan, forward)
    back = reverse_flow(full, forward)
    if operation == FAILOVER:
        source, target, stop, resume = primary, secondary, forward, back
    else:
        source, target, stop, resume = secondary, primary, back, forward
    return DrContext(
        plan=full,
        store=store,
        operation=operation,
        source=source,
        target=target,
        stop_flow=stop,
        resume_flow=resume,
        force=force,
        manager_factory=manager_factory,
        lag_factory=lag_factory,
        confirmed_at=confirmed_at if confirmed_at is not None else time.time(),
    )


def forward_of(plan: Plan) -> MirrorFlow:
    """The plan's primary -> secondary flow."""
    from kdrtui.services.runbook.flows import forward_flow

    return forward_flow(plan, plan.primary_alias, plan.secondary_alias)
