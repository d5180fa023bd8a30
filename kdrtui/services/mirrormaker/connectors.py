"""Connector and task states of running MirrorMaker 2, read from the target cluster.

MM2 in dedicated mode keeps them in the compacted topic ``mm2-status.<source>.internal`` on the target;
it has no status REST API (KIP-710's internal REST serves only worker-to-worker calls). Only a RUNNING
deployment is asked: the states a stopped MirrorMaker left behind (UNASSIGNED, or a FAILED of its last
run) say nothing about now.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

from kdrtui.domain.mirrormaker import MirrorMakerStatus, MmState
from kdrtui.domain.mirrormaker_render import mm2_cluster_nodes, rest_url
from kdrtui.domain.mm2_tasks import FlowTasks
from kdrtui.domain.mm2_workers import WorkerAssignment
from kdrtui.domain.plan import Plan
from kdrtui.services.mirrormaker.manager import Deployment

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient

    from kdrtui.services.kafka.mm2_status import Mm2StatusReader

READ_TIMEOUT_S = 5.0
"""How long one flow's states may take to read before they are shown as unreadable."""


class TaskStateReaders:
    """Reads the task states of running MM2 deployments, keeping one incremental reader per flow (for a
    pane that polls); :func:`with_connector_states` is the one-shot form. Close it when done."""

    def __init__(self) -> None:
        self._readers: dict[tuple[str, str], Mm2StatusReader] = {}
        self._admins: dict[str, AdminClient] = {}

    async def with_states(self, plan: Plan, dep: Deployment, status: MirrorMakerStatus) -> MirrorMakerStatus:
        """``status`` with ``flows`` (and ``connectors``) filled in for a running MM2 deployment."""
        if status.state is not MmState.RUNNING or dep.rendered.kind != "mm2":
            return status
        from confluent_kafka import KafkaException

        from kdrtui.services.kafka.mm2_status import Mm2StatusError, Mm2StatusReader
        from kdrtui.services.kafka.security import SecurityError

        flows: list[FlowTasks] = []
        for flow_name in dep.rendered.flows:
            source, _, target = flow_name.partition("->")
            bootstrap = plan.cluster(target).bootstrap
            try:
                reader = self._readers.get((bootstrap, source))
                if reader is None:
                    reader = await asyncio.to_thread(Mm2StatusReader, bootstrap, source)
                    self._readers[(bootstrap, source)] = reader
                found = await asyncio.to_thread(reader.tasks, READ_TIMEOUT_S)
                found = replace(found, workers=await self._workers(plan, bootstrap, source, target))
            # An unreachable target (or its password unreadable here) must not hide the process.
            except (Mm2StatusError, KafkaException, SecurityError) as exc:
                found = FlowTasks(source, error=str(exc))
            flows.append(replace(found, target=target))
        connectors = {
            f"{flow.flow} {connector.name}": connector.state or "-"
            for flow in flows
            for connector in flow.connectors
        }
        return replace(status, flows=tuple(flows), connectors=connectors)

    async def _workers(
        self, plan: Plan, bootstrap: str, source: str, target: str
    ) -> tuple[WorkerAssignment, ...]:
        """The flow's workers and their tasks; none when its group cannot be read (the states still show)."""
        from confluent_kafka.admin import AdminClient

        from kdrtui.services.kafka.config import client_config
        from kdrtui.services.kafka.mm2_workers import Mm2WorkersError, flow_workers

        urls = {rest_url(node): node.name for node in mm2_cluster_nodes(plan, target)}
        admin = self._admins.get(bootstrap)
        if admin is None:
            admin = self._admins[bootstrap] = AdminClient(client_config(bootstrap))
        try:
            found = await asyncio.to_thread(
                flow_workers, bootstrap, source, urls, timeout=READ_TIMEOUT_S, admin=admin
            )
        except Mm2WorkersError:
            return ()
        return tuple(found)

    def close(self) -> None:
        """Close every reader (blocking: waits for a read in progress; call it from a thread)."""
        readers, self._readers = list(self._readers.values()), {}
        for reader in readers:
            reader.close()


async def with_connector_states(plan: Plan, dep: Deployment, status: MirrorMakerStatus) -> MirrorMakerStatus:
    """``status`` with ``flows`` (connector and task states per flow) and ``connectors`` filled in for a
    running MM2 deployment; a flow whose target does not answer gets ``error`` set."""
    readers = TaskStateReaders()
    try:
        return await readers.with_states(plan, dep, status)
    finally:
        await asyncio.to_thread(readers.close)
