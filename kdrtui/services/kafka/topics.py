"""Topic housekeeping that MirrorMaker 1 needs: it copies records but never creates topics.

MirrorMaker 2 creates its target topics itself; MirrorMaker 1's producer only writes, and HDInsight (like
the lab) runs with ``auto.create.topics.enable=false``. So before MM1 starts, kdrtui creates on the target
every source topic the flow covers, with the source's partition count.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from kdrtui.domain.plan import MirrorFlow, Naming
from kdrtui.services.kafka.config import client_config

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient, NewTopic


def flow_covers(topic: str, include: Iterable[str], exclude: Iterable[str]) -> bool:
    """Whether a flow's include/exclude regexes select ``topic`` (whole-name matches, as MirrorMaker does)."""
    if topic.startswith("__"):
        return False
    if any(re.fullmatch(pattern, topic) for pattern in exclude):
        return False
    return any(re.fullmatch(pattern, topic) for pattern in include)


def flow_mirrors(flow: MirrorFlow, topic: str) -> bool:
    """Whether MirrorMaker mirrors the source topic ``topic`` for ``flow``: its regexes select it and, with
    prefixed names, it is not itself a copy from the flow's target (``dr.orders`` on primary never goes
    back to dr: MirrorMaker 2's default policy refuses the cycle)."""
    if flow.naming == Naming.PREFIXED and topic.startswith(f"{flow.target}."):
        return False
    return flow_covers(topic, flow.topics, flow.topics_exclude)


def ensure_target_topics(
    source_bootstrap: str,
    target_bootstrap: str,
    include: Iterable[str],
    exclude: Iterable[str],
    *,
    replication_factor: int,
    timeout: float = 15.0,
) -> list[str]:
    """Create on the target the covered source topics it lacks; returns the names created. Blocking."""
    from confluent_kafka.admin import AdminClient, NewTopic

    include, exclude = list(include), list(exclude)
    source = AdminClient(client_config(source_bootstrap))
    target = AdminClient(client_config(target_bootstrap))
    wanted = {
        name: len(meta.partitions)
        for name, meta in source.list_topics(timeout=timeout).topics.items()
        if flow_covers(name, include, exclude)
    }
    present = set(target.list_topics(timeout=timeout).topics)
    missing = [
        NewTopic(name, num_partitions=n, replication_factor=replication_factor)
        for name, n in sorted(wanted.items())
        if name not in present
    ]
    return _create_topics(target, missing, timeout)


def ensure_local_topics(
    bootstrap: str,
    prefix: str,
    include: Iterable[str],
    exclude: Iterable[str],
    *,
    replication_factor: int,
    timeout: float = 15.0,
    alive: Collection[str] | None = None,
) -> list[str]:
    """For every mirrored ``<prefix>T`` on a cluster, create ``T`` there (same partition count) when
    missing: after a failover with prefixed names, producers write ``T`` on the new primary. Blocking.

    ``alive``: the topics the source has now, when it answers — a topic deleted on the source (its mirror
    is only history) is not created again. None: the source cannot be asked; every mirror counts.
    """
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(client_config(bootstrap))
    topics = admin.list_topics(timeout=timeout).topics
    include, exclude = list(include), list(exclude)
    missing = [
        NewTopic(
            name[len(prefix) :], num_partitions=len(meta.partitions), replication_factor=replication_factor
        )
        for name, meta in sorted(topics.items())
        if name.startswith(prefix)
        and flow_covers(name[len(prefix) :], include, exclude)
        and name[len(prefix) :] not in topics
        and (alive is None or name[len(prefix) :] in alive)
    ]
    return _create_topics(admin, missing, timeout)


def _create_topics(admin: AdminClient, topics: list[NewTopic], timeout: float) -> list[str]:
    """Create ``topics``; returns the names created (one that appeared meanwhile is not an error)."""
    if not topics:
        return []
    created = []
    for name, future in admin.create_topics(topics, request_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
            created.append(name)
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    return created
