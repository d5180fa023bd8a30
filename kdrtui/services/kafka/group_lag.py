"""Consumer groups a flow covers: their committed offsets on the source, and what failing them over now
would re-deliver or skip (against MirrorMaker 2's latest checkpoints on the target)."""

from __future__ import annotations

import re

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException
from confluent_kafka.admin import AdminClient

from kdrtui.domain.lag import GroupLag
from kdrtui.domain.mirrormaker_render import MM2_GROUPS_EXCLUDE_DEFAULT, mm1_group_id
from kdrtui.domain.plan import MirrorFlow, MirrorMakerKind, Naming
from kdrtui.services.kafka.internal_topics import Checkpoint, OffsetSync

TP = tuple[str, int]
"""(topic, partition)."""

OWN_GROUPS = re.compile(r"(check-|kdrtui-|mm2-|MirrorMaker|connect-|console-consumer-|__).*")
"""Groups that are tools' or MirrorMaker's own, never an application's."""


def target_topic_name(flow: MirrorFlow, topic: str) -> str:
    """The name ``topic`` gets on the flow's target."""
    return f"{flow.source}.{topic}" if flow.naming == Naming.PREFIXED else topic


def committed_offsets(
    admin: AdminClient, flows: list[MirrorFlow], timeout: float
) -> dict[str, dict[TP, int]]:
    """group -> (topic, partition) -> committed offset on one source cluster, for the application groups
    (when an MM2 flow reads it) and the MM1 flows' own groups. One call per group, all at once.

    Raises:
        KafkaException: the groups cannot be listed.
    """
    names = {mm1_group_id(f) for f in flows if f.mirrormaker == MirrorMakerKind.MM1}
    if any(f.mirrormaker == MirrorMakerKind.MM2 for f in flows):
        listing = admin.list_consumer_groups(request_timeout=timeout).result()
        names.update(g.group_id for g in listing.valid if not OWN_GROUPS.fullmatch(g.group_id))
    futures = {
        name: admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(name)], request_timeout=timeout
        )[name]
        for name in sorted(names)
    }
    committed: dict[str, dict[TP, int]] = {}
    for name, future in futures.items():
        try:
            answer = future.result()
        except KafkaException:
            continue  # a group deleted meanwhile; the others still count
        offsets = {(tp.topic, tp.partition): tp.offset for tp in answer.topic_partitions if tp.offset >= 0}
        if offsets or name.startswith("kdrtui-mm1-"):
            committed[name] = offsets
    return committed


def mm1_alive(admin: AdminClient, flow: MirrorFlow, timeout: float) -> bool:
    """Whether MirrorMaker 1 of ``flow`` runs: its consumer group on the source has members."""
    group = mm1_group_id(flow)
    try:
        described = admin.describe_consumer_groups([group], request_timeout=timeout)[group].result()
    except KafkaException:
        return False
    return bool(described.members)


def group_lags(
    flow: MirrorFlow,
    checkpoints_of: dict[tuple[str, str, int], tuple[int, float]],
    committed: dict[str, dict[TP, int]],
    replicated_of: dict[TP, int],
    now: float,
    checkpoint_records: dict[tuple[str, str, int], Checkpoint] | None = None,
    syncs: dict[TP, list[OffsetSync]] | None = None,
) -> tuple[GroupLag, ...]:
    """Per group the flow covers and topic: committed on the source, the latest checkpoints
    (``checkpoints_of``: (group, target topic, partition) -> (upstream offset, epoch s)), what a failover
    now re-delivers — the translate step's own computation (:func:`~kdrtui.services.kafka.translate.
    plan_partition`) over the whole checkpoints and every offset sync, so this forecast is the figure the
    failover reports — and what it skips (checkpointed beyond what was replicated)."""
    from kdrtui.services.kafka.translate import plan_partition

    # Checkpoints are keyed by the TARGET topic name: index them once by (group, source topic).
    source_of = {target_topic_name(flow, t): t for t, _ in replicated_of}
    checkpoints: dict[tuple[str, str], dict[int, tuple[int, float]]] = {}
    for (group, target_topic, p), value in checkpoints_of.items():
        topic = source_of.get(target_topic)
        if topic is not None:
            checkpoints.setdefault((group, topic), {})[p] = value
    lags: list[GroupLag] = []
    for group, offsets in committed.items():
        if group.startswith("kdrtui-mm1-"):
            continue
        if not any(re.fullmatch(p, group) for p in flow.groups) or any(
            re.fullmatch(p, group) for p in (*MM2_GROUPS_EXCLUDE_DEFAULT, *flow.groups_exclude)
        ):
            continue
        by_topic: dict[str, dict[int, int]] = {}
        for (topic, p), offset in offsets.items():
            if (topic, p) in replicated_of:
                by_topic.setdefault(topic, {})[p] = offset
        for topic, parts in sorted(by_topic.items()):
            checks = checkpoints.get((group, topic), {})
            redeliver = skip = 0
            for p, offset in parts.items():
                checked = checks.get(p)
                upstream = checked[0] if checked is not None else 0
                whole = (checkpoint_records or {}).get((group, target_topic_name(flow, topic), p))
                planned = plan_partition(offset, whole, (syncs or {}).get((topic, p), []))
                redeliver += planned[1] if planned is not None else 0
                skip += max(0, upstream - replicated_of.get((topic, p), 0))
            lags.append(
                GroupLag(
                    group=group,
                    topic=topic,
                    committed=sum(parts.values()),
                    checkpointed=sum(c[0] for c in checks.values()) if checks else None,
                    checkpoint_age_s=max(0.0, now - max(c[1] for c in checks.values())) if checks else None,
                    redeliver=redeliver,
                    skip=skip,
                )
            )
    return tuple(lags)
