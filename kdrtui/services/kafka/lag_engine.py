"""The lag engine: gathers the raw facts of every flow of a plan and turns them into a LagSnapshot.

Per refresh (blocking; run it in a thread):

1. metadata of each cluster from one ``list_topics`` (cached ~30 s, refreshed sooner when something is
   missing: an internal topic, the target of a mirrored topic);
2. end offsets of every mirrored partition, and of MM2's internal topics, with ``list_offsets`` calls of
   250 partitions each (librdkafka sends each per leader broker), all in flight at once, both clusters at
   once (see :mod:`kdrtui.services.kafka.offsets` for why not one call);
3. for MM2 flows, the new records of MM2's internal topics on the target (an assigned consumer per flow,
   read from the beginning once, then incrementally up to the end offsets just read); for MM1 flows, the
   MM1 consumer group's committed offsets and members;
4. consumer groups on the source (MM2): committed offsets against the latest checkpoints;
5. for the partitions behind (replicated offset below the high watermark) only, from the source: log
   start and last stable offsets and the first committed record not mirrored
   (:mod:`kdrtui.services.kafka.source_reads`), for lost records, transactions and lag in seconds;
6. the maths of :mod:`kdrtui.domain.lag`.

A cluster that does not answer within ``request_timeout_s`` never raises: its flows keep their last
numbers, marked stale with an error (``<alias>: <why>``, on a secured cluster the reason a connection
failed: :mod:`kdrtui.services.kafka.failures`), and the alias goes into ``snapshot.unreachable``; so does
a cluster whose password (``[security]``) cannot be read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from kdrtui.domain.lag import FlowLag, LagSnapshot, PartitionLag, SourceRead
from kdrtui.domain.mirrormaker_render import mm1_group_id
from kdrtui.domain.plan import MirrorFlow, MirrorMakerKind, Plan
from kdrtui.domain.schedule import Batches, minute_seconds
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.failures import explained, serve
from kdrtui.services.kafka.flow_lag import (
    FlowState,
    Replicated,
    Thresholds,
    flow_lag,
    replicated_partitions,
    stale_lag,
)
from kdrtui.services.kafka.group_lag import committed_offsets, mm1_alive, target_topic_name
from kdrtui.services.kafka.mm2_status import Mm2StatusError, Mm2StatusReader
from kdrtui.services.kafka.mm2_tail import Mm2Tail
from kdrtui.services.kafka.offsets import error_text
from kdrtui.services.kafka.schedule_lag import on_schedule
from kdrtui.services.kafka.security import SecurityError, answered
from kdrtui.services.kafka.source_reads import SourceReads
from kdrtui.services.kafka.topics import flow_mirrors

TP = tuple[str, int]
"""(topic, partition)."""


@dataclass
class _Metadata:
    """A cluster's topics: name -> partition count."""

    topics: dict[str, int] = field(default_factory=dict)
    fetched_at: float = float("-inf")
    """time.monotonic() of the fetch."""


class LagEngine:
    """Mirror lag of every flow of a plan, refreshed on demand.

    Args:
        plan: the DR plan (clusters, flows, objectives).
        clock: wall-clock seconds (injectable for tests of the maths).
        heartbeat_timeout_s: an MM2 flow without a heartbeat newer than this is STOPPED.
        request_timeout_s: how long a cluster gets to answer before it counts as unreachable.
        metadata_max_age_s: how long topic lists are cached.
    """

    def __init__(
        self,
        plan: Plan,
        *,
        clock: Callable[[], float] = time.time,
        heartbeat_timeout_s: float = 15.0,
        request_timeout_s: float = 3.0,
        metadata_max_age_s: float = 30.0,
    ) -> None:
        self.plan = plan
        self._clock = clock
        self._heartbeat_timeout_s = heartbeat_timeout_s
        objectives = plan.objectives
        self._thresholds = Thresholds(
            objectives.lag_warn_seconds, objectives.lag_crit_seconds, heartbeat_timeout_s
        )
        self._timeout = request_timeout_s
        self._metadata_max_age = metadata_max_age_s
        aliases = sorted({a for f in plan.flows for a in (f.source, f.target)})
        self._bootstrap = {a: plan.cluster(a).bootstrap for a in aliases}
        self._admins: dict[str, AdminClient] = {}
        self._refused: dict[str, str] = {}
        """Alias -> why its client cannot be built (a password that cannot be read): unreachable."""
        for alias, bootstrap in self._bootstrap.items():
            try:
                self._admins[alias] = AdminClient(client_config(bootstrap))
            except SecurityError as exc:
                self._refused[alias] = str(exc)
        self._metadata = {a: _Metadata() for a in aliases}
        self._sources = SourceReads(self._admins, self._bootstrap, request_timeout_s)
        self._flows = [FlowState(flow) for flow in plan.flows]
        # Cold standby: flows that run in scheduled batches (KDRTUI_SCHEDULE_MINUTE_SECONDS: tests only).
        seconds = minute_seconds(os.environ)
        self._batches = {
            f.name: Batches.of(f.schedule, minute_seconds=seconds)
            for f in plan.flows
            if f.schedule is not None
        }
        self._last_run: dict[str, float] = {}
        self._unreachable: dict[str, float] = {}
        self._errors: dict[str, str] = {}
        self._ends: dict[str, dict[TP, int]] = {a: {} for a in aliases}
        # What each refresh asks for only changes with the topic lists: built once per metadata fetch.
        self._covered_cache: dict[tuple[str, float], list[str]] = {}
        self._requests_key: tuple[object, ...] | None = None
        self._requests: dict[str, list[Any]] = {}
        """Last known end offsets per cluster (kept when a partition fails to answer)."""

    # --- I/O ----------------------------------------------------------------------------------------

    def _refresh_metadata(self, alias: str, force: bool) -> None:
        meta = self._metadata[alias]
        if not force and time.monotonic() - meta.fetched_at < self._metadata_max_age:
            return
        found = self._admins[alias].list_topics(timeout=self._timeout)
        meta.topics = {name: len(t.partitions) for name, t in found.topics.items() if t.error is None}
        meta.fetched_at = time.monotonic()

    def _covered(self, flow: MirrorFlow) -> list[str]:
        """The source topics the flow mirrors (regexes run once per topic-list fetch, not per refresh)."""
        meta = self._metadata[flow.source]
        key = (flow.name, meta.fetched_at)
        if key not in self._covered_cache:
            self._covered_cache = {k: v for k, v in self._covered_cache.items() if k[0] != flow.name}
            self._covered_cache[key] = sorted(t for t in meta.topics if flow_mirrors(flow, t))
        return self._covered_cache[key]

    def _wanted(self) -> dict[str, list[TP]]:
        """Every partition whose end offset this refresh reads, per cluster."""
        wanted: dict[str, set[TP]] = {a: set() for a in self._metadata}
        for state in self._flows:
            flow = state.flow
            source_meta = self._metadata[flow.source].topics
            target_meta = self._metadata[flow.target].topics
            for topic in self._covered(flow):
                wanted[flow.source].update((topic, p) for p in range(source_meta[topic]))
                name = target_topic_name(flow, topic)
                wanted[flow.target].update((name, p) for p in range(target_meta.get(name, 0)))
            if state.tail is not None:
                wanted[flow.target].update(state.tail.partitions(target_meta))
        return {a: sorted(tps) for a, tps in wanted.items()}

    def _read_ends(self, wanted: dict[str, list[TP]]) -> dict[str, str]:
        """Batched ListOffsets calls per cluster, all at once; returns alias -> error for failed clusters."""
        from kdrtui.services.kafka.offsets import end_offsets_request, end_offsets_result, request_end_offsets

        key = tuple(
            (alias, len(tps), self._metadata[alias].fetched_at) for alias, tps in sorted(wanted.items())
        )
        if key != self._requests_key:
            self._requests = {alias: end_offsets_request(tps) for alias, tps in wanted.items()}
            self._requests_key = key
        futures = {
            alias: request_end_offsets(self._admins[alias], self._requests[alias], self._timeout)
            for alias, tps in wanted.items()
            if tps and alias not in self._errors
        }
        failed: dict[str, str] = {}
        for alias, future in futures.items():
            try:
                ends, last_error = end_offsets_result(future, self._timeout + 5)
            except Exception as exc:  # the whole request failed: the cluster is unreachable
                failed[alias] = f"cannot read end offsets: {error_text(exc)}"
                continue
            self._ends[alias].update(ends)
            if not ends and last_error:
                failed[alias] = f"cannot read end offsets: {last_error}"
        return failed

    def _mark(self, alias: str, error: str, now: float) -> None:
        """``alias`` did not answer: ``<alias>: <why>`` (see :func:`~kdrtui.services.kafka.failures.
        explained`) for its flows."""
        admin = self._admins.get(alias)
        self._errors[alias] = explained(self._bootstrap[alias], error, admin) if admin else error
        self._unreachable.setdefault(alias, now)

    # --- the refresh --------------------------------------------------------------------------------

    def refresh(self) -> LagSnapshot:
        """Read both clusters and return a new snapshot. Blocking; never raises for an unreachable
        cluster (its flows go stale)."""
        now = self._clock()
        self._errors = {}
        for state in self._flows:
            flow = state.flow
            if flow.mirrormaker == MirrorMakerKind.MM2 and state.tail is None and flow.target in self._admins:
                state.tail = Mm2Tail(flow, self._bootstrap[flow.target])
        for admin in self._admins.values():
            serve(admin)  # its queued log lines and errors: why the last connection failed, if one did
        for alias in self._refused:
            self._mark(alias, self._refused[alias], now)
        forced = {a: self._needs_metadata(a) for a in self._metadata if a not in self._refused}
        # Every cluster at once: one that does not answer costs its timeout once, not once per cluster.
        with ThreadPoolExecutor(max_workers=max(1, len(forced))) as pool:
            fetches = {a: pool.submit(self._refresh_metadata, a, force) for a, force in forced.items()}
        for alias, fetch in fetches.items():
            try:
                fetch.result()
            except KafkaException as exc:
                self._mark(alias, f"cannot list topics: {error_text(exc)}", now)
        # The partitions behind at the last refresh are likely still behind: their log start and last
        # stable offsets travel with the end offsets. The groups' offsets are independent: read at once.
        self._sources.send({alias for alias in self._metadata if alias not in self._errors})
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending_groups = pool.submit(self._source_groups, now)
            for alias, error in self._read_ends(self._wanted()).items():
                self._mark(alias, error, now)
            groups = pending_groups.result()
        for alias in self._metadata:
            if alias not in self._errors:
                answered(self._bootstrap[alias])
        for alias in list(self._unreachable):
            if alias not in self._errors:
                del self._unreachable[alias]
        facts = [self._replicated(state, now, groups) for state in self._flows]
        reads = self._read_sources(facts)
        flows = tuple(
            self._on_schedule(
                fact if isinstance(fact, FlowLag) else self._flow_lag(state, fact, reads, now, groups), now
            )
            for state, fact in zip(self._flows, facts, strict=True)
        )
        return LagSnapshot(
            taken_at=now,
            flows=flows,
            active=self.plan.primary_alias,
            unreachable=dict(self._unreachable),
            errors={alias: self._errors[alias] for alias in self._unreachable if alias in self._errors},
        )

    def _read_sources(self, facts: list[Replicated | FlowLag]) -> dict[str, dict[tuple[TP, int], SourceRead]]:
        """Log start, last stable offset and first unmirrored record of every partition behind, from each
        source cluster at once."""
        behind: dict[str, dict[TP, set[int]]] = {}
        for state, fact in zip(self._flows, facts, strict=True):
            if isinstance(fact, FlowLag):
                continue
            mine = behind.setdefault(state.flow.source, {})
            for topic, rows in fact.partitions.items():
                for row in rows:
                    if not isinstance(row, PartitionLag):
                        mine.setdefault((topic, row[0]), set()).add(row[3])
        return self._sources.read(behind, self._ends, budget_s=min(2.0, self._timeout))

    def _needs_metadata(self, alias: str) -> bool:
        """Refresh a cluster's topic list now, not in 30 s: something we expect is missing from it."""
        meta = self._metadata[alias]
        if not meta.topics:
            return True
        stale = time.monotonic() - meta.fetched_at > 5.0
        for state in self._flows:
            if state.flow.target != alias or not stale:
                continue
            if state.tail is not None and state.tail.missing_topics(meta.topics):
                return True
            source_topics = self._metadata[state.flow.source].topics
            for topic in source_topics:
                if (
                    flow_mirrors(state.flow, topic)
                    and target_topic_name(state.flow, topic) not in meta.topics
                ):
                    return True
        return False

    def _source_groups(self, now: float) -> dict[str, dict[str, dict[TP, int]]]:
        """Committed offsets of the consumer groups on each reachable source of an MM2 flow (and of
        the MM1 groups): alias -> group -> (topic, partition) -> offset."""
        result: dict[str, dict[str, dict[TP, int]]] = {}
        for alias in sorted({s.flow.source for s in self._flows}):
            if alias in self._errors:
                continue
            flows = [s.flow for s in self._flows if s.flow.source == alias]
            try:
                result[alias] = committed_offsets(self._admins[alias], flows, self._timeout)
            except KafkaException as exc:
                self._mark(alias, f"cannot list groups: {error_text(exc)}", now)
        return result

    def _replicated(
        self, state: FlowState, now: float, groups: dict[str, dict[str, dict[TP, int]]]
    ) -> Replicated | FlowLag:
        """What MirrorMaker replicated of each partition of the flow (a stale FlowLag when one of its
        clusters did not answer)."""
        flow = state.flow
        down = [a for a in (flow.source, flow.target) if a in self._errors]
        if down:
            return self._stale(state, now, "; ".join(self._errors[a] for a in down))
        tail = state.tail
        heartbeat_age: float | None = None
        if tail is not None:
            target_meta = self._metadata[flow.target].topics
            tail.assign(tail.partitions(target_meta))
            tail.catch_up(self._ends[flow.target], budget_s=2.0 if not tail.next_offset else 1.0)
            if tail.heartbeat_ms is not None:
                heartbeat_age = max(0.0, now - tail.heartbeat_ms / 1000.0)
            mm1_committed: dict[TP, int] = {}
        else:
            mm1_committed = groups.get(flow.source, {}).get(mm1_group_id(flow), {})
            heartbeat_age = 0.0 if mm1_alive(self._admins[flow.source], flow, self._timeout) else None

        return replicated_partitions(
            state,
            self._covered(flow),
            self._metadata[flow.source].topics,
            self._metadata[flow.target].topics,
            self._ends[flow.source],
            self._ends[flow.target],
            mm1_committed,
            heartbeat_age,
            now,
        )

    def _flow_lag(
        self,
        state: FlowState,
        facts: Replicated,
        reads: dict[str, dict[tuple[TP, int], SourceRead]],
        now: float,
        groups: dict[str, dict[str, dict[TP, int]]],
    ) -> FlowLag:
        source = state.flow.source
        failed = self._failed_tasks(state) if facts.heartbeat_age is not None else ()
        return flow_lag(
            state, facts, reads.get(source, {}), groups.get(source, {}), failed, self._thresholds, now
        )

    def _failed_tasks(self, state: FlowState) -> tuple[str, ...]:
        """One line per FAILED MirrorMaker 2 connector or task of the flow (``MirrorSourceConnector-0
        FAILED: <first trace line>``); () for MM1, or when the status topic cannot be read now."""
        if state.flow.mirrormaker != MirrorMakerKind.MM2:
            return ()
        if state.status is None:
            flow = state.flow
            state.status = Mm2StatusReader(
                self._bootstrap[flow.target], flow.source, admin=self._admins[flow.target]
            )
        try:
            tasks = state.status.tasks(self._timeout)
        except Mm2StatusError:
            return ()
        return () if tasks.error is not None else tuple(tasks.problems())

    def _stale(self, state: FlowState, now: float, error: str) -> FlowLag:
        """The last numbers of a flow whose cluster did not answer, marked as such."""
        flow = state.flow
        since = min(self._unreachable.get(a, now) for a in (flow.source, flow.target))
        return stale_lag(state, now, since, error, self._thresholds)

    def _on_schedule(self, lag: FlowLag, now: float) -> FlowLag:
        """A scheduled flow's health against its schedule, and its next and last run (see
        :func:`~kdrtui.services.kafka.schedule_lag.on_schedule`); other flows as they are."""
        name = f"{lag.source}->{lag.target}"
        return on_schedule(lag, now, self._batches.get(name), self._last_run, self._heartbeat_timeout_s)

    @property
    def records_fetched(self) -> int:
        """Partitions whose first unmirrored record was fetched so far (an unchanged replicated offset is
        answered from the cache, never fetched again)."""
        return self._sources.fetched

    def close(self) -> None:
        """Close the consumers (AdminClients need no closing)."""
        self._sources.close()
        for state in self._flows:
            if state.tail is not None:
                state.tail.close()
                state.tail = None
            if state.status is not None:
                state.status.close()
                state.status = None
