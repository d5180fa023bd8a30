"""Readiness: is the plan's pair of clusters ready to swap, before anyone needs to fail over (pure).

``kdrtui check``, the Overview's Readiness card and the failover pre-flight read the clusters, the edge
nodes and Azure into an :class:`Observations` (:mod:`kdrtui.services.readiness`); the rules here
(:mod:`kdrtui.domain.readiness_rules`) turn it into :class:`Finding` s, each with a severity, what is
wrong, where, and how to fix it. A check that could not look (a cluster that did not answer, a setting
that could not be read) says "not checked" as an ``info`` finding: it never passes what it did not see.

Exit code (:func:`exit_code`): 0 nothing to act on (info only), 1 warnings, 2 anything blocking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How much a finding matters for a failover."""

    BLOCKING = "blocking"
    """A failover now would lose data, stop clients or not work: fix before relying on DR."""
    WARNING = "warning"
    """DR works, but worse than the plan expects (less redundancy, drift, stale checkpoints)."""
    INFO = "info"
    """What was not checked and why, or a fact worth knowing; nothing to fix."""


RANK = {Severity.BLOCKING: 0, Severity.WARNING: 1, Severity.INFO: 2}
"""Worst first."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the check found."""

    severity: Severity
    """blocking, warning or info."""
    check: str
    """Which check found it (``replication``, ``parity``, ``racks``, ...): stable, for scripts."""
    what: str
    """What is wrong (or not checked, and why), in one sentence."""
    where: str
    """Cluster, topic, edge node or group it is about (``dr: primary.orders``)."""
    fix: str
    """How to fix it (empty for an info finding with nothing to do)."""

    def to_dict(self) -> dict[str, str]:
        """The JSON form of ``kdrtui check --json``."""
        return {
            "severity": str(self.severity),
            "check": self.check,
            "what": self.what,
            "where": self.where,
            "fix": self.fix,
        }


# --- what the services observed -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopicFacts:
    """One topic of one cluster, as its metadata and configuration say."""

    name: str
    """The topic's name on that cluster."""
    replicas: tuple[tuple[int, ...], ...]
    """Broker ids of each partition's replicas, by partition number (its length is the partition count)."""
    configs: Mapping[str, str] | None = None
    """Its configuration (every key DescribeConfigs gives); None when it could not be read."""
    configs_error: str | None = None
    """Why ``configs`` could not be read."""

    @property
    def partitions(self) -> int:
        """How many partitions it has."""
        return len(self.replicas)

    @property
    def replication_factor(self) -> int:
        """The smallest replica count of its partitions (0 for no partition)."""
        return min((len(r) for r in self.replicas), default=0)


@dataclass(frozen=True, slots=True)
class ClusterFacts:
    """What one cluster answered; ``error`` set and nothing else when it did not."""

    alias: str
    """The cluster's alias in the plan."""
    error: str | None = None
    """Why it did not answer (None: it answered)."""
    topics: Mapping[str, TopicFacts] = field(default_factory=dict)
    """The topics read (the mirrored ones and their mirrors), by name."""
    all_topics: frozenset[str] = frozenset()
    """Every topic name the cluster has."""
    racks: Mapping[int, str | None] = field(default_factory=dict)
    """Each live broker's ``broker.rack`` (None: not set)."""
    racks_error: str | None = None
    """Why the brokers' racks could not be read (``racks`` is then empty)."""
    authorizer: bool | None = None
    """Whether the brokers have an authorizer (None: could not tell)."""
    authorizer_error: str | None = None
    """Why ``authorizer`` is unknown."""
    acls: tuple[Any, ...] | None = None
    """Every ACL binding (:class:`kdrtui.domain.acl_fence.AclRule`); None when not read."""
    acls_error: str | None = None
    """Why ``acls`` is None though the cluster has an authorizer."""
    own_principals: frozenset[str] = frozenset()
    """kdrtui's and MirrorMaker's principals there: their bindings differ between the sides on purpose
    (MirrorMaker reads the source and writes the mirror), so ACL parity leaves them out."""

    @property
    def answered(self) -> bool:
        """Whether the cluster answered."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class MirrorPair:
    """A source topic of a flow and the name of its mirror on the flow's target."""

    flow: str
    """``source->target``."""
    source: str
    """The source cluster's alias."""
    target: str
    """The target cluster's alias."""
    topic: str
    """The topic on the source."""
    mirror: str
    """Its mirror's name on the target (``primary.orders`` with prefixed names)."""


@dataclass(frozen=True, slots=True)
class MirrorMakerFacts:
    """The MirrorMaker 2 of one target cluster as kdrtui renders it, and the release each edge node runs."""

    target: str
    """The cluster its flows write to."""
    replication_factor: int | None
    """``replication.factor`` in the rendered properties (None: could not render)."""
    render_error: str | None = None
    """Why the properties could not be rendered."""
    releases: Mapping[str, str | None] = field(default_factory=dict)
    """Edge node name -> the Kafka release MirrorMaker runs there (None: unknown)."""
    release_errors: Mapping[str, str] = field(default_factory=dict)
    """Edge node name -> why its release is unknown."""


@dataclass(frozen=True, slots=True)
class GroupCheckpoint:
    """The newest MirrorMaker 2 checkpoint of one consumer group of a flow."""

    flow: str
    """``source->target``."""
    group: str
    """The consumer group."""
    age_s: float | None
    """Seconds since its newest checkpoint was written (None: the group has no checkpoint)."""
    moved: bool | None
    """Whether its committed offsets on the source moved past what the checkpoints say (None: the source
    could not be read); a group that did not move needs no new checkpoint, however old the last one is."""


@dataclass(frozen=True, slots=True)
class CheckpointFacts:
    """The checkpoints of one MM2 flow, or why they could not be read."""

    flow: str
    """``source->target``."""
    groups: tuple[GroupCheckpoint, ...] = ()
    """Per group."""
    error: str | None = None
    """Why the checkpoints (or the source's groups) could not be read."""


@dataclass(frozen=True, slots=True)
class Usable:
    """Whether the client switch or a fence can work: the problems found, or that it was not checked."""

    kind: str
    """``switch`` or ``fence``."""
    method: str
    """``command``, ``dns``, ``acl``, ``nsg``, ...."""
    where: str
    """What it is about (the cluster fenced, the switch command, the DNS zone)."""
    problems: tuple[str, ...] | None
    """What stops it working ([] usable); None: not checked (``why`` says why)."""
    why: str = ""
    """Why it was not checked."""


@dataclass(frozen=True)
class Observations:
    """Everything the rules look at, gathered at one time."""

    clusters: Mapping[str, ClusterFacts]
    """Every cluster of the plan, by alias."""
    pairs: tuple[MirrorPair, ...]
    """Every mirrored source topic and its mirror's name (source topics of clusters that answered)."""
    mirrormakers: tuple[MirrorMakerFacts, ...] = ()
    """The MirrorMaker 2 of each target cluster."""
    checkpoints: tuple[CheckpointFacts, ...] = ()
    """Per MM2 flow (empty: not read, e.g. in the pre-flight)."""
    usable: tuple[Usable, ...] = ()
    """The client switch and each fence."""
    rpo_seconds: int = 60
    """The plan's recovery point objective."""
    notes: tuple[Finding, ...] = ()
    """Findings the gathering itself made (a plan that cannot be rendered, a DR state unreadable)."""


# --- the rollup ----------------------------------------------------------------------------------------


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Findings per severity (every severity present, 0 when none)."""
    found = {str(s): 0 for s in Severity}
    for finding in findings:
        found[str(finding.severity)] += 1
    return found


def exit_code(findings: Iterable[Finding]) -> int:
    """2 when anything is blocking, 1 when anything warns, else 0 (info findings never fail)."""
    severities = {f.severity for f in findings}
    if Severity.BLOCKING in severities:
        return 2
    return 1 if Severity.WARNING in severities else 0


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Worst first; within a severity by check, then where (a stable order for people and tests)."""
    return sorted(findings, key=lambda f: (RANK[f.severity], f.check, f.where, f.what))


def summary_line(findings: Iterable[Finding]) -> str:
    """``2 blocking, 3 warnings, 1 info: NOT READY`` (or ``READY`` / ``READY with warnings``)."""
    found = counts(findings)
    blocking, warnings, info = found["blocking"], found["warning"], found["info"]
    verdict = "NOT READY" if blocking else "READY with warnings" if warnings else "READY"
    return f"{blocking} blocking, {warnings} warning{'s' if warnings != 1 else ''}, {info} info: {verdict}"
