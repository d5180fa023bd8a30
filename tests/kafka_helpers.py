"""Real Kafka clients for tests: make a topic, produce numbered keyed records, read a topic back."""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kdrtui.services.kafka.config import client_config

Partitions = dict[int, list[bytes]]
"""Partition -> record values in offset order."""


def create_topic(bootstrap: str, topic: str, partitions: int = 3) -> None:
    """Create ``topic`` with one replica (the lab's brokers are single nodes)."""
    admin = AdminClient(client_config(bootstrap))
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[topic].result(30)


def produce_numbered(bootstrap: str, topic: str, count: int, *, start: int = 0, keys: int = 37) -> Partitions:
    """``count`` records keyed ``key-<n % keys>`` with value ``n``; returns what landed where.

    The partitioner is Java's (murmur2), so a Java producer re-producing the records (MirrorMaker 1)
    puts each key in the same partition number.
    """
    producer = Producer(
        client_config(bootstrap, **{"enable.idempotence": True, "partitioner": "murmur2_random"})
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
