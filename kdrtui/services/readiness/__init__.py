"""Readiness (``kdrtui check``): gather what the rules of :mod:`kdrtui.domain.readiness_rules` look at, from
the real clusters, edge nodes and Azure (blocking; call from a thread or a command).

:func:`check` reads everything (the clusters at once): metadata and racks, the configs of the mirrored
topics and their mirrors, authorizers and ACLs, MirrorMaker 2's rendered replication factor and each
edge node's release (over SSH when the node runs its own Kafka), the checkpoints of every MM2 flow, the
switch and the fences. :func:`cheap_blocking` is the failover pre-flight's share: only the reads that take
a request or two (metadata and configs of the flow's topics, the switch hook on this machine), and only
the blocking findings they give.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from kdrtui.domain.plan import MirrorFlow, MirrorMakerKind, Plan
from kdrtui.domain.readiness import (
    CheckpointFacts,
    ClusterFacts,
    Finding,
    Observations,
    Severity,
    Usable,
)
from kdrtui.domain.readiness_rules import evaluate
from kdrtui.services.readiness.clusters import pairs_of, read_access, read_configs, read_metadata

TIMEOUT_S = 10.0
"""Seconds each Kafka read may take."""


@dataclass(frozen=True)
class Readiness:
    """The findings of one check, and when it ran."""

    checked_at: float
    """Wall-clock time the check started."""
    seconds: float
    """How long it took."""
    findings: list[Finding]
    """Worst first."""
    observations: Observations
    """What the findings were made from."""


def _clusters(
    plan: Plan, flows: list[MirrorFlow], timeout: float, *, access: bool, only: list[str] | None = None
) -> tuple[dict[str, ClusterFacts], list[Any]]:
    """Every cluster of the plan (or ``only`` those) read in two rounds (all clusters at once in each)."""
    aliases = list(plan.clusters) if only is None else only
    with ThreadPoolExecutor(max_workers=max(1, len(aliases))) as pool:
        first = dict(
            zip(
                aliases,
                pool.map(lambda a: read_metadata(a, plan.cluster(a).bootstrap, timeout), aliases),
                strict=True,
            )
        )
        clusters = {alias: facts for alias, (facts, _admin) in first.items()}
        pairs = pairs_of(flows, clusters)
        wanted: dict[str, set[str]] = {alias: set() for alias in aliases}
        for pair in pairs:
            wanted[pair.source].add(pair.topic)
            wanted[pair.target].add(pair.mirror)

        def second(alias: str) -> ClusterFacts:
            facts, admin = first[alias]
            if not facts.answered:
                return facts
            bootstrap = plan.cluster(alias).bootstrap
            facts = read_configs(facts, admin, bootstrap, wanted[alias], timeout)
            if not access:
                return facts
            return read_access(facts, admin, bootstrap, timeout, plan.cluster(alias).security)

        read = dict(zip(aliases, pool.map(second, aliases), strict=True))
    return read, pairs


def check(
    plan: Plan,
    watched: Plan | None = None,
    unreadable: str | None = None,
    *,
    timeout: float = TIMEOUT_S,
    ssh: bool = True,
) -> Readiness:
    """Every readiness check of ``plan`` as it runs now: ``watched`` is the plan with the flows of the
    active cluster (``kdrtui.services.runbook.operate.view_plan``: after a failover, the flows out of the
    new primary); ``unreadable``: why the DR state cannot be read (then the plan's flows as written are
    checked, with a warning); ``ssh``: read the release of edge nodes that run their own Kafka."""
    import time

    from kdrtui.services.readiness.extras import fences_usable, mirrormaker_facts, switch_usable

    started, wall = time.monotonic(), time.time()
    notes: list[Finding] = []
    if unreadable is not None:  # which cluster is active is unknown: check the plan as written
        watched = plan
        notes.append(
            Finding(
                Severity.WARNING,
                "dr-state",
                f"DR state unreadable, so the flows are checked as the plan writes them: {unreadable}",
                plan.plan.name,
                "repair the DR state as it says",
            )
        )
    watched = plan if watched is None else watched
    flows = list(watched.flows)
    with ThreadPoolExecutor(max_workers=2) as pool:
        mm_future = pool.submit(mirrormaker_facts, watched, releases=ssh)
        switch_future = pool.submit(switch_usable, plan)
        clusters, pairs = _clusters(watched, flows, timeout, access=True)
        active = watched.primary_alias
        fences = fences_usable(plan, active, clusters, plan.cluster(active).bootstrap)
        checkpoints = _checkpoints(watched, flows, clusters, timeout)
        mirrormakers = mm_future.result()
        switch = switch_future.result()
    if plan.switch.method == "none":
        notes.append(
            Finding(
                Severity.INFO,
                "switch",
                "kdrtui does not move the clients (method none): the runbook tells the operator to",
                "switch none",
                'set [switch] method = "command" or "dns" to have the failover move them',
            )
        )
    usable: list[Usable] = [*(() if switch is None else (switch,)), *fences]
    seen = Observations(
        clusters=clusters,
        pairs=tuple(pairs),
        mirrormakers=tuple(mirrormakers),
        checkpoints=tuple(checkpoints),
        usable=tuple(usable),
        rpo_seconds=plan.objectives.rpo_seconds,
        notes=tuple(notes),
    )
    return Readiness(wall, time.monotonic() - started, evaluate(seen), seen)


def _checkpoints(
    plan: Plan, flows: list[MirrorFlow], clusters: dict[str, ClusterFacts], timeout: float
) -> list[CheckpointFacts]:
    """Each MM2 flow's groups and checkpoints (the flows at once)."""
    from kdrtui.services.readiness.extras import checkpoint_facts

    mm2 = [f for f in flows if f.mirrormaker == MirrorMakerKind.MM2]
    if not mm2:
        return []

    def one(flow: MirrorFlow) -> CheckpointFacts:
        target = clusters.get(flow.target)
        if target is None or not target.answered:
            return CheckpointFacts(flow.name, error=f"{flow.target} did not answer")
        source = clusters.get(flow.source)
        source_bootstrap = plan.cluster(flow.source).bootstrap if source and source.answered else None
        return checkpoint_facts(flow, source_bootstrap, plan.cluster(flow.target).bootstrap, timeout)

    with ThreadPoolExecutor(max_workers=len(mm2)) as pool:
        return list(pool.map(one, mm2))


def cheap_blocking(
    plan: Plan, flow: MirrorFlow, *, timeout: float = TIMEOUT_S, read_clusters: bool = True
) -> list[Finding]:
    """The failover pre-flight's share of the check, for ``flow`` (the one the failover stops): the
    blocking findings of the reads that take a request or two — a mirror with fewer partitions or a
    smaller ``max.message.bytes`` than its source (the drain could never finish), ``min.insync.replicas``
    above the replication factor (acks=all writes refused), read only with ``read_clusters`` (both
    clusters answered the pre-flight's probes) — and the switch hook on this machine
    (:data:`PREFLIGHT_CHECKS`). Never the slow reads (ACLs, SSH, checkpoints, Azure), nor a replication
    factor below 3: a failover cannot change it, ``kdrtui check`` reports it. A cluster that does not
    answer is the pre-flight's own reason already."""
    from kdrtui.services.readiness.extras import command_problems

    clusters: dict[str, ClusterFacts] = {}
    pairs: list[Any] = []
    if read_clusters:
        clusters, pairs = _clusters(plan, [flow], timeout, access=False, only=[flow.source, flow.target])
    usable: list[Usable] = []
    if plan.switch.method == "command":
        usable.append(
            Usable("switch", "command", plan.switch.command, tuple(command_problems(plan.switch.command)))
        )
    seen = Observations(clusters=clusters, pairs=tuple(pairs), usable=tuple(usable))
    return [f for f in evaluate(seen) if f.severity == Severity.BLOCKING and f.check in PREFLIGHT_CHECKS]


PREFLIGHT_CHECKS = ("parity", "min-isr", "switch")
"""The checks whose blocking findings the failover pre-flight makes NO-GO reasons (``--force`` accepts).
Not ``mirror`` (a mirror missing): a running MirrorMaker creates it and the drain waits for its records,
and a stopped one with records to copy is a NO-GO of its own already."""
