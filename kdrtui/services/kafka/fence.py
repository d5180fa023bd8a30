"""Fencing a cluster's topics against writes, and undoing it (blocking; run in a thread).

- ``min-isr``: ``min.insync.replicas`` raised above the topic's replication factor, so every ``acks=all``
  write fails with NOT_ENOUGH_REPLICAS (producers with acks=0/1 are NOT stopped: say so to operators).
- ``acls``: a DENY WRITE ACL for ``User:*`` on each topic; needs an authorizer on the brokers.
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
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

MIN_ISR = "min.insync.replicas"


class FenceError(RuntimeError):
    """A fence could not be put up or taken down; the message says where and why."""


def _error_text(exc: BaseException) -> str:
    error = exc.args[0] if exc.args else None
    return error.str() if isinstance(error, KafkaError) else str(exc) or type(exc).__name__


def _admin(bootstrap: str) -> AdminClient:
    return AdminClient(client_config(bootstrap))


def replication_factors(bootstrap: str, topics: Iterable[str], timeout: float = 10.0) -> dict[str, int]:
    """Replication factor of each topic that exists (from partition 0's replica list)."""
    try:
        metadata = _admin(bootstrap).list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise FenceError(f"{bootstrap}: cannot list topics: {_error_text(exc)}") from exc
    found: dict[str, int] = {}
    for topic in topics:
        meta = metadata.get(topic)
        if meta is not None and meta.error is None and meta.partitions:
            found[topic] = max(len(p.replicas) for p in meta.partitions.values())
    return found


def read_min_isr(bootstrap: str, topics: Iterable[str], timeout: float = 10.0) -> dict[str, int | None]:
    """Each topic's own ``min.insync.replicas``, or None where it inherits the broker's default."""
    wanted = [ConfigResource(ResourceType.TOPIC, t) for t in topics]
    if not wanted:
        return {}
    result: dict[str, int | None] = {}
    for resource, future in _admin(bootstrap).describe_configs(wanted, request_timeout=timeout).items():
        try:
            entries = future.result(timeout=timeout + 5)
        except KafkaException as exc:
            raise FenceError(
                f"{bootstrap}: cannot read the configs of {resource.name}: {_error_text(exc)}"
            ) from exc
        entry = entries.get(MIN_ISR)
        own = entry is not None and entry.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
        result[resource.name] = int(entry.value) if own and entry is not None and entry.value else None
    return result


def set_min_isr(bootstrap: str, values: dict[str, int | None], timeout: float = 10.0) -> None:
    """Set each topic's ``min.insync.replicas`` (None removes the topic's own value: back to the default)."""
    resources = []
    for topic, value in values.items():
        if value is None:
            entry = ConfigEntry(MIN_ISR, None, incremental_operation=AlterConfigOpType.DELETE)
        else:
            entry = ConfigEntry(MIN_ISR, str(value), incremental_operation=AlterConfigOpType.SET)
        resources.append(ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[entry]))
    if not resources:
        return
    problems = []
    for resource, future in (
        _admin(bootstrap).incremental_alter_configs(resources, request_timeout=timeout).items()
    ):
        try:
            future.result(timeout=timeout + 5)
        except KafkaException as exc:
            problems.append(f"{resource.name}: {_error_text(exc)}")
    if problems:
        raise FenceError(f"{bootstrap}: cannot change {MIN_ISR}: " + "; ".join(problems))


def _deny(topic: str) -> AclBinding:
    return AclBinding(
        ResourceType.TOPIC,
        topic,
        ResourcePatternType.LITERAL,
        "User:*",
        "*",
        AclOperation.WRITE,
        AclPermissionType.DENY,
    )


def deny_writes(bootstrap: str, topics: Iterable[str], timeout: float = 10.0) -> None:
    """A DENY WRITE ACL for everyone on each topic (an authorizer must be configured)."""
    bindings = [_deny(t) for t in topics]
    if not bindings:
        return
    problems = []
    for binding, future in _admin(bootstrap).create_acls(bindings, request_timeout=timeout).items():
        try:
            future.result(timeout=timeout + 5)
        except KafkaException as exc:
            problems.append(f"{binding.name}: {_error_text(exc)}")
    if problems:
        hint = (
            ' (no authorizer on the brokers? use fence = "min-isr")'
            if any("SECURITY_DISABLED" in p or "ecurity" in p for p in problems)
            else ""
        )
        raise FenceError(f"{bootstrap}: cannot create deny-write ACLs{hint}: " + "; ".join(problems[:5]))


def allow_writes(bootstrap: str, topics: Iterable[str], timeout: float = 10.0) -> None:
    """Remove the DENY WRITE ACLs :func:`deny_writes` created."""
    filters = [
        AclBindingFilter(
            ResourceType.TOPIC,
            t,
            ResourcePatternType.LITERAL,
            "User:*",
            "*",
            AclOperation.WRITE,
            AclPermissionType.DENY,
        )
        for t in topics
    ]
    if not filters:
        return
    problems = []
    for binding, future in _admin(bootstrap).delete_acls(filters, request_timeout=timeout).items():
        try:
            future.result(timeout=timeout + 5)
        except KafkaException as exc:
            problems.append(f"{binding.name}: {_error_text(exc)}")
    if problems:
        raise FenceError(f"{bootstrap}: cannot delete the deny-write ACLs: " + "; ".join(problems[:5]))
