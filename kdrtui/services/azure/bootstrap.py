"""Write what provisioning learnt into the plan file: brokers' addresses and edge nodes' SSH endpoints.

The file is edited in place (:func:`kdrtui.domain.plan_edit.set_values`: comments and everything else
kept), checked to still validate, and written atomically. The step then works on the reloaded plan.
"""

from __future__ import annotations

from typing import Any

from kdrtui.domain.plan import Plan, PlanInvalid, parse_plan
from kdrtui.domain.plan_edit import PlanEditError, TomlValue, set_values
from kdrtui.domain.runbook import Outcome, StepFailed
from kdrtui.domain.toml_lines import KeyPath
from kdrtui.services.azure.ambari import KAFKA_BROKER, AmbariError
from kdrtui.services.azure.base import AzureStep
from kdrtui.services.azure.clusters import ssh_endpoint
from kdrtui.services.azure.context import ProvisionContext
from kdrtui.services.azure.kafka_settings import ambari_for, listener_port
from kdrtui.services.kafka.security import use_plan
from kdrtui.services.plan_files import write_plan_text


class Bootstrap(AzureStep):
    key = "bootstrap"
    title = "Write bootstrap servers and edge node endpoints into the plan"

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        lines = [
            f"write clusters.{alias}.bootstrap_servers (brokers' IPs from Ambari) into {ctx.plan_path}"
            for alias, _cluster in ctx.hdinsight_clusters()
        ]
        lines += [f"write edge node {node.name}'s SSH host and port" for node in ctx.edge_nodes()]
        return lines

    async def run(self, ctx: ProvisionContext) -> Outcome:
        edits: dict[KeyPath, TomlValue] = {}
        servers: dict[str, list[str]] = {}
        for alias, cluster in ctx.hdinsight_clusters():
            assert cluster.hdinsight is not None
            ambari = await ambari_for(self, ctx, alias, cluster)
            try:
                hosts = await ctx.call(ambari.broker_hosts)
                port = listener_port(
                    (await ctx.call(ambari.current_config, KAFKA_BROKER)).get("listeners", "")
                )
                ips = [await ctx.call(ambari.host_ip, host) for host in hosts]
            except AmbariError as exc:
                raise StepFailed(f"cluster {cluster.hdinsight.name}: {exc}") from exc
            finally:
                ambari.close()
            if not ips:
                raise StepFailed(f"cluster {cluster.hdinsight.name}: Ambari lists no KAFKA_BROKER host")
            servers[alias] = [f"{ip}:{port}" for ip in ips]
            edits[("clusters", alias, "bootstrap_servers")] = servers[alias]
            ctx.progress(self, f"cluster {alias}", "done", ", ".join(servers[alias]), 1.0)
        endpoints: dict[str, str] = {}
        for index, node in enumerate(ctx.plan.edge_nodes):
            if node not in ctx.edge_nodes():
                continue
            cluster = ctx.plan.cluster(node.cluster)
            assert cluster.hdinsight is not None
            body = await self.look(
                ctx,
                f"edge node {node.name}",
                ctx.clients.hdinsight.applications.get,
                cluster.resource_group,
                cluster.hdinsight.name,
                node.name,
            )
            if body is None:
                raise StepFailed(f"edge node {node.name} does not exist")
            host, port = ssh_endpoint(body, node)
            endpoints[node.name] = f"{host}:{port}"
            edits[("edge_nodes", index, "host")] = host
            edits[("edge_nodes", index, "port")] = port
            ctx.progress(self, f"edge node {node.name}", "done", f"ssh {host}:{port}", 1.0)
        written = await ctx.call(write_values, ctx, edits)
        what = "wrote" if written else "already had"
        outcome = Outcome.done if written else Outcome.skipped
        return outcome(
            f"{what} the bootstrap servers and edge endpoints in {ctx.plan_path.name}",
            bootstrap=servers,
            edges=endpoints,
            written=written,
        )

    async def verify(self, ctx: ProvisionContext, facts: dict[str, Any]) -> str | None:
        from kdrtui.services.plan_files import load_plan

        try:
            plan = await ctx.call(load_plan, ctx.plan_path)
        except PlanInvalid as exc:
            return str(exc)
        for alias, servers in (facts.get("bootstrap") or {}).items():
            if plan.cluster(alias).bootstrap_servers != servers:
                return f"clusters.{alias}.bootstrap_servers changed in the plan file"
        for node in plan.edge_nodes:
            want = (facts.get("edges") or {}).get(node.name)
            if want is not None and f"{node.host}:{node.port}" != want:
                return f"edge node {node.name}'s endpoint changed in the plan file"
        ctx.plan = plan
        return None


def write_values(ctx: ProvisionContext, edits: dict[KeyPath, TomlValue]) -> bool:
    """Set ``edits`` in the plan file (kept as it is when its values are already those); whether the file
    changed. ``ctx.plan`` becomes the plan as written. Blocking (reads, parses, writes with fsync): call it
    through ``ctx.call``."""
    text = ctx.plan_path.read_text(encoding="utf-8")
    try:
        new_text = set_values(text, edits)
        plan = parse_plan(new_text, str(ctx.plan_path))
    except PlanEditError as exc:
        raise StepFailed(f"cannot edit {ctx.plan_path}: {exc}") from exc
    except PlanInvalid as exc:
        raise StepFailed(
            f"the edited plan would not validate (file left unchanged): {_one_line(exc)}"
        ) from exc
    # Same values, other layout (a one-line array for a multi-line one): nothing to write.
    changed = new_text != text and plan != _parsed_or_none(text, str(ctx.plan_path))
    if changed:
        write_plan_text(new_text, ctx.plan_path)
    use_plan(plan)
    ctx.plan = plan
    return changed


def _one_line(exc: PlanInvalid) -> str:
    """A step summary's line for a plan that does not validate: its first problem, and how many more."""
    if not exc.problems:
        return str(exc).splitlines()[0]
    more = len(exc.problems) - 1
    return f"{exc.problems[0]}" + (f" (and {more} more)" if more else "")


def _parsed_or_none(text: str, path: str) -> Plan | None:
    """The plan in ``text``, None if it does not load."""
    try:
        return parse_plan(text, path)
    except PlanInvalid:
        return None
