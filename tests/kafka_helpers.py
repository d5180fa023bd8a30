"""Real Kafka clients for tests: make a topic, produce numbered keyed records or transactions (or steady
traffic), read a topic back (from the start, to the end, as a group), wait for MirrorMaker 2's checkpoint of a
group. Each connects as the loaded plan says, or as a given user of a secured lab."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kdrtui.domain.security import ClusterSecurity
from kdrtui.lab.lab import PRIMARY
from kdrtui.services.kafka import translate
from kdrtui.services.kafka.config import client_config, client_config_as

Partitions = dict[int, list[bytes]]
"""Partition -> record values in offset order."""

TRANSACTIONS = 11
"""Transactions :func:`produce_transactions` writes."""
ABORTED = 5
"""The sixth of the eleven transactions is aborted: committed ones before and after it."""
TRANSACTION_KEYS = 37
"""Records per transaction, one per key: every transaction writes into every partition."""


def config_as(bootstrap: str, security: ClusterSecurity | None, **extra: Any) -> dict[str, Any]:
    """A client configuration connecting as the loaded plan says, or as ``security`` says when given (a
    secured lab's ``app`` user: ``lab.security.cluster_security("app")``)."""
    if security is None:
        return client_config(bootstrap, **extra)
    return client_config_as(bootstrap, security, **extra)


def create_topic(bootstrap: str, topic: str, partitions: int = 3) -> None:
    """Create ``topic`` with the cluster's default replication factor (1 on a one-broker lab, 3 on three)."""
    admin = AdminClient(client_config(bootstrap))
    admin.create_topics([NewTopic(topic, num_partitions=partitions)])[topic].result(30)


def produce_numbered(
    bootstrap: str,
    topic: str,
    count: int,
    *,
    start: int = 0,
    keys: int = 37,
    security: ClusterSecurity | None = None,
) -> Partitions:
    """``count`` records keyed ``key-<n % keys>`` with value ``n``; returns what landed where.

    The partitioner is Java's (murmur2), so a Java producer re-producing the records (MirrorMaker 1)
    puts each key in the same partition number. The producer connects as :func:`config_as` says.
    """
    producer = Producer(
        config_as(bootstrap, security, **{"enable.idempotence": True, "partitioner": "murmur2_random"})
    )
    placed: dict[int, list[tuple[int, bytes]]] = {}

    def delivered(err: KafkaError | None, msg: Message) -> None:
        assert err is None, err
        partition, offset, value = msg.partition(), msg.offset(), msg.value()
        assert partition is not None and offset is not None and isinstance(value, bytes)
        placed.setdefault(partition, []).append((offset, value))

    for n in range(start, start + count):
        producer.produce(topic, key=f"key-{n % keys}", value=f"{n}", on_delivery=delivered)
        producer.poll(0)
    assert producer.flush(30) == 0
    return {p: [value for _, value in sorted(records)] for p, records in placed.items()}


def consume_partitions(
    bootstrap: str,
    topic: str,
    partitions: int,
    expected: int,
    *,
    timeout: float,
    on_first: Callable[[], None] | None = None,
    why: Callable[[], str] = lambda: "",
) -> Partitions:
    """Read ``topic`` from the start until ``expected`` records arrived (fail after ``timeout`` s)."""
    consumer = Consumer(
        client_config(bootstrap, **{"group.id": f"check-{topic}", "enable.auto.commit": False})
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got: Partitions = {}
    deadline = time.monotonic() + timeout
    try:
        while sum(map(len, got.values())) < expected:
            if time.monotonic() > deadline:
                seen = sum(map(len, got.values()))
                raise AssertionError(f"{seen} of {expected} records on {topic} within {timeout} s\n{why()}")
            for msg in consumer.consume(num_messages=1000, timeout=0.5):
                if msg.error() is not None:
                    continue
                if on_first is not None and not got:
                    on_first()
                partition, value = msg.partition(), msg.value()
                assert partition is not None and isinstance(value, bytes)
                got.setdefault(partition, []).append(value)
    finally:
        consumer.close()
    return got


def consume_and_commit(
    bootstrap: str, group: str, topic: str, count: int, *, security: ClusterSecurity | None = None
) -> Partitions:
    """Read ``count`` records of ``topic`` as ``group`` (subscribed, from the earliest) and commit them; the
    consumer connects as :func:`config_as` says."""
    consumer = Consumer(
        config_as(
            bootstrap,
            security,
            **{"group.id": group, "enable.auto.commit": False, "auto.offset.reset": "earliest"},
        )
    )
    got: Partitions = {}
    seen = 0
    consumer.subscribe([topic])
    deadline = time.monotonic() + 60
    try:
        while seen < count:
            assert time.monotonic() < deadline, f"read only {seen} of {count} records of {topic}"
            for message in consumer.consume(num_messages=count - seen, timeout=0.5):
                if message.error() is None:
                    got.setdefault(message.partition() or 0, []).append(message.value() or b"")
                    seen += 1
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return got


class Traffic(threading.Thread):
    """A producer with acks=all writing numbered records until stopped; keeps what was acknowledged, and
    why the rest was refused. It connects as :func:`config_as` says."""

    def __init__(
        self, bootstrap: str, topic: str, prefix: str, *, security: ClusterSecurity | None = None
    ) -> None:
        super().__init__(daemon=True)
        self.topic, self.prefix = topic, prefix
        self.producer = Producer(
            config_as(
                bootstrap,
                security,
                **{
                    "acks": "all",
                    "message.timeout.ms": 3000,
                    "linger.ms": 5,
                    "partitioner": "murmur2_random",
                },
            )
        )
        self.acked: set[bytes] = set()
        self.refused: list[KafkaError] = []
        """Why each record that was not acknowledged was refused, in order."""
        self._halt = threading.Event()

    @property
    def failed(self) -> int:
        """Records not acknowledged."""
        return len(self.refused)

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.acked.add(msg.value() or b"")
        else:
            self.refused.append(err)

    def run(self) -> None:
        n = 0
        while not self._halt.is_set():
            try:
                self.producer.produce(
                    self.topic, key=f"k{n % 37}", value=f"{self.prefix}-{n}", on_delivery=self._delivered
                )
            except KafkaException as exc:  # a client that knows its writes are denied refuses at once
                self.refused.append(exc.args[0])
            self.producer.poll(0)
            n += 1
            self._halt.wait(0.005)  # ~200 records/s: a rate, not a wait for a condition
        self.producer.flush(10)

    def stop(self) -> None:
        self._halt.set()
        self.join(30)


def end_offset(consumer: Consumer, topic: str, partition: int, timeout: float = 30.0) -> int:
    """A partition's end offset; a topic MirrorMaker has just created answers NOT_LEADER for a moment."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return int(consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1])
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def read_to_end(consumer: Consumer, topic: str, starts: dict[int, int]) -> Partitions:
    """The records of ``topic`` from ``starts`` (partition -> offset) to each partition's end as it is now."""
    ends = {p: end_offset(consumer, topic, p) for p in starts}
    consumer.assign([TopicPartition(topic, p, offset) for p, offset in starts.items()])
    got: Partitions = {p: [] for p in starts}
    deadline = time.monotonic() + 60
    while any(starts[p] + len(got[p]) < ends[p] for p in starts):
        assert time.monotonic() < deadline, "could not read to the end"
        for message in consumer.consume(num_messages=1000, timeout=0.5):
            if message.error() is None:
                got[message.partition() or 0].append(message.value() or b"")
    return got


def everything(bootstrap: str, topic: str, partitions: int) -> Partitions:
    """Every record of ``topic`` (empty while the topic does not exist yet)."""
    consumer = Consumer(
        client_config(bootstrap, **{"group.id": "check-failover", "enable.auto.commit": False})
    )
    try:
        if topic not in consumer.list_topics(timeout=10).topics:
            return {}
        return read_to_end(consumer, topic, dict.fromkeys(range(partitions), 0))
    finally:
        consumer.close()


def flat(values: Partitions) -> set[bytes]:
    """The values of every partition, as one set."""
    return {v for vs in values.values() for v in vs}


def read_to_eof(bootstrap: str, topic: str, partitions: int, isolation: str) -> Partitions:
    """Every record of ``topic`` a consumer with ``isolation.level`` = ``isolation`` reads, to the end of
    each partition (the broker says so: partition EOF)."""
    consumer = Consumer(
        client_config(
            bootstrap,
            **{
                "group.id": f"check-{topic}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "isolation.level": isolation,
            },
        )
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got: Partitions = {p: [] for p in range(partitions)}
    at_end: set[int] = set()
    deadline = time.monotonic() + 30
    try:
        while len(at_end) < partitions:
            assert time.monotonic() < deadline, f"{topic} not read to its end within 30 s"
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                partition, error = message.partition(), message.error()
                assert partition is not None
                if error is not None:
                    assert error.code() == KafkaError._PARTITION_EOF, error
                    at_end.add(partition)
                    continue
                value = message.value()
                assert isinstance(value, bytes)
                got[partition].append(value)
    finally:
        consumer.close()
    return got


def produce_transactions(
    bootstrap: str, topic: str, transactional_id: str, partitions: int
) -> tuple[Partitions, Partitions]:
    """:data:`TRANSACTIONS` transactions of :data:`TRANSACTION_KEYS` keyed records each, the
    :data:`ABORTED`-th aborted, into ``topic`` of ``partitions`` partitions.

    Returns (committed, aborted) values per partition, in offset order. The partitioner is Java's
    (murmur2), so MirrorMaker 1, which re-partitions by key, puts each record in the same partition number
    as MirrorMaker 2, which keeps partitions. Every record is flushed to the broker before its transaction
    ends, so the aborted records are really in the log (an abort purges what is still queued).
    """
    producer = Producer(
        client_config(bootstrap, **{"transactional.id": transactional_id, "partitioner": "murmur2_random"})
    )
    producer.init_transactions(30)
    placed: dict[str, list[tuple[int, int, bytes]]] = {"committed": [], "aborted": []}

    def delivered(err: KafkaError | None, message: Message) -> None:
        assert err is None, err
        partition, offset, value = message.partition(), message.offset(), message.value()
        assert partition is not None and offset is not None and isinstance(value, bytes)
        placed[value.decode().split("-")[0]].append((partition, offset, value))

    for t in range(TRANSACTIONS):
        fate = "aborted" if t == ABORTED else "committed"
        producer.begin_transaction()
        for k in range(TRANSACTION_KEYS):
            producer.produce(topic, key=f"key-{k}", value=f"{fate}-{t}-{k}", on_delivery=delivered)
        assert producer.flush(30) == 0
        if t == ABORTED:
            producer.abort_transaction(30)
        else:
            producer.commit_transaction(30)
    committed: Partitions = {p: [] for p in range(partitions)}
    aborted: Partitions = {p: [] for p in range(partitions)}
    for fate, values in (("committed", committed), ("aborted", aborted)):
        for partition, _offset, value in sorted(placed[fate]):
            values[partition].append(value)
    return committed, aborted


def wait_for_checkpoint(dr: str, group: str, topic: str, committed: dict[int, int]) -> None:
    """Wait (90 s at most) until MirrorMaker 2's checkpoints on ``dr`` carry ``group``'s ``committed``
    offsets (partition -> offset) of the primary's ``topic``."""
    deadline = time.monotonic() + 90
    while True:
        points = translate.read_checkpoints(dr, PRIMARY, 10)
        have = {
            p: cp.upstream for (g, t, p), cp in points.items() if g == group and t == f"{PRIMARY}.{topic}"
        }
        if all(have.get(p) == offset for p, offset in committed.items()):
            return
        assert time.monotonic() < deadline, f"no checkpoint of {group} at {committed} (have {have})"
        time.sleep(0.5)
