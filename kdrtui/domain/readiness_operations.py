"""The readiness rules beyond the topics (pure): ACL parity, MirrorMaker 2's replication factor and
release, the groups' checkpoints against the RPO, and the client switch and fences usable.
:func:`kdrtui.domain.readiness_rules.evaluate` runs them with the topic rules."""

from __future__ import annotations

from collections.abc import Iterable

from kdrtui.domain.acl_fence import TOPIC, AclRule
from kdrtui.domain.kafka_release import FIXED_TRANSLATION, SHIPPED_KAFKA_VERSION, parse_release
from kdrtui.domain.readiness import (
    CheckpointFacts,
    Finding,
    MirrorMakerFacts,
    Observations,
    Severity,
    Usable,
)

BLOCKING, WARNING, INFO = Severity.BLOCKING, Severity.WARNING, Severity.INFO

MIN_REPLICATION = 3
"""Replicas the topics MirrorMaker creates need (as every mirrored topic: HDInsight's three fault domains)."""
SAMPLE = 3
"""Bindings a finding names; the rest are counted."""


def _sample(items: list[str]) -> str:
    shown = ", ".join(items[:SAMPLE])
    return shown + (f" and {len(items) - SAMPLE} more" if len(items) > SAMPLE else "")


# --- ACLs ----------------------------------------------------------------------------------------------


def _grants(rules: Iterable[AclRule], topic: str, own: frozenset[str]) -> set[tuple[str, str, str, str]]:
    return {
        (r.principal, r.host, r.operation, r.permission)
        for r in rules
        if r.matches(TOPIC, topic) and r.principal not in own
    }


def acl_parity(seen: Observations) -> list[Finding]:
    """When both ends of a flow have an authorizer: who may do what on a source topic may do it on its
    mirror (MirrorMaker's own principal aside, which only writes there)."""
    findings = []
    ends = sorted({(p.source, p.target) for p in seen.pairs})
    for source_alias, target_alias in ends:
        source, target = seen.clusters.get(source_alias), seen.clusters.get(target_alias)
        if source is None or target is None or not (source.answered and target.answered):
            continue
        where = f"{source_alias} -> {target_alias}"
        if source.authorizer is None or target.authorizer is None:
            unknown = source if source.authorizer is None else target
            findings.append(
                Finding(
                    INFO,
                    "acls",
                    f"ACL parity not checked: whether {unknown.alias} has an authorizer is unknown "
                    f"({unknown.authorizer_error or 'no answer'})",
                    where,
                    "",
                )
            )
            continue
        if not source.authorizer and not target.authorizer:
            continue  # nothing to compare: neither side checks access
        if source.authorizer != target.authorizer:
            without = target_alias if source.authorizer else source_alias
            findings.append(
                Finding(
                    WARNING,
                    "acls",
                    f"{without} has no authorizer and the other side has one: clients' access changes "
                    "after a failover",
                    where,
                    f"enable the same authorizer (and ACLs) on {without}",
                )
            )
            continue
        if source.acls is None or target.acls is None:
            why = source.acls_error if source.acls is None else target.acls_error
            findings.append(Finding(INFO, "acls", f"ACL parity not checked: {why}", where, ""))
            continue
        for pair in seen.pairs:
            if (pair.source, pair.target) != (source_alias, target_alias):
                continue
            own = source.own_principals | target.own_principals
            missing = _grants(source.acls, pair.topic, own) - _grants(target.acls, pair.mirror, own)
            if missing:
                said = [
                    f"{p} {op} {perm}" + ("" if h == "*" else f" from {h}")
                    for p, h, op, perm in sorted(missing)
                ]
                findings.append(
                    Finding(
                        WARNING,
                        "acls",
                        f"{len(missing)} binding(s) of {source_alias}: {pair.topic} missing on the mirror: "
                        f"{_sample(said)}",
                        f"{target_alias}: {pair.mirror}",
                        "create the same bindings on the mirror's name (kafka-acls.sh), so clients keep "
                        "their access after a failover",
                    )
                )
    return findings


# --- MirrorMaker -------------------------------------------------------------------------------------


def mirrormaker(mm: MirrorMakerFacts) -> list[Finding]:
    """The replication factor of the topics MirrorMaker 2 creates, and the release it runs (3.5+)."""
    findings = []
    where = f"MirrorMaker 2 into {mm.target}"
    if mm.replication_factor is None:
        findings.append(
            Finding(INFO, "mm-replication", f"not checked: {mm.render_error or 'not rendered'}", where, "")
        )
    elif mm.replication_factor < MIN_REPLICATION:
        findings.append(
            Finding(
                WARNING,
                "mm-replication",
                f"replication.factor {mm.replication_factor}: the topics it creates (mirrors, checkpoints, "
                f"offset syncs) get {mm.replication_factor} replica(s)",
                where,
                f"set [clusters.{mm.target}] replication_factor = {MIN_REPLICATION} in the plan and "
                "redeploy (kdrtui mm deploy)",
            )
        )
    for node, version in sorted(mm.releases.items()):
        at = f"edge node {node}"
        release = parse_release(version) if version else None
        if version is None or release is None:
            why = mm.release_errors.get(node) or (f"'{version}' is not a release" if version else "unknown")
            findings.append(Finding(INFO, "mm-release", f"MirrorMaker release not checked: {why}", at, ""))
        elif release < FIXED_TRANSLATION:
            findings.append(
                Finding(
                    WARNING,
                    "mm-release",
                    f"MirrorMaker {version} (< 3.5) can translate consumer offsets wrongly (KAFKA-12468): "
                    "groups may re-read or skip records after a failover",
                    at,
                    f'set mirrormaker_kafka = "{SHIPPED_KAFKA_VERSION}" on the edge node and redeploy',
                )
            )
    return findings


def checkpoints(flow: CheckpointFacts, rpo_seconds: int) -> list[Finding]:
    """Groups whose offsets moved on the source since a checkpoint older than the RPO."""
    if flow.error is not None:
        return [Finding(INFO, "checkpoints", f"not checked: {flow.error}", flow.flow, "")]
    findings = []
    for group in flow.groups:
        where = f"{flow.flow}: group {group.group}"
        fix = (
            "check that MirrorMaker 2 runs and the flow's groups pattern covers the group (kdrtui mm status)"
        )
        if group.age_s is None:
            if group.moved:
                findings.append(
                    Finding(
                        WARNING,
                        "checkpoints",
                        "no checkpoint: a failover starts it from timestamps (fallback_rewind_seconds)",
                        where,
                        fix,
                    )
                )
            continue
        if group.age_s <= rpo_seconds or group.moved is False:
            continue
        if group.moved is None:
            findings.append(
                Finding(
                    INFO,
                    "checkpoints",
                    f"newest checkpoint {group.age_s:.0f} s old (RPO {rpo_seconds} s); whether the group "
                    "moved since is unknown (the source's offsets unreadable)",
                    where,
                    "",
                )
            )
            continue
        findings.append(
            Finding(
                WARNING,
                "checkpoints",
                f"newest checkpoint {group.age_s:.0f} s old (RPO {rpo_seconds} s) and the group moved "
                "since: a failover now re-delivers what it read meanwhile",
                where,
                fix,
            )
        )
    return findings


# --- switch and fence ---------------------------------------------------------------------------------


def usable(item: Usable) -> list[Finding]:
    """The client switch and each fence can work: each problem is blocking; unchecked is said."""
    where = f"{item.kind} {item.method}: {item.where}" if item.where else f"{item.kind} {item.method}"
    if item.problems is None:
        return [Finding(INFO, item.kind, f"not checked: {item.why}", where, "")]
    fix = (
        "fix [switch] in the plan, or what it points at, before a failover needs it"
        if item.kind == "switch"
        else "fix what the fence needs, or choose another fence in [failover]"
    )
    return [Finding(BLOCKING, item.kind, problem, where, fix) for problem in item.problems]
