"""The ACLs of a secured lab: what its ``app`` and ``mirrormaker`` users may do.

The lab's brokers run ``StandardAuthorizer`` with ``allow.everyone.if.no.acl.found=false``, so a principal
with no ACL is refused everything, as on a hardened cluster. ``admin`` (kdrtui's user) is a super user.
``app`` is an application: it reads and writes every topic, uses every group and transactional id.
``mirrormaker`` gets what MirrorMaker 2 and 1 need on either side: read and describe the source topics and
their configs, create, write and alter the target topics (and its own internal topics), use its groups,
and describe the cluster (MirrorMaker reads the source's ACLs to mirror them).
"""

from __future__ import annotations

from typing import Any

LAB_ACLS: tuple[tuple[str, str, str, str], ...] = (
    # (principal, resource type, operation, name): "*" is every resource of that type; librdkafka calls
    # the cluster resource (Kafka's CLUSTER, named kafka-cluster) BROKER.
    ("User:app", "TOPIC", "READ", "*"),
    ("User:app", "TOPIC", "WRITE", "*"),
    ("User:app", "TOPIC", "DESCRIBE", "*"),
    ("User:app", "TOPIC", "CREATE", "*"),
    ("User:app", "GROUP", "READ", "*"),
    ("User:app", "GROUP", "DESCRIBE", "*"),
    ("User:app", "TRANSACTIONAL_ID", "WRITE", "*"),
    ("User:app", "TRANSACTIONAL_ID", "DESCRIBE", "*"),
    ("User:mirrormaker", "TOPIC", "ALL", "*"),
    ("User:mirrormaker", "GROUP", "ALL", "*"),
    ("User:mirrormaker", "TRANSACTIONAL_ID", "ALL", "*"),
    ("User:mirrormaker", "BROKER", "DESCRIBE", "kafka-cluster"),
    ("User:mirrormaker", "BROKER", "DESCRIBE_CONFIGS", "kafka-cluster"),
    ("User:mirrormaker", "BROKER", "CREATE", "kafka-cluster"),
)
"""(principal, resource type, operation, resource name) of each ALLOW the lab creates."""


def lab_bindings() -> list[Any]:
    """:data:`LAB_ACLS` as confluent-kafka ``AclBinding`` objects (literal patterns, any host)."""
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )

    return [
        AclBinding(
            ResourceType[kind],
            name,
            ResourcePatternType.LITERAL,
            principal,
            "*",
            AclOperation[operation],
            AclPermissionType.ALLOW,
        )
        for principal, kind, operation, name in LAB_ACLS
    ]


def grant_lab_acls(admin_config: dict[str, Any], timeout: float = 15.0) -> None:
    """Create the lab's ACLs on one cluster (as its admin). Idempotent: Kafka keeps one copy of a binding.

    Raises:
        RuntimeError: the brokers refused or did not answer (one line naming the first failure).
    """
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(admin_config)
    futures = admin.create_acls(lab_bindings(), request_timeout=timeout)
    for binding, future in futures.items():
        try:
            future.result(timeout=timeout + 5)
        except Exception as exc:  # KafkaException or a timeout: name the binding that failed
            raise RuntimeError(f"cannot create the lab ACL {binding}: {exc}") from exc
