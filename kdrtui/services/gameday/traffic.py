"""A game day's own traffic: sequence-numbered records (``acks=all``, idempotent) on topics of its own,
and the verifier that reads them back on the target, so loss and duplication are counted exactly.

Each record's value is ``{"topic", "seq", "produced_at_ms"}`` and its key ``k<seq % KEYS>``: the records of
one key stay in order on one partition, and the numbers say which record is which wherever it is read.
The topics are made like the lab's traffic makes its own (:meth:`kdrtui.lab.traffic.TrafficGenerator.
ensure_topics`: the brokers' default replication factor).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from kdrtui.domain.gameday import Read, TopicCounts, count_topic
from kdrtui.lab.traffic import TrafficGenerator
from kdrtui.services.kafka.config import client_config

KEYS = 16
"""Distinct keys per topic."""

PARTITIONS = 3
"""Partitions per traffic topic."""


class SequencedTraffic:
    """Produce numbered records to ``topics`` on ``bootstrap`` at ``rate`` records/s (all topics together),
    in a thread, remembering what each delivery report acknowledged and when."""

    def __init__(self, bootstrap: str, topics: list[str], *, rate: float = 50.0) -> None:
        if not topics or rate <= 0:
            raise ValueError("traffic needs at least one topic and a rate > 0")
        self.bootstrap = bootstrap
        self.topics = list(topics)
        self.rate = rate
        self._lock = threading.Lock()
        self._produced = dict.fromkeys(self.topics, 0)
        self._acked: dict[str, dict[int, float]] = {t: {} for t in self.topics}
        self._failed = dict.fromkeys(self.topics, 0)
        self._ack_times: list[float] = []
        self.last_error: str | None = None
        self.limit: int | None = None
        """A budget: produce no more than this many records in all, then wait for it to be raised (or for
        :meth:`stop`); None: no budget. Scenarios that raise it phase by phase count the same records on
        every run, however long each phase takes."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def create_topics(self) -> list[str]:
        """Create the topics (3 partitions, the brokers' default replication factor); return those made."""
        if not self.topics:
            return []
        prefix = self.topics[0].rsplit("-", 1)[0]
        maker = TrafficGenerator(
            self.bootstrap, topics=len(self.topics), partitions=PARTITIONS, prefix=prefix
        )
        if maker.topic_names != self.topics:
            raise ValueError(f"traffic topics must be {prefix}-0..N, not {self.topics}")
        return maker.ensure_topics()

    def start(self) -> None:
        """Start producing (returns at once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="gameday-traffic", daemon=True)
        self._thread.start()

    def stop(self, flush_s: float = 30.0) -> None:
        """Stop producing and wait (up to ``flush_s``) for the outstanding delivery reports."""
        self._flush_s = flush_s
        self._stop.set()
        if self._thread is not None:
            self._thread.join(flush_s + 10)

    @property
    def running(self) -> bool:
        """The producer thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def produced(self, topic: str) -> int:
        """Records of ``topic`` handed to the producer so far."""
        with self._lock:
            return self._produced[topic]

    def acked(self, topic: str) -> dict[int, float]:
        """seq -> when it was produced (epoch s), for every acknowledged record of ``topic``."""
        with self._lock:
            return dict(self._acked[topic])

    def total_acked(self) -> int:
        """Acknowledged records of every topic."""
        with self._lock:
            return sum(len(a) for a in self._acked.values())

    def longest_ack_pause(self, since: float, until: float) -> float:
        """The longest time (s) without an acknowledgement between epoch ``since`` and ``until``: how long
        writes stalled."""
        with self._lock:
            times = [t for t in self._ack_times if since <= t <= until]
        marks = [since, *times, until]
        return max(b - a for a, b in itertools.pairwise(marks))

    def failed(self) -> int:
        """Records whose delivery failed."""
        with self._lock:
            return sum(self._failed.values())

    def _run(self) -> None:
        from confluent_kafka import KafkaError, Message, Producer

        producer = Producer(
            client_config(
                self.bootstrap,
                **{
                    "client.id": "kdrtui-gameday",
                    "linger.ms": 5,
                    "acks": "all",
                    "enable.idempotence": True,
                },
            )
        )

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            body = json.loads(msg.value() or b"{}")
            topic, seq = body.get("topic"), body.get("seq")
            with self._lock:
                if topic not in self._acked:
                    return
                if err is None:
                    self._acked[topic][int(seq)] = body["produced_at_ms"] / 1000
                    self._ack_times.append(time.time())
                else:
                    self._failed[topic] += 1
                    self.last_error = str(err)

        start = time.monotonic()
        sent = 0
        n = len(self.topics)
        while not self._stop.is_set():
            if self.limit is not None and sent >= self.limit:
                producer.poll(0)
                self._stop.wait(0.05)
                continue
            due = int((time.monotonic() - start) * self.rate) + 1
            if self.limit is not None:
                due = min(due, self.limit)
            if due - sent > self.rate * 2:  # far behind (the cluster stalled): keep the rate, no burst
                start = time.monotonic() - sent / self.rate
                due = sent + 1
            while sent < due and not self._stop.is_set():
                topic = self.topics[sent % n]
                with self._lock:
                    seq = self._produced[topic]
                value = {"topic": topic, "seq": seq, "produced_at_ms": int(time.time() * 1000)}
                try:
                    producer.produce(
                        topic,
                        key=f"k{seq % KEYS}".encode(),
                        value=json.dumps(value, separators=(",", ":")).encode(),
                        on_delivery=on_delivery,
                    )
                except BufferError:
                    producer.poll(0.1)
                    continue
                with self._lock:
                    self._produced[topic] = seq + 1
                sent += 1
            producer.poll(0)
            wait = start + sent / self.rate - time.monotonic()
            if wait > 0:
                self._stop.wait(min(wait, 0.1))
        left = producer.flush(getattr(self, "_flush_s", 30.0))
        if left:
            with self._lock:
                self.last_error = f"{left} records not acknowledged when the traffic stopped"


class Verifier:
    """Reads the mirrored topics on the target from their beginning, in a thread, keeping every read."""

    def __init__(self, bootstrap: str, targets: dict[str, str]) -> None:
        """``targets``: source topic -> its name on the target."""
        self.bootstrap = bootstrap
        self.targets = dict(targets)
        self._by_target = {v: k for k, v in self.targets.items()}
        self._reads: dict[str, list[Read]] = {t: [] for t in self.targets}
        self._seen: dict[str, set[int]] = {t: set() for t in self.targets}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def restarted(self) -> Verifier:
        """A new verifier of the same topics, reading them again from their beginning (after :meth:`stop`)."""
        again = Verifier(self.bootstrap, self.targets)
        again.errors = list(self.errors)
        return again

    def start(self) -> None:
        """Start reading (returns at once); topics not there yet are picked up when MirrorMaker makes them."""
        self._thread = threading.Thread(target=self._run, name="gameday-verifier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop reading."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)

    def seen(self, topic: str) -> set[int]:
        """Distinct sequence numbers of source topic ``topic`` read on the target so far."""
        with self._lock:
            return set(self._seen[topic])

    def reads(self, topic: str) -> list[Read]:
        """Every read of ``topic`` so far, in order."""
        with self._lock:
            return list(self._reads[topic])

    def missing(self, acked: Callable[[str], dict[int, float]]) -> int:
        """Acknowledged records not read yet, over every topic."""
        with self._lock:
            seen = {t: set(s) for t, s in self._seen.items()}
        return sum(len(set(acked(t)) - seen[t]) for t in self.targets)

    def counts(self, traffic: SequencedTraffic) -> list[TopicCounts]:
        """The exact counts of every topic (see :func:`kdrtui.domain.gameday.count_topic`)."""
        return [
            count_topic(
                topic,
                target,
                produced=traffic.produced(topic),
                acked=traffic.acked(topic),
                reads=self.reads(topic),
            )
            for topic, target in self.targets.items()
        ]

    def _run(self) -> None:
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer(
            client_config(
                self.bootstrap,
                **{
                    "group.id": f"kdrtui-gameday-verifier-{id(self)}",
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "isolation.level": "read_uncommitted",
                },
            )
        )
        assigned: set[str] = set()
        next_look = 0.0
        try:
            while not self._stop.is_set():
                if len(assigned) < len(self.targets) and time.monotonic() >= next_look:
                    next_look = time.monotonic() + 1.0
                    assigned |= self._assign_new(consumer, assigned, TopicPartition)
                if not assigned:
                    self._stop.wait(0.2)
                    continue
                for msg in consumer.consume(500, 0.2):
                    if msg.error():
                        self.errors.append(str(msg.error()))
                        continue
                    self._record(msg)
        finally:
            consumer.close()

    def _assign_new(self, consumer: Any, assigned: set[str], topic_partition: Any) -> set[str]:
        try:
            md = consumer.list_topics(timeout=5)
        except Exception as exc:  # the target is unreachable for now: look again in a second
            self.errors.append(f"list topics: {exc}")
            return set()
        new = set()
        parts = []
        for target in self._by_target:
            meta = md.topics.get(target)
            if target in assigned or meta is None or meta.error is not None or not meta.partitions:
                continue
            new.add(target)
            parts += [topic_partition(target, p, -2) for p in meta.partitions]  # -2: from the beginning
        if parts:
            consumer.incremental_assign(parts)
        return new

    def _record(self, msg: Any) -> None:
        source = self._by_target.get(msg.topic())
        if source is None:
            return
        try:
            body = json.loads(msg.value())
            seq = int(body["seq"])
        except (TypeError, ValueError, KeyError):
            self.errors.append(f"{msg.topic()}: a record without a sequence number at offset {msg.offset()}")
            return
        key = (msg.key() or b"").decode(errors="replace")
        with self._lock:
            self._reads[source].append(Read(msg.partition(), key, seq))
            self._seen[source].add(seq)
