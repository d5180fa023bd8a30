"""Connector and task states of running MirrorMaker 2, read from the target cluster.

MM2 in dedicated mode keeps them in the compacted topic ``mm2-status.<source>.internal`` on the target;
it has no status REST API (KIP-710's internal REST serves only worker-to-worker calls).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from kdrtui.domain.mirrormaker import MirrorMakerStatus, MmState
from kdrtui.domain.plan import Plan
from kdrtui.services.mirrormaker.manager import Deployment


async def with_connector_states(plan: Plan, dep: Deployment, status: MirrorMakerStatus) -> MirrorMakerStatus:
    """``status`` with ``connectors`` filled in for a running MM2 deployment (one entry per flow)."""
    if status.state is not MmState.RUNNING or dep.rendered.kind != "mm2":
        return status
    from kdrtui.services.kafka.mm2_status import read_mm2_status

    states: dict[str, str] = {}
    for flow_name in dep.rendered.flows:
        source, _, target = flow_name.partition("->")
        bootstrap = plan.cluster(target).bootstrap
        try:
            found = await asyncio.to_thread(read_mm2_status, bootstrap, source, timeout=5.0)
        except Exception as exc:  # an unreachable target must not hide the process state
            states[f"{flow_name} status"] = f"unreadable: {exc}"
            continue
        for name, connector in sorted(found.connectors.items()):
            states[f"{flow_name} {name}"] = connector.state
    return replace(status, connectors=states)
