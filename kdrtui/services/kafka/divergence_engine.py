"""The divergence engine of a hot standby with dual ingest: both clusters' topics compared, per refresh.

Per refresh (blocking; run it in a thread), both clusters at once:

1. the cluster's topics from one ``list_topics`` (cached ``metadata_max_age_s``), keeping application
   topics only (not ``__*``, ``*.internal``, ``mm2-*`` nor MirrorMaker's ``heartbeats`` and
   ``<alias>.heartbeats``);
2. three ListOffsets requests over all their partitions — earliest, latest and max timestamp (KIP-734) —
   each cut into batches of 250 partitions with one future per batch, every batch of every spec in flight
   at once (the approach of :mod:`kdrtui.services.kafka.offsets`);
3. the comparison of :mod:`kdrtui.domain.divergence`.

A cluster that does not answer within ``request_timeout_s`` never raises: the snapshot keeps the last
numbers read from both clusters, marked stale with their age and the error, and the alias goes into
``snapshot.unreachable``. A partition that fails while its cluster answers keeps its last facts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from kdrtui.domain.divergence import (
    DivergenceSnapshot,
    PartitionFacts,
    SideFacts,
    compare,
    side_facts,
)
from kdrtui.domain.plan import Plan
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.failures import explained
from kdrtui.services.kafka.offsets import TP, error_text, offsets_request, offsets_result, request_end_offsets

SPECS = {
    "start": OffsetSpec.earliest()._value,
    "end": OffsetSpec.latest()._value,
    "newest": OffsetSpec.max_timestamp()._value,
}
"""What each partition is asked for: the value ListOffsets takes in a TopicPartition's offset."""


def application_topic(name: str) -> bool:
    """Whether a topic is the applications' (not Kafka's, nor a MirrorMaker's internal one)."""
    return not (
        name.startswith("__")
        or name.endswith(".internal")
        or name.startswith("mm2-")
        or name == "heartbeats"
        or name.endswith(".heartbeats")
    )


@dataclass
class _Cluster:
    """What the engine keeps of one cluster between refreshes."""

    alias: str
    bootstrap: str
    admin: AdminClient
    topics: dict[str, int] = field(default_factory=dict)
    """Application topic -> partition count."""
    fetched_at: float = float("-inf")
    """time.monotonic() of the topic list."""
    requests: dict[str, list[list[TopicPartition]]] = field(default_factory=dict)
    """Spec name -> batches; rebuilt with the topic list."""
    facts: dict[TP, PartitionFacts] = field(default_factory=dict)
    """Last facts per partition (kept when a partition fails to answer)."""


class DivergenceEngine:
    """Divergence between the primary and the secondary of a hot-standby plan, refreshed on demand.

    Args:
        plan: the DR plan (clusters, roles, thresholds).
        clock: wall-clock seconds (injectable for tests).
        request_timeout_s: how long a cluster may take to answer before it counts as unreachable.
        metadata_max_age_s: how often the topic lists are read again.
        admin_factory: builds an AdminClient from a bootstrap string (tests may inject one).
    """

    def __init__(
        self,
        plan: Plan,
        *,
        clock: Callable[[], float] = time.time,
        request_timeout_s: float = 3.0,
        metadata_max_age_s: float = 10.0,
        admin_factory: Callable[[str], AdminClient] | None = None,
    ) -> None:
        self.plan = plan
        self._clock = clock
        self._timeout = request_timeout_s
        self._metadata_max_age = metadata_max_age_s
        make = admin_factory or (lambda bootstrap: AdminClient(client_config(bootstrap)))
        self._clusters = [
            _Cluster(alias, plan.cluster(alias).bootstrap, make(plan.cluster(alias).bootstrap))
            for alias in (plan.primary_alias, plan.secondary_alias)
        ]
        self._unreachable: dict[str, float] = {}
        self._last: DivergenceSnapshot | None = None
        self._fresh_at: float | None = None

    # --- I/O ----------------------------------------------------------------------------------------

    def _read(self, cluster: _Cluster) -> tuple[dict[str, SideFacts], str | None]:
        """One cluster's application topics with their facts, and the last partial error. Raises
        KafkaException (or what the client raises) when the cluster does not answer."""
        if time.monotonic() - cluster.fetched_at >= self._metadata_max_age:
            found = cluster.admin.list_topics(timeout=self._timeout)
            cluster.topics = {
                name: len(meta.partitions)
                for name, meta in found.topics.items()
                if meta.error is None and application_topic(name)
            }
            cluster.fetched_at = time.monotonic()
            partitions = [(t, p) for t, n in sorted(cluster.topics.items()) for p in range(n)]
            cluster.requests = {name: offsets_request(partitions, spec) for name, spec in SPECS.items()}
            cluster.facts = {tp: f for tp, f in cluster.facts.items() if tp[0] in cluster.topics}
        # Every batch of every spec in flight before the first answer is awaited.
        futures = {
            name: request_end_offsets(cluster.admin, batches, self._timeout)
            for name, batches in cluster.requests.items()
        }
        answers: dict[str, dict[TP, tuple[int, int]]] = {}
        error: str | None = None
        for name, pending in futures.items():
            answers[name], partial = offsets_result(pending, self._timeout + 5)
            error = partial or error
        starts, ends, newest = answers["start"], answers["end"], answers["newest"]
        for tp, (end, _) in ends.items():
            old = cluster.facts.get(tp)
            start = starts[tp][0] if tp in starts else (old.start if old is not None else 0)
            stamp = newest[tp][1] if tp in newest else (old.newest_ms if old is not None else None)
            cluster.facts[tp] = PartitionFacts(
                partition=tp[1],
                start=start,
                end=end,
                newest_ms=None if stamp is None or stamp < 0 else stamp,
            )
        by_topic: dict[str, list[PartitionFacts]] = {t: [] for t in cluster.topics}
        for (topic, _), facts in cluster.facts.items():
            if topic in by_topic:
                by_topic[topic].append(facts)
        return {t: side_facts(parts) for t, parts in by_topic.items()}, (
            None if error is None else f"{cluster.bootstrap}: some partitions did not answer: {error}"
        )

    # --- the refresh --------------------------------------------------------------------------------

    def refresh(self) -> DivergenceSnapshot:
        """Read both clusters (at once) and compare them. Blocking; never raises for an unreachable
        cluster (the last numbers are returned, marked stale)."""
        now = self._clock()
        with ThreadPoolExecutor(max_workers=len(self._clusters)) as pool:
            pending = [(c, pool.submit(self._read, c)) for c in self._clusters]
            sides: list[dict[str, SideFacts]] = []
            errors: dict[str, str] = {}
            partial: list[str] = []
            for cluster, future in pending:
                try:
                    facts, note = future.result()
                except Exception as exc:  # the cluster did not answer: never raise
                    text = f"unreachable: {error_text(exc)}"
                    errors[cluster.alias] = explained(cluster.bootstrap, text, cluster.admin)
                    cluster.fetched_at = float("-inf")  # read its topics again once it is back
                    sides.append({})
                    continue
                sides.append(facts)
                if note is not None:
                    partial.append(note)
        for alias in list(self._unreachable):
            if alias not in errors:
                del self._unreachable[alias]
        for alias in errors:
            self._unreachable.setdefault(alias, now)
        primary, secondary = (c.alias for c in self._clusters)
        if errors:
            return self._stale(now, "; ".join(errors.values()))
        objectives = self.plan.objectives
        topics = compare(
            sides[0],
            sides[1],
            now=now,
            warn_s=objectives.lag_warn_seconds,
            crit_s=objectives.lag_crit_seconds,
            names=(primary, secondary),
        )
        snapshot = DivergenceSnapshot(
            taken_at=now,
            primary=primary,
            secondary=secondary,
            topics=topics,
            error="; ".join(partial) or None,
        )
        self._last, self._fresh_at = snapshot, now
        return snapshot

    def _stale(self, now: float, error: str) -> DivergenceSnapshot:
        """The last numbers read from both clusters, marked stale: never shown as fresh."""
        since = min(self._unreachable.values(), default=now)
        stale_s = max(0.0, now - (self._fresh_at if self._fresh_at is not None else since))
        primary, secondary = (c.alias for c in self._clusters)
        last = self._last
        return DivergenceSnapshot(
            taken_at=now,
            primary=primary,
            secondary=secondary,
            topics=last.topics if last is not None else (),
            stale_s=stale_s,
            error=error,
            unreachable=dict(self._unreachable),
        )

    def close(self) -> None:
        """Nothing to release (AdminClients need no closing); here for the pane's source protocol."""
        self._last = None
