"""Fencing a cluster's topics against writes, and undoing it (blocking; run in a thread).

- ``reject-writes``: the topic's ``max.message.bytes`` set to 1, so the brokers refuse every produce request
  (MESSAGE_TOO_LARGE), whatever its acks; replication between brokers is not affected. Raising
  ``min.insync.replicas`` above the replication factor does NOT fence: brokers cap the effective value at
  the replica count (``Partition.effectiveMinIsr``), so acks=all writes still succeed.
- ``acl``: DENY WRITE ACLs for every principal allowed to write but kdrtui's and MirrorMaker's, on each
  topic and on transactional ids: :mod:`kdrtui.services.kafka.fence_acl` (needs an authorizer).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    ResourceType,
)

from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.failures import explained, not_authorized
from kdrtui.services.kafka.offsets import error_text

MAX_BYTES = "max.message.bytes"
REJECTING = 1
"""A ``max.message.bytes`` no record batch fits in."""


class FenceError(RuntimeError):
    """A fence could not be put up or taken down; the message says where and why."""


def _admin(bootstrap: str) -> AdminClient:
    return AdminClient(client_config(bootstrap))


def _problems(futures: dict[Any, Future[Any]], timeout: float) -> list[str]:
    """``<name>: <error>`` of each request in ``futures`` that failed (each awaited ``timeout`` + 5 s)."""
    problems = []
    for request, future in futures.items():
        try:
            future.result(timeout=timeout + 5)
        except KafkaException as exc:
            problems.append(
                not_authorized(exc, request.name, "ALTER_CONFIGS") or f"{request.name}: {error_text(exc)}"
            )
    return problems


def read_max_bytes(bootstrap: str, topics: Iterable[str], timeout: float = 10.0) -> dict[str, int | None]:
    """Each topic's own ``max.message.bytes``, or None where it inherits the broker's default."""
    wanted = [ConfigResource(ResourceType.TOPIC, t) for t in topics]
    if not wanted:
        return {}
    result: dict[str, int | None] = {}
    admin = _admin(bootstrap)  # kept alive until the answers arrive: a collected client never resolves them
    for resource, future in admin.describe_configs(wanted, request_timeout=timeout).items():
        try:
            entries = future.result(timeout=timeout + 5)
        except KafkaException as exc:
            why = not_authorized(exc, resource.name, "DESCRIBE_CONFIGS")
            text = why or f"cannot read the configs of {resource.name}: {error_text(exc)}"
            raise FenceError(explained(bootstrap, text, admin)) from exc
        entry = entries.get(MAX_BYTES)
        own = entry is not None and entry.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
        result[resource.name] = int(entry.value) if own and entry is not None and entry.value else None
    return result


def set_max_bytes(bootstrap: str, values: dict[str, int | None], timeout: float = 10.0) -> None:
    """Set each topic's ``max.message.bytes`` (None removes the topic's own value: back to the default)."""
    resources = []
    for topic, value in values.items():
        if value is None:
            entry = ConfigEntry(MAX_BYTES, None, incremental_operation=AlterConfigOpType.DELETE)
        else:
            entry = ConfigEntry(MAX_BYTES, str(value), incremental_operation=AlterConfigOpType.SET)
        resources.append(ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[entry]))
    if not resources:
        return
    admin = _admin(bootstrap)  # kept alive until the answers arrive
    problems = _problems(admin.incremental_alter_configs(resources, request_timeout=timeout), timeout)
    if problems:
        raise FenceError(explained(bootstrap, f"cannot change {MAX_BYTES}: " + "; ".join(problems), admin))


def fenced_topics(bootstrap: str, method: str, topics: Iterable[str], timeout: float = 10.0) -> list[str]:
    """Which of ``topics`` still refuse writes by fence ``method`` (``reject-writes``: ``max.message.bytes``
    = 1), as the cluster says now. (An ACL fence is checked by its bindings:
    :func:`kdrtui.services.kafka.fence_acl.left`.)"""
    if method != "reject-writes":
        raise ValueError(f"fenced_topics reads the reject-writes fence, not {method!r}")
    wanted = list(topics)
    if not wanted:
        return []
    current = read_max_bytes(bootstrap, wanted, timeout)
    return [t for t in wanted if current.get(t) == REJECTING]


def open_transactions(bootstrap: str, topics: Iterable[str], timeout: float = 10.0) -> dict[str, int]:
    """``topic:partition`` -> records of a transaction still open (high watermark - last stable offset),
    for every partition of ``topics`` where one is.

    Why it matters to ``reject-writes``: with ``max.message.bytes = 1`` the brokers also refuse the
    transaction coordinator's commit/abort markers (they are appended like any batch and size-checked),
    and the coordinator then gives up on them: the transaction hangs, its partition's last stable offset
    stuck, until the coordinator reloads. So the fence waits for open transactions to end first.
    """
    from confluent_kafka import IsolationLevel, TopicPartition
    from confluent_kafka.admin import OffsetSpec

    wanted = list(topics)
    if not wanted:
        return {}
    admin = _admin(bootstrap)
    try:
        meta = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise FenceError(explained(bootstrap, f"cannot list topics: {error_text(exc)}", admin)) from exc
    partitions = [TopicPartition(t, p) for t in wanted if t in meta for p in meta[t].partitions]
    if not partitions:
        return {}

    def ends(level: IsolationLevel) -> dict[tuple[str, int], int]:
        futures = admin.list_offsets(
            {tp: OffsetSpec.latest() for tp in partitions}, isolation_level=level, request_timeout=timeout
        )
        found: dict[tuple[str, int], int] = {}
        for tp, future in futures.items():
            try:
                found[(tp.topic, tp.partition)] = future.result(timeout=timeout + 5).offset
            except KafkaException as exc:
                text = f"cannot read {tp.topic}:{tp.partition}: {error_text(exc)}"
                raise FenceError(explained(bootstrap, text, admin)) from exc
        return found

    high = ends(IsolationLevel.READ_UNCOMMITTED)
    stable = ends(IsolationLevel.READ_COMMITTED)
    return {
        f"{topic}:{partition}": high[(topic, partition)]
        - stable.get((topic, partition), high[(topic, partition)])
        for topic, partition in sorted(high)
        if stable.get((topic, partition), high[(topic, partition)]) < high[(topic, partition)]
    }
