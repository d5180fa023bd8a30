"""A cheap, repeatable liveness and shape probe of one Kafka cluster.

One long-lived AdminClient per cluster; each probe is a single metadata request, which carries the
broker list, the controller, the cluster id and the topics with every partition's leader, replicas and
in-sync replicas together. Only when a partition has fewer in-sync replicas than replicas are its topic's
``min.insync.replicas`` described (one DescribeConfigs for all such topics, each value kept for
:data:`MIN_ISR_TTL_S`). A failed probe says why in one line:
on a secured cluster the reason librdkafka gives only in its callbacks (a wrong password, an unknown CA,
a PLAINTEXT client at a TLS port: :mod:`kdrtui.services.kafka.failures`), or a password the plan names
that cannot be read.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from kdrtui.domain.health import ClusterObservation
from kdrtui.domain.replica_health import PartitionReplicas, summarize, topics_to_describe

MIN_ISR_TTL_S = 300.0
"""How long a topic's ``min.insync.replicas`` read is trusted before it is described again."""
MODE_RETRY_S = 60.0
"""How long after a failed read of a broker's ``process.roles`` it is asked again."""


class ClusterProbe(Protocol):
    """Anything that can observe a cluster; the console depends on this, not on confluent-kafka."""

    def observe(self) -> ClusterObservation:
        """Read the cluster's metadata now; never raises, a failure is an observation too."""
        ...

    def close(self) -> None:
        """Release the client."""
        ...


class KafkaClusterProbe:
    """:class:`ClusterProbe` over a confluent-kafka AdminClient. Blocking: call from a thread."""

    def __init__(self, bootstrap: str, *, timeout_s: float = 3.0, admin: object | None = None) -> None:
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        self._admin: object | None = admin
        """The client (built on first use; tests pass a fake)."""
        self._min_isr: dict[str, tuple[int, float]] = {}
        """topic -> (its ``min.insync.replicas``, when it was read on the monotonic clock)."""
        self._kraft: bool | None = None
        """Whether the cluster runs KRaft, once a broker's ``process.roles`` was read."""
        self._mode_asked = float("-inf")

    def _client(self) -> object:
        if self._admin is None:
            # Imported here: confluent_kafka is not needed to paint the console.
            from confluent_kafka.admin import AdminClient

            from kdrtui.services.kafka.config import client_config

            self._admin = AdminClient(client_config(self.bootstrap))
        return self._admin

    def observe(self) -> ClusterObservation:
        """One metadata request with a deadline."""
        started = time.monotonic()
        admin: object | None = None
        try:
            admin = self._client()
            md = admin.list_topics(timeout=self.timeout_s)  # type: ignore[attr-defined]
        except Exception as exc:  # a dead broker surfaces as KafkaException or a timeout
            return ClusterObservation(
                observed_at=time.time(),
                ok=False,
                error=self._why(_one_line(exc), admin),
                latency_s=time.monotonic() - started,
            )
        finally:
            self._serve(admin)
        from kdrtui.services.kafka.security import answered

        answered(self.bootstrap)
        if not md.brokers:
            return ClusterObservation(
                observed_at=time.time(),
                ok=False,
                error="no brokers in metadata",
                latency_s=time.monotonic() - started,
            )
        partitions = partitions_of(md)
        min_isr = self._min_isr_of(admin, topics_to_describe(partitions))
        seen = observation_of(md, partitions, min_isr, latency_s=time.monotonic() - started)
        return replace(seen, kraft=self._kraft_of(admin, md))

    def _kraft_of(self, admin: Any, md: Any) -> bool | None:
        """Whether the cluster runs KRaft: a broker's ``process.roles`` is set (read once; a failed read
        is tried again after :data:`MODE_RETRY_S`). On KRaft the metadata's controller id is a random
        broker, not the active controller."""
        now = time.monotonic()
        if self._kraft is not None or now - self._mode_asked < MODE_RETRY_S or not md.brokers:
            return self._kraft
        self._mode_asked = now
        from confluent_kafka.admin import ConfigResource, ResourceType

        resource = ConfigResource(ResourceType.BROKER, str(min(md.brokers)))
        try:
            (future,) = admin.describe_configs([resource], request_timeout=self.timeout_s).values()
            entry = future.result(timeout=self.timeout_s).get("process.roles")
        except Exception:  # unknown for now: the controller id is shown as the metadata gives it
            return None
        finally:
            self._serve(admin)
        self._kraft = bool(entry is not None and entry.value)
        return self._kraft

    def _min_isr_of(self, admin: Any, topics: set[str]) -> dict[str, int] | None:
        """``min.insync.replicas`` of ``topics``: remembered values younger than :data:`MIN_ISR_TTL_S`,
        the others in one DescribeConfigs; a topic whose read failed is left out (None: no value at all)."""
        if not topics:
            return {}
        now = time.monotonic()
        found = {t: v for t, (v, at) in self._min_isr.items() if t in topics and now - at < MIN_ISR_TTL_S}
        missing = sorted(topics - found.keys())
        if missing:
            from confluent_kafka.admin import ConfigResource, ResourceType

            resources = [ConfigResource(ResourceType.TOPIC, topic) for topic in missing]
            try:
                futures = admin.describe_configs(resources, request_timeout=self.timeout_s)
            except Exception:  # a probe never raises: the count is unknown, the rest still shown
                futures = {}
            for resource, future in futures.items():
                try:
                    entry = future.result(timeout=self.timeout_s).get("min.insync.replicas")
                    value = int(entry.value)
                except Exception:  # this topic's floor stays unknown; a later probe asks again
                    continue
                self._min_isr[resource.name] = (value, now)
                found[resource.name] = value
            self._serve(admin)
        return found or None

    def close(self) -> None:
        """AdminClient has no close; dropping the reference lets librdkafka tear it down."""
        self._admin = None

    def _why(self, error: str, admin: object | None) -> str:
        """``error`` with the reason a secured connection failed, when librdkafka gave one (no client:
        the plan's password could not be read, and ``error`` says so: the card and the pre-flight name the
        cluster already)."""
        from kdrtui.services.kafka.security import alias_of, explain

        if admin is None:
            return error.removeprefix(f"{alias_of(self.bootstrap)}: ")

        self._serve(admin)
        return explain(self.bootstrap, error)

    @staticmethod
    def _serve(admin: object | None) -> None:
        """Hand over the client's queued log lines and error callbacks (its reasons; and unserved, they
        pile up for as long as the console runs)."""
        if admin is not None:
            from kdrtui.services.kafka.failures import serve

            serve(admin)


def partitions_of(md: Any) -> list[PartitionReplicas]:
    """Every partition of a confluent-kafka ``ClusterMetadata`` (internal topics included: a
    ``__consumer_offsets`` partition under min ISR stops consumers committing)."""
    return [
        PartitionReplicas(
            topic=name,
            partition=p.id,
            leader=p.leader if p.leader is not None else -1,
            replicas=tuple(p.replicas or ()),
            isr=tuple(p.isrs or ()),
        )
        for name, topic in md.topics.items()
        for p in topic.partitions.values()
    ]


def observation_of(
    md: Any,
    partitions: list[PartitionReplicas],
    min_isr: Mapping[str, int] | None,
    *,
    latency_s: float = 0.0,
) -> ClusterObservation:
    """The observation of a cluster that answered with ``md``; the brokers expected are a lower bound, the
    brokers alive and those the replicas name (callers apply the plan's: ``expect_from_plan``)."""
    summary = summarize(partitions, min_isr)
    controller = md.controller_id if md.controller_id is not None and md.controller_id >= 0 else None
    return ClusterObservation(
        observed_at=time.time(),
        ok=True,
        brokers=len(md.brokers),
        topics=sum(1 for name in md.topics if not name.startswith("__")),
        controller_id=controller,
        cluster_id=md.cluster_id,
        latency_s=latency_s,
        brokers_expected=len(summary.replica_brokers | set(md.brokers)),
        expected_source="derived",
        under_replicated=summary.under_replicated,
        offline=summary.offline,
        under_min_isr=summary.under_min_isr,
        unwritable=summary.unwritable,
        unwritable_count=summary.unwritable_count,
    )


def _one_line(exc: BaseException) -> str:
    """A readable one-line reason; KafkaException carries a KafkaError whose ``str()`` says it best."""
    error = exc.args[0] if exc.args else None
    describe = getattr(error, "str", None)
    text = describe() if callable(describe) else str(exc)
    return " ".join((text or type(exc).__name__).split())
