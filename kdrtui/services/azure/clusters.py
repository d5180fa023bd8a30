"""The HDInsight Kafka clusters (both at once) and the edge nodes (HDInsight applications)."""

from __future__ import annotations

import asyncio
from typing import Any

from kdrtui.domain.plan import Cluster, EdgeNode
from kdrtui.domain.runbook import Outcome, StepFailed
from kdrtui.services.azure import bodies
from kdrtui.services.azure.base import AzureStep, Ledger, failure_text
from kdrtui.services.azure.clients import get_or_none
from kdrtui.services.azure.context import ProvisionContext
from kdrtui.services.azure.waiting import provisioning_state, settled_state, wait_poller, wait_until_settled

CLUSTER_STATES = (
    "Accepted",
    "ClusterStorageProvisioned",
    "AzureVMConfiguration",
    "HdInsightConfiguration",
    "Operational",
    "Running",
)
"""``clusterState`` values in the order a creation goes through them (for a progress fraction)."""


def cluster_state(body: dict[str, Any]) -> str:
    """``clusterState`` of a cluster's GET body (``provisioningState`` when it has none yet)."""
    props = body.get("properties") or {}
    return str(props.get("clusterState") or props.get("provisioningState") or "")


def cluster_fraction(body: dict[str, Any]) -> float:
    """How far a creation is, from its ``clusterState`` (0..1)."""
    state = cluster_state(body)
    if state in CLUSTER_STATES:
        return (CLUSTER_STATES.index(state) + 1) / len(CLUSTER_STATES)
    return 0.0


def cluster_settled(body: dict[str, Any]) -> bool:
    """Created (Running) or failed: nothing more will happen by waiting."""
    state = provisioning_state(body)
    return settled_state(state) and (state != "Succeeded" or cluster_state(body) in ("Running", "Error"))


def cluster_state_text(body: dict[str, Any]) -> str:
    """The cluster's state as Azure names it, for the operator: ``clusterState HdInsightConfiguration``."""
    return f"clusterState {cluster_state(body)}"


def cluster_failed(body: dict[str, Any]) -> bool:
    """Whether the cluster's creation failed (``provisioningState`` Failed or ``clusterState`` Error)."""
    return provisioning_state(body) == "Failed" or cluster_state(body) == "Error"


def cluster_errors(body: dict[str, Any]) -> str:
    """``CODE: message`` of a failed cluster's ``properties.errors``."""
    errors = (body.get("properties") or {}).get("errors") or []
    return "; ".join(f"{e.get('code', 'Error')}: {e.get('message', '')}" for e in errors) or "no error given"


class Clusters(AzureStep):
    key = "clusters"
    title = "HDInsight Kafka clusters (in parallel)"

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        lines = []
        for _alias, cluster in ctx.hdinsight_clusters():
            hdi = cluster.hdinsight
            assert hdi is not None
            found = await self.look(
                ctx,
                f"cluster {hdi.name}",
                ctx.clients.hdinsight.clusters.get,
                cluster.resource_group,
                hdi.name,
            )
            if found is None:
                lines.append(
                    f"create HDInsight {bodies.CLUSTER_VERSION} Kafka {bodies.KAFKA_COMPONENT_VERSION} "
                    f"cluster {hdi.name} in {cluster.region}: 2 head nodes {hdi.head_vm_size}, "
                    f"{hdi.worker_count} workers {hdi.worker_vm_size} x {hdi.disks_per_node} disks, "
                    f"3 ZooKeeper {hdi.zookeeper_vm_size}, in {cluster.vnet_name}/{bodies.SUBNET_NAME}"
                )
            else:
                lines.append(f"cluster {hdi.name}: exists ({cluster_state(found)})")
        return lines

    async def run(self, ctx: ProvisionContext) -> Outcome:
        ledger = Ledger()
        results = await asyncio.gather(
            *(self._one(ctx, alias, cluster) for alias, cluster in ctx.hdinsight_clusters()),
            return_exceptions=True,
        )
        failures = []
        states: dict[str, str] = {}
        for (_alias, cluster), result in zip(ctx.hdinsight_clusters(), results, strict=True):
            assert cluster.hdinsight is not None
            if isinstance(result, BaseException):
                failures.append(failure_text(result))
                continue
            created, state = result
            ledger.add(created, str(cluster.resource_group), cluster.hdinsight.name)
            states[cluster.hdinsight.name] = state
        if failures:
            raise StepFailed("; ".join(failures), **ledger.facts())
        return ledger.outcome("cluster(s)", "; all Running", states=states)

    async def _one(self, ctx: ProvisionContext, alias: str, cluster: Cluster) -> tuple[bool, str]:
        hdi = cluster.hdinsight
        group = cluster.resource_group
        assert hdi is not None and group is not None and cluster.vnet_name is not None
        api = ctx.clients.hdinsight.clusters
        resource = f"cluster {hdi.name}"

        def get() -> dict[str, Any] | None:
            return get_or_none(api.get, group, hdi.name)

        found = await self.look(ctx, resource, api.get, group, hdi.name)
        if found is not None and cluster_failed(found):
            # Azure cannot repair a cluster whose creation failed: it is deleted and created again.
            if (found.get("tags") or {}).get(bodies.PLAN_TAG) != ctx.plan.plan.name:
                raise StepFailed(
                    f"{resource} exists, {provisioning_state(found)} ({cluster_errors(found)}), and was not "
                    f"created for plan {ctx.plan.plan.name}: delete it and run again"
                )
            ctx.progress(self, resource, "running", "deleting the failed cluster to create it again", 0.0)
            deleting = await self.arm(ctx, resource, api.begin_delete, group, hdi.name)
            await wait_poller(ctx, self, resource, deleting)
            found = None
        shown: str | None = None
        if found is None:
            body = bodies.cluster_body(
                cluster,
                plan_name=ctx.plan.plan.name,
                subscription=ctx.subscription,
                password=ctx.password(alias),
                storage_host=await self._storage_host(ctx, group, hdi.storage_account),
                storage_key=await self.arm(ctx, resource, ctx.storage_key, group, hdi.storage_account),
            )
            ctx.progress(self, resource, "running", "creating", 0.0)
            poller = await self.arm(ctx, resource, api.begin_create, group, hdi.name, body)
            del body

            def watch() -> tuple[str, float | None]:
                now = get()
                return (cluster_state_text(now), cluster_fraction(now)) if now else ("", None)

            _result, shown = await wait_poller(ctx, self, resource, poller, watch)
        elif not bodies.component_version_ok(found):
            raise StepFailed(
                f"{resource} exists but is not HDInsight {bodies.CLUSTER_VERSION} with Kafka "
                f"{bodies.KAFKA_COMPONENT_VERSION}"
            )
        body_now = await wait_until_settled(
            ctx, self, resource, get, cluster_settled, cluster_state_text, cluster_fraction, shown
        )
        if provisioning_state(body_now) != "Succeeded" or cluster_state(body_now) == "Error":
            ctx.progress(self, resource, "failed", cluster_state_text(body_now))
            raise StepFailed(f"{resource}: {provisioning_state(body_now)}, {cluster_errors(body_now)}")
        done = "done" if found is None else "skipped"
        ctx.progress(self, resource, done, cluster_state_text(body_now), 1.0)
        return found is None, cluster_state(body_now)

    async def _storage_host(self, ctx: ProvisionContext, group: str, account: str) -> str:
        found = await self.look(
            ctx,
            f"storage account {account}",
            ctx.clients.storage.storage_accounts.get_properties,
            group,
            account,
        )
        blob = ((found or {}).get("properties") or {}).get("primaryEndpoints", {}).get("blob") or ""
        host = str(blob).removeprefix("https://").split("/")[0]
        return host or f"{account}.blob.core.windows.net"

    async def verify(self, ctx: ProvisionContext, facts: dict[str, Any]) -> str | None:
        targets = (
            (f"cluster {hdi.name}", ctx.clients.hdinsight.clusters.get, (cluster.resource_group, hdi.name))
            for _alias, cluster in ctx.hdinsight_clusters()
            if (hdi := cluster.hdinsight) is not None
        )
        return await self.first_gone(ctx, targets, cluster_state, "Running")


def application_state(body: dict[str, Any]) -> str:
    """``applicationState`` of an application's GET body (``provisioningState`` before it has one)."""
    props = body.get("properties") or {}
    return str(props.get("applicationState") or props.get("provisioningState") or "")


def application_state_text(body: dict[str, Any]) -> str:
    """The edge node's state as Azure names it: ``applicationState Running``."""
    return f"applicationState {application_state(body)}"


def application_settled(body: dict[str, Any]) -> bool:
    state = provisioning_state(body)
    return settled_state(state) and (state != "Succeeded" or application_state(body) in ("Running", "Error"))


def ssh_endpoint(body: dict[str, Any], node: EdgeNode) -> tuple[str, int]:
    """(host, port) to SSH to an edge node, from its application's ``sshEndpoints``."""
    for endpoint in (body.get("properties") or {}).get("sshEndpoints") or []:
        if endpoint.get("location"):
            return str(endpoint["location"]), int(endpoint.get("publicPort") or 22)
    return node.host, node.port


class EdgeNodes(AzureStep):
    key = "edge-nodes"
    title = "Edge nodes (HDInsight applications)"

    def _where(self, ctx: ProvisionContext, node: EdgeNode) -> tuple[str, str]:
        cluster = ctx.plan.cluster(node.cluster)
        assert cluster.hdinsight is not None and cluster.resource_group is not None
        return cluster.resource_group, cluster.hdinsight.name

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        lines = []
        for node in ctx.edge_nodes():
            group, name = self._where(ctx, node)
            found = await self.look(
                ctx, f"edge node {node.name}", ctx.clients.hdinsight.applications.get, group, name, node.name
            )
            lines.append(
                f"edge node {node.name}: exists ({application_state(found)})"
                if found
                else f"create edge node {node.name} ({bodies.EDGE_VM_SIZE}) on cluster {name}"
            )
        return lines or ["no [[edge_nodes]] on a provisioned cluster"]

    async def run(self, ctx: ProvisionContext) -> Outcome:
        ledger = Ledger()
        endpoints: dict[str, str] = {}
        api = ctx.clients.hdinsight.applications
        for node in ctx.edge_nodes():
            group, name = self._where(ctx, node)
            resource = f"edge node {node.name}"

            def get(g: str = group, c: str = name, a: str = node.name) -> dict[str, Any] | None:
                return get_or_none(api.get, g, c, a)

            found = await self.look(ctx, resource, api.get, group, name, node.name)
            shown: str | None = None
            if found is None:
                ctx.progress(self, resource, "running", f"creating on {name}")
                poller = await self.arm(
                    ctx, resource, api.begin_create, group, name, node.name, bodies.edge_node_body(node)
                )

                def watch(g: Any = get) -> tuple[str, float | None]:
                    now = g()
                    return (application_state_text(now), None) if now else ("", None)

                _result, shown = await wait_poller(ctx, self, resource, poller, watch)
            body = await wait_until_settled(
                ctx, self, resource, get, application_settled, application_state_text, shown=shown
            )
            if provisioning_state(body) != "Succeeded" or application_state(body) != "Running":
                raise StepFailed(f"{resource}: {provisioning_state(body)}, {application_state(body)}")
            host, port = ssh_endpoint(body, node)
            endpoints[node.name] = f"{host}:{port}"
            ledger.record(
                ctx,
                self,
                resource,
                found is None,
                group,
                name,
                node.name,
                state=f"Running, ssh {host}:{port}",
            )
        if not endpoints:
            return Outcome.skipped("no [[edge_nodes]] on a provisioned cluster", **ledger.facts(endpoints={}))
        return ledger.outcome("edge node(s)", endpoints=endpoints)

    async def verify(self, ctx: ProvisionContext, facts: dict[str, Any]) -> str | None:
        targets = (
            (
                f"edge node {node.name}",
                ctx.clients.hdinsight.applications.get,
                (*self._where(ctx, node), node.name),
            )
            for node in ctx.edge_nodes()
        )
        return await self.first_gone(ctx, targets, application_state, "Running")
