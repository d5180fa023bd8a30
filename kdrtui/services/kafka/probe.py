"""A cheap, repeatable liveness and shape probe of one Kafka cluster.

One long-lived AdminClient per cluster; each probe is a single metadata request, which carries the
broker list, the controller, the cluster id and the topics together. A failed probe says why in one line:
on a secured cluster the reason librdkafka gives only in its callbacks (a wrong password, an unknown CA,
a PLAINTEXT client at a TLS port: :mod:`kdrtui.services.kafka.failures`), or a password the plan names
that cannot be read.
"""

from __future__ import annotations

import time
from typing import Protocol

from kdrtui.domain.health import ClusterObservation


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

    def __init__(self, bootstrap: str, *, timeout_s: float = 3.0) -> None:
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        self._admin: object | None = None

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
        controller = md.controller_id if md.controller_id is not None and md.controller_id >= 0 else None
        return ClusterObservation(
            observed_at=time.time(),
            ok=True,
            brokers=len(md.brokers),
            topics=sum(1 for name in md.topics if not name.startswith("__")),
            controller_id=controller,
            cluster_id=md.cluster_id,
            latency_s=time.monotonic() - started,
        )

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


def _one_line(exc: BaseException) -> str:
    """A readable one-line reason; KafkaException carries a KafkaError whose ``str()`` says it best."""
    error = exc.args[0] if exc.args else None
    describe = getattr(error, "str", None)
    text = describe() if callable(describe) else str(exc)
    return " ".join((text or type(exc).__name__).split())
