"""What the readiness check reads beyond the topics (blocking): MirrorMaker 2 as kdrtui renders it and the
release each edge node runs, the consumer groups' checkpoints, and whether the client switch and the
fences can work.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import time
from typing import Any

from kdrtui.domain.kafka_release import shipped
from kdrtui.domain.mirrormaker_render import MM2_GROUPS_EXCLUDE_DEFAULT, RenderError, render_mm2_properties
from kdrtui.domain.plan import FenceMethod, MirrorFlow, MirrorMakerKind, Plan, SwitchMethod
from kdrtui.domain.readiness import CheckpointFacts, ClusterFacts, GroupCheckpoint, MirrorMakerFacts, Usable

SSH_TIMEOUT_S = 30.0
"""How long the release of an edge node that runs MirrorMaker from its own ``kafka_home`` may take to read
over SSH."""

_RF_LINE = re.compile(r"^replication\.factor\s*=\s*(\S+)\s*$", re.MULTILINE)


def rendered_replication(plan: Plan, target: str) -> tuple[int | None, str | None]:
    """``replication.factor`` of the MirrorMaker 2 properties kdrtui renders for ``target`` (what the
    topics it creates get), or why it cannot be read."""
    try:
        text = render_mm2_properties(plan, target)
    except (RenderError, KeyError) as exc:
        return None, f"cannot render MirrorMaker 2's config: {exc}"
    match = _RF_LINE.search(text)
    if match is None:
        return None, "the rendered config sets no replication.factor (Kafka's default, 2, applies)"
    try:
        return int(match.group(1)), None
    except ValueError:
        return None, f"replication.factor = {match.group(1)} is not a number"


def node_releases(
    plan: Plan, target: str, *, ssh: bool = True
) -> tuple[dict[str, str | None], dict[str, str]]:
    """The Kafka release MirrorMaker runs on each edge node of ``target``: the one kdrtui ships
    (``mirrormaker_kafka``), else the one in the node's ``kafka_home`` read over SSH (the MirrorMaker
    pre-flight's read); node -> why, for those that could not be read."""
    releases: dict[str, str | None] = {}
    errors: dict[str, str] = {}
    asked = []
    for node in plan.edge_nodes_for(target):
        release = shipped(node.mirrormaker_kafka)
        releases[node.name] = release
        if release is None:
            asked.append(node)
    if not asked:
        return releases, errors
    if not ssh:
        for node in asked:
            errors[node.name] = f"it runs the Kafka in {node.kafka_home}, not read over SSH (--no-ssh)"
        return releases, errors

    async def read_all() -> None:
        from kdrtui.services.mirrormaker.manager import MirrorMakerManager

        manager = MirrorMakerManager(plan)
        try:
            for node in asked:
                try:
                    report = await asyncio.wait_for(manager.preflight(node), SSH_TIMEOUT_S)
                except Exception as exc:  # unreachable node, unknown host key, no answer in time
                    errors[node.name] = f"cannot read it over SSH: {type(exc).__name__}: {exc}".rstrip(": ")
                    continue
                releases[node.name] = report.kafka_version
                if report.kafka_version is None:
                    errors[node.name] = f"the jars in {node.kafka_home}/libs do not say which release"
        finally:
            await manager.close()

    asyncio.run(read_all())
    return releases, errors


def mirrormaker_facts(plan: Plan, *, releases: bool = True) -> list[MirrorMakerFacts]:
    """Per target of an MM2 flow: the rendered replication factor and each node's release (``releases``:
    read over SSH when the node runs its own Kafka)."""
    found = []
    for target in sorted({f.target for f in plan.flows if f.mirrormaker == MirrorMakerKind.MM2}):
        rf, why = rendered_replication(plan, target)
        versions, errors = node_releases(plan, target, ssh=releases)
        found.append(MirrorMakerFacts(target, rf, why, versions, errors))
    return found


# --- checkpoints -----------------------------------------------------------------------------------------


def wanted_group(flow: MirrorFlow, group: str) -> bool:
    """Whether MirrorMaker 2 checkpoints ``group`` for ``flow`` (the translation step's choice)."""
    if group.startswith(("kdrtui-", "mm2-", "connect-")):
        return False
    if not any(re.fullmatch(p, group) for p in flow.groups):
        return False
    return not any(re.fullmatch(p, group) for p in (*MM2_GROUPS_EXCLUDE_DEFAULT, *flow.groups_exclude))


def checkpoint_facts(
    flow: MirrorFlow, source: str | None, target: str, timeout: float, now: float | None = None
) -> CheckpointFacts:
    """Each group's newest checkpoint on the target (read whole, as the failover's translation reads it,
    with the records' timestamps) and whether its committed offsets on the source (None: the source did
    not answer) moved past it."""
    from kdrtui.services.kafka.admin_calls import TranslateError
    from kdrtui.services.kafka.group_offsets import committed_offsets, list_groups
    from kdrtui.services.kafka.internal_reads import read_topic
    from kdrtui.services.kafka.internal_topics import (
        CHECKPOINTS_TOPIC,
        DecodeError,
        decode_checkpoint,
    )
    from kdrtui.services.readiness.clusters import mirrored
    from kdrtui.services.runbook.flows import target_name

    stamps: list[int] = []
    try:
        records = read_topic(target, CHECKPOINTS_TOPIC.format(source=flow.source), timeout, stamps)
    except TranslateError as exc:
        return CheckpointFacts(flow.name, error=f"cannot read the checkpoints: {exc}")
    newest: dict[str, int] = {}
    upstream: dict[tuple[str, str, int], int] = {}
    for (key, value), stamp in zip(records, stamps, strict=True):
        try:
            checkpoint = decode_checkpoint(key, value)
        except (DecodeError, UnicodeDecodeError):
            continue
        if checkpoint is None or not wanted_group(flow, checkpoint.group):
            continue
        newest[checkpoint.group] = max(newest.get(checkpoint.group, 0), stamp)
        upstream[(checkpoint.group, checkpoint.topic, checkpoint.partition)] = checkpoint.upstream
    moved: dict[str, bool] | None = None
    if source is not None:
        try:
            groups = [g for g in list_groups(source, timeout) if wanted_group(flow, g)]
            moved = {}
            for group, offsets in committed_offsets(source, groups, timeout).items():
                mine = {tp: o for tp, o in offsets.items() if mirrored(flow, tp[0])}
                if not mine and group not in newest:
                    continue  # a group of topics this flow does not mirror
                moved[group] = any(
                    offset > upstream.get((group, target_name(flow, t), p), -1)
                    for (t, p), offset in mine.items()
                )
        except TranslateError:
            moved = None
    clock = time.time() if now is None else now
    names = sorted(set(newest) | set(moved or {}))
    return CheckpointFacts(
        flow.name,
        tuple(
            GroupCheckpoint(
                flow.name,
                group,
                round(max(0.0, clock - newest[group] / 1000), 1) if group in newest else None,
                None if moved is None else moved.get(group, False),
            )
            for group in names
        ),
    )


# --- the switch and the fences --------------------------------------------------------------------------


def command_problems(command: str) -> list[str]:
    """Why the switch hook cannot run: empty, not parsable, its executable not found or not executable."""
    if not command.strip():
        return ['switch.command is empty: method "command" runs it to move the clients']
    try:
        words = shlex.split(command)
    except ValueError as exc:
        return [f"switch.command cannot be parsed by a shell: {exc}"]
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        words.pop(0)  # VAR=value before the command
    if not words:
        return ["switch.command sets variables but runs nothing"]
    program = os.path.expanduser(words[0])
    if "/" in program:
        if not os.path.isfile(program):
            here = "" if os.path.isabs(program) else f" in {os.getcwd()} (the failover runs it from there)"
            return [f"the switch hook {program} does not exist{here}"]
        if not os.access(program, os.X_OK):
            return [f"the switch hook {program} is not executable (chmod +x)"]
        return []
    if shutil.which(program) is None:
        return [f"the switch hook's program {program!r} is not on PATH"]
    return []


def _azure(plan: Plan) -> tuple[Any, str | None]:
    """The plan's Azure clients, or why there are none."""
    try:
        from kdrtui.services.azure.clients import AzureClients

        return AzureClients(plan), None
    except Exception as exc:
        return None, f"no Azure clients: {exc}"


def switch_usable(plan: Plan) -> Usable | None:
    """Whether the client switch can work (None for ``none``: nothing to check)."""
    method = plan.switch.method
    if method == SwitchMethod.COMMAND:
        return Usable("switch", "command", plan.switch.command, tuple(command_problems(plan.switch.command)))
    if method != SwitchMethod.DNS:
        return None
    try:
        from kdrtui.services.azure import private_dns  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return Usable("switch", "dns", "", None, "kdrtui's Private DNS switch is not in this build")
    zone = str(getattr(plan.switch, "zone", "") or "")
    clients, why = _azure(plan)
    if clients is None:
        return Usable("switch", "dns", zone, None, why or "")
    try:
        return Usable("switch", "dns", zone, tuple(private_dns.zone_readiness(clients, plan)))
    except Exception as exc:
        return Usable("switch", "dns", zone, None, f"cannot read the zone: {type(exc).__name__}: {exc}")
    finally:
        clients.close()


def fences_usable(plan: Plan, fenced: str, clusters: dict[str, ClusterFacts], bootstrap: str) -> list[Usable]:
    """Whether each fence of the plan can fence ``fenced`` (the active cluster)."""
    fences = list(getattr(plan.failover, "fences", None) or [plan.failover.fence])
    found = []
    for fence in fences:
        if fence == FenceMethod.ACL:
            facts = clusters.get(fenced)
            if facts is None or not facts.answered:
                found.append(Usable("fence", "acl", fenced, None, f"{fenced} did not answer"))
                continue
            from kdrtui.services.kafka import fence_acl

            try:
                problem = fence_acl.access_problem(fenced, bootstrap)
            except Exception as exc:
                found.append(Usable("fence", "acl", fenced, None, f"{type(exc).__name__}: {exc}"))
                continue
            found.append(Usable("fence", "acl", fenced, (problem,) if problem else ()))
        elif str(fence) == "nsg":
            try:
                from kdrtui.services.azure import nsg  # type: ignore[attr-defined,unused-ignore]
            except ImportError:
                found.append(Usable("fence", "nsg", fenced, None, "kdrtui's NSG fence is not in this build"))
                continue
            clients, why = _azure(plan)
            if clients is None:
                found.append(Usable("fence", "nsg", fenced, None, why or ""))
                continue
            try:
                found.append(Usable("fence", "nsg", fenced, tuple(nsg.nsg_readiness(clients, plan, fenced))))
            except Exception as exc:
                found.append(
                    Usable("fence", "nsg", fenced, None, f"cannot read the NSG: {type(exc).__name__}: {exc}")
                )
            finally:
                clients.close()
    return found
