"""Kafka's settings through Ambari: advertise IP addresses, listen on all interfaces, restart if changed.

The source document's "broadcast IP addresses" step, corrected per REFERENCE §4: the kafka-env template
gains a block that rewrites ``advertised.listeners`` to ``PLAINTEXT://<the broker's IP>:<port>`` at
start-up, and kafka-broker's ``listeners`` becomes ``PLAINTEXT://0.0.0.0:<port>`` (the port of the
listeners already configured). Kafka is stopped and started only when something changed.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from kdrtui.domain.plan import Cluster
from kdrtui.domain.runbook import Outcome, StepFailed
from kdrtui.services.azure.ambari import KAFKA_BROKER, KAFKA_ENV, AmbariClient, AmbariError, ambari_base
from kdrtui.services.azure.base import AzureStep, failure_text
from kdrtui.services.azure.context import ProvisionContext

MARKER = "# kdrtui: advertise the broker's IP address"
DEFAULT_PORT = 9092
SERVER_PROPERTIES = "/usr/hdp/current/kafka-broker/conf/server.properties"


def listener_port(listeners: str) -> int:
    """The port of the (first) listener in a ``listeners`` value; 9092 when none is written."""
    match = re.search(r"://[^,:]*:(\d+)", listeners or "")
    return int(match.group(1)) if match else DEFAULT_PORT


def advertise_block(port: int) -> str:
    """The kafka-env template lines that advertise the broker's IP address instead of its host name."""
    return (
        f"\n{MARKER} (clients outside the cluster cannot resolve its host names)\n"
        f"sed -i.bak -e '/^advertised.listeners=/d' {SERVER_PROPERTIES}\n"
        f'echo "advertised.listeners=PLAINTEXT://$(hostname -i):{port}" >> {SERVER_PROPERTIES}\n'
    )


def kafka_changes(
    env: dict[str, str], broker: dict[str, str]
) -> tuple[dict[str, str] | None, dict[str, str] | None, int]:
    """(new kafka-env or None, new kafka-broker or None, port): what to PUT so brokers advertise their IP
    and listen on every interface; None where the config already says so."""
    port = listener_port(broker.get("listeners", ""))
    new_env = None
    content = env.get("content", "")
    if "advertised.listeners=PLAINTEXT://$(hostname -i)" not in content:
        new_env = {**env, "content": content.rstrip("\n") + "\n" + advertise_block(port)}
    new_broker = None
    listeners = f"PLAINTEXT://0.0.0.0:{port}"
    if broker.get("listeners") != listeners:
        new_broker = {**broker, "listeners": listeners}
    return new_env, new_broker, port


async def ambari_for(step: AzureStep, ctx: ProvisionContext, alias: str, cluster: Cluster) -> AmbariClient:
    """An Ambari client for a provisioned cluster (its HTTPS endpoint from the cluster's GET, which
    ``step`` makes: an Azure error ends it as ``cluster NAME: CODE: message``)."""
    hdi = cluster.hdinsight
    assert hdi is not None
    body = await step.look(
        ctx, f"cluster {hdi.name}", ctx.clients.hdinsight.clusters.get, cluster.resource_group, hdi.name
    )
    if body is None:
        raise StepFailed(f"cluster {hdi.name} does not exist")
    return AmbariClient(ambari_base(body, hdi.name), ctx.password(alias), verify=ctx.clients.verify)


def apply_settings(ambari: AmbariClient, say: Any) -> dict[str, Any]:
    """Blocking: PUT what differs, then stop and start KAFKA (only if something changed)."""
    env = ambari.current_config(KAFKA_ENV)
    broker = ambari.current_config(KAFKA_BROKER)
    new_env, new_broker, port = kafka_changes(env, broker)
    changed = []
    if new_env is not None:
        ambari.put_config(KAFKA_ENV, new_env)
        changed.append("kafka-env: advertise the broker IP")
    if new_broker is not None:
        ambari.put_config(KAFKA_BROKER, new_broker)
        changed.append(f"kafka-broker: listeners=PLAINTEXT://0.0.0.0:{port}")
    # Also when nothing changed now: a run killed after Ambari took the settings but before the restart
    # left the brokers with stale configs (or stopped), and this run must finish the job.
    restart = bool(changed) or ambari.needs_restart()
    if restart:
        for state, context, label in (
            ("INSTALLED", "Stop Kafka", "stopping"),
            ("STARTED", "Start Kafka", "starting"),
        ):
            say(label, 0.3 if state == "INSTALLED" else 0.7)
            request = ambari.set_service_state("KAFKA", state, context)
            if request is not None:
                ambari.wait_request(request, interval=0.5)
    return {"changed": changed, "restarted": restart, "port": port}


class KafkaSettings(AzureStep):
    key = "kafka-settings"
    title = "Kafka: advertise IP addresses, listen on all interfaces (Ambari)"

    async def describe(self, ctx: ProvisionContext) -> list[str]:
        return [
            f"{cluster.hdinsight.name}: set kafka-env IP advertising and "
            "listeners=PLAINTEXT://0.0.0.0:<port> if not set, then restart Kafka"
            for _alias, cluster in ctx.hdinsight_clusters()
            if cluster.hdinsight is not None
        ]

    async def run(self, ctx: ProvisionContext) -> Outcome:
        async def one(alias: str, cluster: Cluster) -> dict[str, Any]:
            assert cluster.hdinsight is not None
            resource = f"Kafka on {cluster.hdinsight.name}"
            ambari = await ambari_for(self, ctx, alias, cluster)

            def say(state: str, fraction: float) -> None:
                ctx.progress(self, resource, "running", state, fraction)

            try:
                result = await ctx.call(apply_settings, ambari, say)
            except AmbariError as exc:
                ctx.progress(self, resource, "failed", str(exc))
                raise StepFailed(f"{resource}: {exc}") from exc
            finally:
                ambari.close()
            if result["changed"]:
                state = "restarted with " + ", ".join(result["changed"])
            elif result["restarted"]:
                state = "already set; restarted (the brokers ran with stale configs)"
            else:
                state = "already set"
            ctx.progress(self, resource, "done" if result["restarted"] else "skipped", state, 1.0)
            return result

        clusters = ctx.hdinsight_clusters()
        results = await asyncio.gather(
            *(one(alias, cluster) for alias, cluster in clusters), return_exceptions=True
        )
        failures: list[str] = []
        by_cluster: dict[str, dict[str, Any]] = {}
        for (alias, _cluster), result in zip(clusters, results, strict=True):
            if isinstance(result, BaseException):
                failures.append(failure_text(result))
            else:
                by_cluster[alias] = result
        if failures:
            raise StepFailed("; ".join(failures), clusters=by_cluster)
        restarted = [alias for alias, r in by_cluster.items() if r["restarted"]]
        if not restarted:
            return Outcome.skipped("already set everywhere: no restart", clusters=by_cluster)
        return Outcome.done(f"restarted Kafka on {', '.join(restarted)}", clusters=by_cluster)
