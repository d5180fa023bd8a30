"""The lab's traffic generator: keyed, numbered records at a steady rate, read by committing groups.

Records go round-robin to topics ``<prefix>-<i>`` with key ``key-<seq % 64>`` and a JSON value
carrying the per-topic sequence number and the produce time, so a rehearsal can later check what
crossed to the DR cluster and in which order. Each topic is read by ``groups_per_topic`` consumer
groups ``<prefix>-<i>-g<j>`` that commit their offsets every second: those are the offsets a
failover translates.

:class:`TrafficGenerator` runs in the calling process (foreground);
:class:`~kdrtui.lab.traffic_process.TrafficProcess` manages a detached generator
(``kdrtui lab traffic --background``) through a pid file in the lab directory.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from kdrtui.domain.security import ClusterSecurity
from kdrtui.services.kafka.config import client_config, client_config_as

#: Keys cycle through this many values, so records with one key land in order on one partition.
KEY_SPACE = 64

#: How often consumers commit what they have read.
COMMIT_INTERVAL_S = 1.0


@dataclass
class TrafficStats:
    """Counters of one traffic run (a snapshot when returned by :meth:`TrafficGenerator.stats`)."""

    started_at: float
    elapsed_s: float = 0.0
    sent: int = 0
    acked: int = 0
    failed: int = 0
    consumed: int = 0
    commits: int = 0
    errors: int = 0
    last_error: str | None = None
    state: str = "starting"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the background generator's stats file)."""
        return asdict(self)

    def line(self) -> str:
        """One progress line for a terminal or a log."""
        rate = self.acked / self.elapsed_s if self.elapsed_s > 0 else 0.0
        text = (
            f"traffic {self.elapsed_s:6.1f}s  produced {self.acked} ({rate:.1f}/s)  "
            f"consumed {self.consumed}  commits {self.commits}"
        )
        if self.failed or self.errors:
            text += f"  failed {self.failed}  errors {self.errors} (last: {self.last_error})"
        if self.state == "stopped":
            text += "  (final)"
        return text


class TrafficError(RuntimeError):
    """The traffic generator could not reach its cluster, or could not be started or stopped."""


class TrafficGenerator:
    """Produce and consume steady, checkable traffic on one cluster. Blocking: :meth:`run`."""

    def __init__(
        self,
        bootstrap: str,
        *,
        topics: int = 3,
        partitions: int = 3,
        rate: float = 100.0,
        duration: float | None = None,
        prefix: str = "traffic",
        groups_per_topic: int = 1,
        security: ClusterSecurity | None = None,
    ) -> None:
        if topics < 1 or partitions < 1 or groups_per_topic < 0:
            raise ValueError("topics and partitions must be >= 1, groups-per-topic >= 0")
        if rate <= 0:
            raise ValueError("rate must be > 0 records/s")
        self.bootstrap = bootstrap
        self.security = security
        """Connect as this (a secured lab's ``app`` user); None: as the plan says, else PLAINTEXT."""
        self.partitions = partitions
        self.rate = rate
        self.duration = duration
        self.prefix = prefix
        self.topic_names = [f"{prefix}-{i}" for i in range(topics)]
        self.group_names = {
            topic: [f"{topic}-g{j}" for j in range(groups_per_topic)] for topic in self.topic_names
        }
        self._stop = threading.Event()
        self._stats = TrafficStats(started_at=time.time())
        self._consumed: dict[str, int] = {}
        self._commits: dict[str, int] = {}
        self._acked_by_topic: dict[str, int] = {}
        self._drain_deadline: float | None = None
        self._producer_done = threading.Event()
        self._lock = threading.Lock()

    def _config(self, **extra: Any) -> dict[str, Any]:
        if self.security is None:
            return client_config(self.bootstrap, **extra)
        return client_config_as(self.bootstrap, self.security, **extra)

    @property
    def groups(self) -> list[str]:
        """Every consumer group name, in topic order."""
        return [g for groups in self.group_names.values() for g in groups]

    def stop(self) -> None:
        """Ask :meth:`run` to finish (thread- and signal-handler-safe)."""
        self._stop.set()

    def stats(self) -> TrafficStats:
        """A consistent copy of the counters."""
        with self._lock:
            snap = TrafficStats(**asdict(self._stats))
            snap.consumed = sum(self._consumed.values())
            snap.commits = sum(self._commits.values())
        return snap

    def _error(self, message: str) -> None:
        with self._lock:
            self._stats.errors += 1
            self._stats.last_error = message

    def ensure_topics(self, timeout: float = 30.0) -> list[str]:
        """Create the topics that do not exist yet; return the names created."""
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient(self._config())
        try:
            existing = set(admin.list_topics(timeout=timeout).topics)
        except KafkaException as exc:
            raise TrafficError(f"cannot reach {self.bootstrap}: {exc.args[0].str()}") from exc
        missing = [t for t in self.topic_names if t not in existing]
        if not missing:
            return []
        futures = admin.create_topics(
            # The broker's default.replication.factor: 3 on a lab of three brokers, as HDInsight's.
            [NewTopic(t, num_partitions=self.partitions, replication_factor=-1) for t in missing],
            request_timeout=timeout,
        )
        created = []
        for topic, future in futures.items():
            try:
                future.result(timeout=timeout)
                created.append(topic)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # a concurrent run won
                    raise TrafficError(f"cannot create topic {topic}: {exc.args[0].str()}") from exc
        return created

    def _produce_loop(self) -> None:
        try:
            self._produce()
        except Exception as exc:  # a thread's failure must reach the stats, not vanish
            self._error(f"producer stopped: {exc}")
        finally:
            self._producer_done.set()

    def _produce(self) -> None:
        from confluent_kafka import KafkaError, Message, Producer

        producer = Producer(
            self._config(
                **{
                    "client.id": f"kdrtui-traffic-{self.prefix}",
                    "linger.ms": 10,
                    "acks": "all",
                    "enable.idempotence": True,
                },
            )
        )

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            with self._lock:
                if err is None:
                    self._stats.acked += 1
                    topic = msg.topic() or ""
                    self._acked_by_topic[topic] = self._acked_by_topic.get(topic, 0) + 1
                else:
                    self._stats.failed += 1
                    self._stats.last_error = str(err)

        seqs = dict.fromkeys(self.topic_names, 0)
        start = time.monotonic()
        sent = 0
        n_topics = len(self.topic_names)
        while not self._stop.is_set():
            now = time.monotonic()
            due = int((now - start) * self.rate) + 1
            if due - sent > self.rate * 2:
                # Fell far behind (the broker was down): resume the steady rate instead of a burst.
                start = now - sent / self.rate
                due = sent + 1
            while sent < due and not self._stop.is_set():
                topic = self.topic_names[sent % n_topics]
                seq = seqs[topic]
                key = f"key-{seq % KEY_SPACE}"
                value = json.dumps(
                    {"seq": seq, "key": key, "topic": topic, "produced_at_ms": int(time.time() * 1000)},
                    separators=(",", ":"),
                )
                try:
                    producer.produce(topic, value=value.encode(), key=key.encode(), on_delivery=on_delivery)
                except BufferError:  # local queue full (broker unreachable): serve callbacks, retry
                    producer.poll(0.1)
                    continue
                seqs[topic] = seq + 1
                sent += 1
                with self._lock:
                    self._stats.sent = sent
            producer.poll(0)
            wait = start + sent / self.rate - time.monotonic()
            if wait > 0:
                self._stop.wait(min(wait, 0.1))
        remaining = producer.flush(10.0)
        if remaining:
            self._error(f"{remaining} records not acknowledged at shutdown")

    def _consume_loop(self, topic: str, group: str) -> None:
        try:
            self._consume(topic, group)
        except Exception as exc:  # a thread's failure must reach the stats, not vanish
            self._error(f"{group}: consumer stopped: {exc}")

    def _consume(self, topic: str, group: str) -> None:
        from confluent_kafka import Consumer, KafkaException

        consumer = Consumer(
            self._config(
                **{
                    "group.id": group,
                    "client.id": f"kdrtui-traffic-{group}",
                    "auto.offset.reset": "earliest",
                    # Commit explicitly every second: the committed offsets are the point.
                    "enable.auto.commit": False,
                },
            )
        )
        consumer.subscribe([topic])
        uncommitted = 0
        last_commit = time.monotonic()

        def commit() -> None:
            nonlocal uncommitted, last_commit
            last_commit = time.monotonic()
            if not uncommitted:
                return
            try:
                consumer.commit(asynchronous=False)
            except KafkaException as exc:
                self._error(f"{group}: commit failed: {exc}")
                return
            uncommitted = 0
            with self._lock:
                self._commits[group] = self._commits.get(group, 0) + 1

        try:
            while not self._stop.is_set() or self._draining(group):
                msg = consumer.poll(0.2)
                if msg is not None:
                    if msg.error():
                        self._error(f"{group}: {msg.error()}")
                    else:
                        uncommitted += 1
                        with self._lock:
                            self._consumed[group] = self._consumed.get(group, 0) + 1
                if time.monotonic() - last_commit >= COMMIT_INTERVAL_S:
                    commit()
            commit()
        finally:
            consumer.close()

    def _draining(self, group: str) -> bool:
        # After the producer stopped, keep reading (briefly, see run) until this group has seen
        # every acknowledged record of its topic, so the final commit covers the whole run.
        if self._drain_deadline is None or time.monotonic() > self._drain_deadline:
            return False
        if not self._producer_done.is_set():
            return True
        topic = group.rsplit("-g", 1)[0]
        with self._lock:
            return self._consumed.get(group, 0) < self._acked_by_topic.get(topic, 0)

    def run(
        self,
        *,
        progress: Callable[[TrafficStats], None] | None = None,
        progress_interval: float = 5.0,
        drain_timeout: float = 5.0,
        on_running: Callable[[TrafficStats], None] | None = None,
    ) -> TrafficStats:
        """Create the topics, then produce and consume until the duration passes or :meth:`stop`.

        ``on_running`` is called once the topics exist; ``progress`` every ``progress_interval``
        seconds and once at the end. After the producer stops, consumers read on for up to
        ``drain_timeout`` seconds so the final commits cover what was produced.
        """
        self.ensure_topics()
        started = time.monotonic()
        with self._lock:
            self._stats.started_at = time.time()
            self._stats.state = "running"
        if on_running is not None:
            on_running(self._snapshot(started))
        producer = threading.Thread(target=self._produce_loop, name="traffic-producer", daemon=True)
        consumers = [
            threading.Thread(
                target=self._consume_loop, args=(topic, group), name=f"traffic-{group}", daemon=True
            )
            for topic, groups in self.group_names.items()
            for group in groups
        ]
        for thread in (producer, *consumers):
            thread.start()
        next_progress = started + progress_interval
        end = started + self.duration if self.duration is not None else None
        while not self._stop.is_set():
            now = time.monotonic()
            if end is not None and now >= end:
                break
            if now >= next_progress:
                next_progress += progress_interval
                if progress is not None:
                    progress(self._snapshot(started))
            wake = min(next_progress, end) if end is not None else next_progress
            self._stop.wait(max(0.0, min(wake - now, 0.5)))
        self._drain_deadline = time.monotonic() + drain_timeout
        self._stop.set()
        producer.join()
        for thread in consumers:
            thread.join()
        final = self._snapshot(started)
        final.state = "stopped"
        if progress is not None:
            progress(final)
        return final

    def _snapshot(self, started: float) -> TrafficStats:
        snap = self.stats()
        snap.elapsed_s = time.monotonic() - started
        return snap
