"""The readiness rules (pure): :class:`~kdrtui.domain.readiness.Observations` in,
:class:`~kdrtui.domain.readiness.Finding` s out.

Every rule looks only at what was observed: a cluster that did not answer, or a value that could not be
read, gives an ``info`` "not checked" finding, never a silent pass.
"""

from __future__ import annotations

from collections.abc import Mapping

from kdrtui.domain.readiness import (
    ClusterFacts,
    Finding,
    MirrorPair,
    Observations,
    Severity,
    TopicFacts,
    ordered,
)
from kdrtui.domain.readiness_operations import MIN_REPLICATION, acl_parity, checkpoints, mirrormaker, usable

BLOCKING, WARNING, INFO = Severity.BLOCKING, Severity.WARNING, Severity.INFO

MIN_ISR = 2
"""``min.insync.replicas`` an ``acks=all`` write needs, at least."""
PARITY_CONFIGS = (
    "cleanup.policy",
    "retention.ms",
    "retention.bytes",
    "max.message.bytes",
    "min.compaction.lag.ms",
    "max.compaction.lag.ms",
    "min.cleanable.dirty.ratio",
    "delete.retention.ms",
)
"""Topic settings that must match between a source topic and its mirror: how long records stay, whether
keys are compacted, how large a record may be."""
SAMPLE = 3
"""Partitions a finding names; the rest are counted."""


def evaluate(seen: Observations) -> list[Finding]:
    """Every finding, worst first."""
    findings = [*seen.notes]
    findings += reachability(seen.clusters)
    findings += replication(seen)
    findings += racks(seen)
    findings += parity(seen)
    findings += acl_parity(seen)
    for mm in seen.mirrormakers:
        findings += mirrormaker(mm)
    for flow in seen.checkpoints:
        findings += checkpoints(flow, seen.rpo_seconds)
    for item in seen.usable:
        findings += usable(item)
    return ordered(findings)


def _sample(items: list[str]) -> str:
    shown = ", ".join(items[:SAMPLE])
    return shown + (f" and {len(items) - SAMPLE} more" if len(items) > SAMPLE else "")


# --- the clusters answer --------------------------------------------------------------------------------


def reachability(clusters: Mapping[str, ClusterFacts]) -> list[Finding]:
    """A cluster that does not answer is blocking; everything about it is then "not checked"."""
    findings = []
    for alias, facts in clusters.items():
        if facts.answered:
            continue
        findings.append(
            Finding(
                BLOCKING,
                "reachable",
                f"{alias} does not answer: {facts.error}",
                alias,
                "bring the cluster (or the network path to it) back; a failover needs both ends to "
                "prepare it",
            )
        )
        findings.append(
            Finding(
                INFO,
                "reachable",
                f"not checked on {alias} (it did not answer): replication, min ISR, racks, parity, ACLs",
                alias,
                "",
            )
        )
    return findings


# --- replication factor and min.insync.replicas ---------------------------------------------------------


def _mirrored_topics(seen: Observations) -> dict[tuple[str, str], TopicFacts]:
    """(cluster, topic) -> facts of every mirrored source topic and every mirror that exists."""
    found: dict[tuple[str, str], TopicFacts] = {}
    for pair in seen.pairs:
        for alias, name in ((pair.source, pair.topic), (pair.target, pair.mirror)):
            facts = seen.clusters.get(alias)
            topic = facts.topics.get(name) if facts is not None and facts.answered else None
            if topic is not None:
                found[(alias, name)] = topic
    return found


def replication(seen: Observations) -> list[Finding]:
    """RF ≥ 3 and ``min.insync.replicas`` ≥ 2 (and ≤ RF) on every mirrored topic and mirror."""
    findings = []
    for (alias, name), topic in sorted(_mirrored_topics(seen).items()):
        where = f"{alias}: {name}"
        rf = topic.replication_factor
        if rf < MIN_REPLICATION:
            one = rf <= 1
            findings.append(
                Finding(
                    BLOCKING if one else WARNING,
                    "replication",
                    f"replication factor {rf} (< {MIN_REPLICATION}): "
                    + (
                        "the loss of one broker takes its partitions offline and can lose their records"
                        if one
                        else "a second broker lost takes partitions offline"
                    ),
                    where,
                    f"raise it to {MIN_REPLICATION} (kafka-reassign-partitions.sh with a replica per fault "
                    "domain)",
                )
            )
        if topic.configs is None:
            findings.append(
                Finding(
                    INFO,
                    "min-isr",
                    f"min.insync.replicas not checked: {topic.configs_error or 'configuration unreadable'}",
                    where,
                    "",
                )
            )
            continue
        try:
            min_isr = int(topic.configs.get("min.insync.replicas", "1"))
        except ValueError:
            continue
        if min_isr > rf:
            findings.append(
                Finding(
                    BLOCKING,
                    "min-isr",
                    f"min.insync.replicas {min_isr} > replication factor {rf}: every acks=all write is "
                    "refused (NOT_ENOUGH_REPLICAS)",
                    where,
                    f"set min.insync.replicas to {max(1, rf - 1)} or raise the replication factor",
                )
            )
        elif rf >= 2 and min_isr < MIN_ISR:
            findings.append(
                Finding(
                    WARNING,
                    "min-isr",
                    f"min.insync.replicas {min_isr}: an acks=all write is acknowledged with a single copy, "
                    "which one broker's loss destroys",
                    where,
                    f"kafka-configs.sh --alter --add-config min.insync.replicas={MIN_ISR} on the topic",
                )
            )
        elif rf >= 2 and min_isr == rf:
            findings.append(
                Finding(
                    WARNING,
                    "min-isr",
                    f"min.insync.replicas {min_isr} = replication factor: one broker down stops every "
                    "acks=all write",
                    where,
                    f"set min.insync.replicas to {rf - 1} or raise the replication factor to {rf + 1}",
                )
            )
    return findings


# --- fault domains -------------------------------------------------------------------------------------


def racks(seen: Observations) -> list[Finding]:
    """On a cluster with ``broker.rack``: no partition of a mirrored topic has every replica on one rack."""
    findings = []
    mirrored = _mirrored_topics(seen)
    for alias, facts in sorted(seen.clusters.items()):
        if not facts.answered:
            continue
        if facts.racks_error is not None:
            findings.append(
                Finding(INFO, "racks", f"fault-domain spread not checked: {facts.racks_error}", alias, "")
            )
            continue
        if not any(facts.racks.values()):
            if any(a == alias for a, _ in mirrored):
                findings.append(
                    Finding(
                        INFO,
                        "racks",
                        "no broker sets broker.rack: whether replicas span fault domains is not checked",
                        alias,
                        "set broker.rack to each broker's fault domain (HDInsight: run its rack-awareness "
                        "rebalance tool)",
                    )
                )
            continue
        for (where_alias, name), topic in sorted(mirrored.items()):
            if where_alias != alias:
                continue
            together = []
            for number, replicas in enumerate(topic.replicas):
                if len(replicas) < 2 or any(b not in facts.racks for b in replicas):
                    continue  # one replica is the RF finding's; a broker not seen: its rack is unknown
                if len({facts.racks[b] for b in replicas}) == 1:
                    together.append(f"{number} (rack {facts.racks[replicas[0]] or 'unset'})")
            if together:
                findings.append(
                    Finding(
                        WARNING,
                        "racks",
                        f"{len(together)} partition(s) with every replica in one fault domain: "
                        f"{_sample(together)}; losing that rack takes them offline",
                        f"{alias}: {name}",
                        "reassign their replicas across racks (kafka-reassign-partitions.sh, rack-aware)",
                    )
                )
    return findings


# --- source and mirror in parity ----------------------------------------------------------------------


def _number(value: str | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def parity(seen: Observations) -> list[Finding]:
    """Every source topic has a mirror with as many partitions and the same retention, cleanup policy,
    compaction and record size."""
    findings = []
    unchecked: dict[str, int] = {}
    for pair in seen.pairs:
        target = seen.clusters.get(pair.target)
        source_topic = seen.clusters[pair.source].topics.get(pair.topic)
        if target is None or not target.answered:
            unchecked[pair.target] = unchecked.get(pair.target, 0) + 1
            continue
        if source_topic is None:
            continue
        where = f"{pair.target}: {pair.mirror}"
        mirror = target.topics.get(pair.mirror)
        if mirror is None:
            findings.append(
                Finding(
                    BLOCKING,
                    "mirror",
                    f"no mirror of {pair.source}: {pair.topic} ({pair.flow}): consumers failed over find no "
                    "topic and its records are not on the DR side",
                    where,
                    "start MirrorMaker (kdrtui mm start) or check the flow's topics/topics_exclude; "
                    "MirrorMaker 1 needs the topic created",
                )
            )
            continue
        if mirror.partitions < source_topic.partitions:
            findings.append(
                Finding(
                    BLOCKING,
                    "parity",
                    f"{mirror.partitions} partition(s), {pair.source}: {pair.topic} has "
                    f"{source_topic.partitions}: records of partitions "
                    f"{mirror.partitions}..{source_topic.partitions - 1} have nowhere to go",
                    where,
                    f"kafka-topics.sh --alter --partitions {source_topic.partitions} on the mirror",
                )
            )
        elif mirror.partitions > source_topic.partitions:
            findings.append(
                Finding(
                    WARNING,
                    "parity",
                    f"{mirror.partitions} partitions, {pair.source}: {pair.topic} has "
                    f"{source_topic.partitions}: after a failover keys land in other partitions than "
                    "before",
                    where,
                    f"add partitions to {pair.source}: {pair.topic} to match, or recreate the mirror",
                )
            )
        findings += _config_parity(pair, source_topic, mirror)
    for alias, count in sorted(unchecked.items()):
        findings.append(
            Finding(INFO, "parity", f"{count} mirror(s) not checked: {alias} did not answer", alias, "")
        )
    return findings


def _config_parity(pair: MirrorPair, source: TopicFacts, mirror: TopicFacts) -> list[Finding]:
    where = f"{pair.target}: {pair.mirror}"
    if source.configs is None or mirror.configs is None:
        why = source.configs_error if source.configs is None else mirror.configs_error
        return [Finding(INFO, "parity", f"topic configs not compared: {why or 'unreadable'}", where, "")]
    findings = []
    drift = [
        f"{key} {mirror.configs.get(key)} (source {source.configs.get(key)})"
        for key in PARITY_CONFIGS
        if source.configs.get(key) != mirror.configs.get(key)
    ]
    smaller = _number(mirror.configs.get("max.message.bytes"))
    larger = _number(source.configs.get("max.message.bytes"))
    if smaller is not None and larger is not None and smaller < larger:
        findings.append(
            Finding(
                BLOCKING,
                "parity",
                f"max.message.bytes {smaller} < {larger} on {pair.source}: a record the source took "
                "cannot be mirrored (MirrorMaker's task fails on it)",
                where,
                f"kafka-configs.sh --alter --add-config max.message.bytes={larger} on the mirror",
            )
        )
    if drift:
        findings.append(
            Finding(
                WARNING,
                "parity",
                f"config differs from {pair.source}: {pair.topic}: {'; '.join(drift)}",
                where,
                "set the same values on both (kafka-configs.sh --alter): MirrorMaker 2 copies topic "
                "configs only every 10 min (sync.topic.configs.interval.seconds), and none it excludes",
            )
        )
    return findings
