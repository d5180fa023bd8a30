"""Fencing a cluster's topics against writes, and undoing it (blocking; run in a thread).

- ``reject-writes``: the topic's ``max.message.bytes`` set to 1, so the brokers refuse every produce request
  (MESSAGE_TOO_LARGE), whatever its acks; replication between brokers is not affected. Raising
  ``min.insync.replicas`` above the replication factor does NOT fence: brokers cap the effective value at
  the replica count (``Partition.effectiveMinIsr``), so acks=all writes still succeed.
- ``acls``: a DENY WRITE ACL for ``User:*`` on each topic; needs an authorizer on the brokers.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    ResourcePatternType,
    ResourceType,
)

from kdrtui.services.kafka.config import client_config
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
            problems.append(f"{request.name}: {error_text(exc)}")
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
            raise FenceError(
                f"{bootstrap}: cannot read the configs of {resource.name}: {error_text(exc)}"
            ) from exc
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
        raise FenceError(f"{bootstrap}: cannot change {MAX_BYTES}: " + "; ".join(problems))


_DENY_WRITES = (ResourcePatternType.LITERAL, "User:*", "*", AclOperation.WRITE, AclPermissionType.DENY)
"""What a deny-write ACL says after its topic: literal name, every principal and host, WRITE, DENY."""


def _deny(topic: str) -> AclBinding:
    return AclBinding(ResourceType.TOPIC, topic, *_DENY_WRITES)


def deny_writes(bootstrap: str, topics: Iterable[str], timeout: float = 10.0) -> None:
    """A DENY WRITE ACL for everyone on each topic (an authorizer must be configured)."""
    bindings = [_deny(t) for t in topics]
    if not bindings:
        return
    admin = _admin(bootstrap)  # kept alive until the answers arrive
    problems = _problems(admin.create_acls(bindings, request_timeout=timeout), timeout)
    if problems:
        hint = (
            ' (no authorizer on the brokers? use fence = "reject-writes")'
            if any("SECURITY_DISABLED" in p or "ecurity" in p for p in problems)
            else ""
        )
        raise FenceError(f"{bootstrap}: cannot create deny-write ACLs{hint}: " + "; ".join(problems[:5]))


def allow_writes(bootstrap: str, topics: Iterable[str], timeout: float = 10.0) -> None:
    """Remove the DENY WRITE ACLs :func:`deny_writes` created."""
    filters = [AclBindingFilter(ResourceType.TOPIC, t, *_DENY_WRITES) for t in topics]
    if not filters:
        return
    admin = _admin(bootstrap)  # kept alive until the answers arrive
    problems = _problems(admin.delete_acls(filters, request_timeout=timeout), timeout)
    if problems:
        raise FenceError(f"{bootstrap}: cannot delete the deny-write ACLs: " + "; ".join(problems[:5]))


def fenced_topics(bootstrap: str, method: str, topics: Iterable[str], timeout: float = 10.0) -> list[str]:
    """Which of ``topics`` still refuse writes by fence ``method`` (``reject-writes`` or ``acls``), as the
    cluster says now."""
    wanted = list(topics)
    if not wanted:
        return []
    if method == "acls":
        admin = _admin(bootstrap)
        # name None matches every topic (librdkafka's filter semantics; the stubs only know str)
        filters = AclBindingFilter(ResourceType.TOPIC, None, *_DENY_WRITES)  # type: ignore[arg-type]
        try:
            bindings = admin.describe_acls(filters, request_timeout=timeout).result(timeout=timeout + 5)
        except KafkaException as exc:
            raise FenceError(f"{bootstrap}: cannot read the ACLs: {error_text(exc)}") from exc
        denied = {binding.name for binding in bindings}
        return [t for t in wanted if t in denied]
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
        raise FenceError(f"{bootstrap}: cannot list topics: {error_text(exc)}") from exc
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
                raise FenceError(
                    f"{bootstrap}: cannot read {tp.topic}:{tp.partition}: {error_text(exc)}"
                ) from exc
        return found

    high = ends(IsolationLevel.READ_UNCOMMITTED)
    stable = ends(IsolationLevel.READ_COMMITTED)
    return {
        f"{topic}:{partition}": high[(topic, partition)]
        - stable.get((topic, partition), high[(topic, partition)])
        for topic, partition in sorted(high)
        if stable.get((topic, partition), high[(topic, partition)]) < high[(topic, partition)]
    }
