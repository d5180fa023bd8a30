"""What the readiness check reads from each Kafka cluster (blocking; run in threads).

Two rounds per cluster, the clusters at once: first the metadata (every topic with its partitions'
replicas) and the brokers' ``broker.rack``; then, once the mirrored topics are known, their configuration
(one DescribeConfigs for all of them) and, when asked for, whether the brokers have an authorizer and
their ACL bindings (as the ``acl`` fence reads them, :mod:`kdrtui.services.kafka.fence_acl`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from typing import Any

from kdrtui.domain.mirrormaker_render import MM2_TOPICS_EXCLUDE_DEFAULT
from kdrtui.domain.plan import MirrorFlow, MirrorMakerKind
from kdrtui.domain.readiness import ClusterFacts, MirrorPair, TopicFacts
from kdrtui.services.kafka.topics import flow_covers, flow_mirrors
from kdrtui.services.runbook.flows import target_name


def _one_line(exc: BaseException) -> str:
    error = exc.args[0] if exc.args else None
    describe = getattr(error, "str", None)
    text = describe() if callable(describe) else str(exc)
    return " ".join((text or type(exc).__name__).split())


def _admin(bootstrap: str) -> Any:
    from confluent_kafka.admin import AdminClient

    from kdrtui.services.kafka.config import client_config

    return AdminClient(client_config(bootstrap))


def read_metadata(alias: str, bootstrap: str, timeout: float) -> tuple[ClusterFacts, Any]:
    """The cluster's topics (replicas of every partition) and its brokers' racks, and the client used (for
    the second round); a cluster that does not answer is ``ClusterFacts(error=...)``."""
    from kdrtui.services.kafka.failures import serve
    from kdrtui.services.kafka.security import explain

    admin = None
    try:
        admin = _admin(bootstrap)
        md = admin.list_topics(timeout=timeout)
        if not md.brokers:
            return ClusterFacts(alias, error="no brokers in its metadata"), None
    except Exception as exc:  # a dead cluster surfaces as KafkaException or a timeout
        why = _one_line(exc)
        if admin is not None:
            serve(admin)
            why = explain(bootstrap, why)
        return ClusterFacts(alias, error=why.removeprefix(f"{alias}: ")), None
    topics = {
        name: TopicFacts(
            name,
            tuple(tuple(p.replicas or ()) for _, p in sorted(topic.partitions.items())),
        )
        for name, topic in md.topics.items()
    }
    facts = ClusterFacts(alias, topics=topics, all_topics=frozenset(md.topics))
    try:
        nodes = admin.describe_cluster(request_timeout=timeout).result(timeout=timeout + 1).nodes
    except Exception as exc:  # the topics answered: only the racks are unknown
        return replace(facts, racks_error=_one_line(exc)), admin
    return replace(facts, racks={int(node.id): (node.rack or None) for node in nodes}), admin


def mirrored(flow: MirrorFlow, topic: str) -> bool:
    """Whether MirrorMaker mirrors ``topic`` for ``flow``: the flow's patterns, and MirrorMaker 2's own
    exclusions (its internal topics), which the rendered config keeps."""
    if not flow_mirrors(flow, topic):
        return False
    if flow.mirrormaker == MirrorMakerKind.MM2:
        return flow_covers(topic, flow.topics, [*MM2_TOPICS_EXCLUDE_DEFAULT, *flow.topics_exclude])
    return True


def pairs_of(flows: list[MirrorFlow], clusters: dict[str, ClusterFacts]) -> list[MirrorPair]:
    """Every mirrored topic of a source that answered, with its mirror's name on the target."""
    pairs = []
    for flow in flows:
        source = clusters.get(flow.source)
        if source is None or not source.answered:
            continue
        for topic in sorted(source.all_topics):
            if mirrored(flow, topic):
                pairs.append(MirrorPair(flow.name, flow.source, flow.target, topic, target_name(flow, topic)))
    return pairs


def read_configs(
    facts: ClusterFacts, admin: Any, bootstrap: str, names: Collection[str], timeout: float
) -> ClusterFacts:
    """``facts`` with its topics narrowed to ``names`` (those that exist) and their configuration read
    (one DescribeConfigs); a topic whose read failed keeps ``configs=None`` and says why."""
    from confluent_kafka.admin import ConfigResource, ResourceType

    from kdrtui.services.kafka.failures import serve

    kept = {n: facts.topics[n] for n in sorted(names) if n in facts.topics}
    if not kept:
        return replace(facts, topics={})
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in kept]
    try:
        futures = admin.describe_configs(resources, request_timeout=timeout)
    except Exception as exc:
        why = f"cannot describe the topics' configs: {_one_line(exc)}"
        return replace(facts, topics={n: replace(t, configs_error=why) for n, t in kept.items()})
    read: dict[str, TopicFacts] = {}
    for resource, future in futures.items():
        topic = kept[resource.name]
        try:
            entries = future.result(timeout=timeout + 1)
        except Exception as exc:
            read[resource.name] = replace(topic, configs_error=_one_line(exc))
            continue
        configs = {key: entry.value for key, entry in entries.items() if entry.value is not None}
        read[resource.name] = replace(topic, configs=configs)
    serve(admin)
    return replace(facts, topics={**kept, **read})


def read_access(
    facts: ClusterFacts, admin: Any, bootstrap: str, timeout: float, security: Any = None
) -> ClusterFacts:
    """``facts`` with whether the brokers have an authorizer (asked as the ``acl`` fence asks: deleting a
    binding nobody has) and, when they do, every ACL binding; kdrtui's and MirrorMaker's principals there
    (from the cluster's ``security`` in the plan) as the fence names them."""
    from confluent_kafka import KafkaError, KafkaException

    from kdrtui.services.kafka import fence_acl
    from kdrtui.services.kafka.fence import FenceError

    try:
        own = fence_acl.exempt_principals(security)
        facts = replace(facts, own_principals=frozenset(own["kdrtui"] | own["mirrormaker"]))
    except FenceError:  # the plan's client certificate unreadable: nobody is left out
        pass

    try:
        fence_acl.may_change(admin, bootstrap, timeout)
        authorizer = True
    except fence_acl.NoAuthorizer:
        return replace(facts, authorizer=False)
    except FenceError as exc:
        cause = exc.__cause__
        code = fence_acl._code(cause) if isinstance(cause, KafkaException) else None
        if code != KafkaError.CLUSTER_AUTHORIZATION_FAILED:  # not refused: no answer at all
            return replace(facts, authorizer_error=str(exc).removeprefix(f"{bootstrap}: "))
        authorizer = True  # it refused kdrtui ALTER: there is an authorizer
    try:
        acls = tuple(fence_acl.read_acls(admin, bootstrap, timeout))
    except FenceError as exc:
        return replace(facts, authorizer=authorizer, acls_error=str(exc).removeprefix(f"{bootstrap}: "))
    return replace(facts, authorizer=authorizer, acls=acls)
