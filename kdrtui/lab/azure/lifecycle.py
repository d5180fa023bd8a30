"""How emulated resources move along by themselves: cluster stages, application installs, deletions.

:func:`start_ticking` runs :func:`tick` every 0.2 s in a background thread; each tick (holding the store's
lock) moves InProgress clusters through :data:`STAGES` (starting the lab broker at
``STAGES[BROKER_STAGE]``), finishes installing or deleting applications whose edge node job is done, and
removes deleted clusters and resource groups once their brokers and edge nodes have stopped. A new
cluster or application takes the lowest free :func:`slot`, which decides its ports.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from kdrtui.lab.azure.cloud import FAIL_CODE, Cloud
from kdrtui.lab.azure.state import Record

STAGES = ("Accepted", "ClusterStorageProvisioned", "AzureVMConfiguration", "HdInsightConfiguration")
"""A creating cluster's ``clusterState`` values, one per ``step_seconds``, before it is Running."""
BROKER_STAGE = 2
"""The stage (AzureVMConfiguration) at which the lab broker behind a Kafka cluster starts."""


def slot(cloud: Cloud, kind: str) -> int:
    """The lowest slot (port offset) no resource of ``kind`` holds: where a new broker or edge node goes."""
    used = {r["private"].get("slot") for r in cloud.store.of_kind(kind)}
    return next(i for i in range(len(used) + 1) if i not in used)


def begin_cluster_delete(cloud: Cloud, record: Record) -> None:
    """Mark a cluster Deleting and stop (and purge) its broker and its applications' edge nodes."""
    if record["properties"].get("provisioningState") == "Deleting":
        return
    record["properties"]["provisioningState"] = "Deleting"
    record["properties"]["clusterState"] = "Deleting"
    for app in cloud.store.under(record["id"]):
        if app["kind"] == "application":
            app["properties"]["provisioningState"] = "Deleting"
            cloud.runtime.stop_edge(app["name"], record["name"], app["private"]["slot"], purge=True)
    cloud.runtime.stop_broker(record["name"], record["private"]["slot"], purge=True)


def _fail(record: Record, code: str, message: str) -> None:
    record["properties"]["provisioningState"] = "Failed"
    record["properties"]["clusterState"] = "Error"
    record["properties"]["errors"] = [{"code": code, "message": message}]
    record["private"]["error"] = {"code": code, "message": message}


def _advance_cluster(cloud: Cloud, record: Record, now: float) -> bool:
    props, private = record["properties"], record["private"]
    elapsed = now - private["started"]
    stage = min(int(elapsed / max(cloud.step_seconds, 0.01)), len(STAGES) - 1)
    changed = False
    if stage >= BROKER_STAGE and private["fail"]:
        _fail(
            record,
            FAIL_CODE,
            f"Cluster creation failed: the deployment of cluster '{record['name']}' could not configure its "
            "virtual machines (fault injected by the lab emulator).",
        )
        return True
    if stage >= BROKER_STAGE and private["kafka"] and not private["broker_requested"]:
        cloud.runtime.start_broker(record["name"], private["slot"], record["location"])
        private["broker_requested"] = True
        changed = True
    if props["clusterState"] != STAGES[stage]:
        props["clusterState"] = STAGES[stage]
        changed = True
    if stage == len(STAGES) - 1 and elapsed >= len(STAGES) * cloud.step_seconds + private["slow"]:
        job = cloud.runtime.job(f"broker:{record['name']}") if private["kafka"] else None
        state = job.state() if job is not None else "done"
        if state.startswith("failed"):
            _fail(record, "ClusterCreationFailed", f"The Kafka brokers did not start: {state[8:]}")
            return True
        if state == "done":
            props["provisioningState"] = "Succeeded"
            props["clusterState"] = "Running"
            props["quotaInfo"] = {"coresUsed": 40}
            return True
    return changed


def advance(cloud: Cloud, now: float) -> bool:
    """Move every cluster, application and deletion along; True when something changed."""
    changed = False
    store = cloud.store
    for record in store.of_kind("cluster"):
        state = record["properties"]["provisioningState"]
        if state == "InProgress":
            changed |= _advance_cluster(cloud, record, now)
        elif state == "Deleting":
            jobs = [cloud.runtime.job(f"broker:{record['name']}")] + [
                cloud.runtime.job(f"edge:{a['name']}") for a in store.under(record["id"])
            ]
            if all(job is None or job.state() != "running" for job in jobs):
                for child in store.under(record["id"]):
                    store.delete(child["id"])
                store.delete(record["id"])
                changed = True
    changed |= _advance_applications(cloud, now)
    for group in store.of_kind("resource_group"):
        if group["properties"].get("provisioningState") == "Deleting":
            inside = store.under(group["id"])
            if not any(r["kind"] == "cluster" for r in inside):
                for record in inside:
                    store.delete(record["id"])
                store.delete(group["id"])
                changed = True
    return changed


def _advance_applications(cloud: Cloud, now: float) -> bool:
    """Finish installing and deleting applications whose edge node job is done."""
    changed = False
    for record in cloud.store.of_kind("application"):
        props: dict[str, Any] = record["properties"]
        job = cloud.runtime.job(f"edge:{record['name']}")
        state = job.state() if job is not None else "done"
        if (
            props["provisioningState"] == "InProgress"
            and now - record["private"]["started"] >= cloud.step_seconds
        ):
            if state.startswith("failed"):
                error = {
                    "code": "ApplicationInstallFailed",
                    "message": f"The edge node did not start: {state[8:]}",
                }
                props.update(provisioningState="Failed", applicationState="Error", errors=[error])
                record["private"]["error"] = error
                changed = True
            elif state == "done":
                props.update(provisioningState="Succeeded", applicationState="Running")
                changed = True
        elif props["provisioningState"] == "Deleting" and state != "running":
            cluster = cloud.store.get(record["id"].rsplit("/applications/", 1)[0])
            if cluster is None or cluster["properties"]["provisioningState"] != "Deleting":
                cloud.store.delete(record["id"])
                changed = True
    return changed


def tick(cloud: Cloud, now: float | None = None) -> None:
    """Move clusters, applications and deletions along; save when something changed."""
    now = time.time() if now is None else now
    with cloud.store.lock:
        if advance(cloud, now):
            cloud.store.save()
        cloud.gates.sync(cloud.store, cloud.runtime.port_base)  # the NSGs' rules, enforced


def start_ticking(cloud: Cloud, stop: threading.Event) -> threading.Thread:
    """Run :func:`tick` every 0.2 s in a daemon thread until ``stop`` is set."""

    def loop() -> None:
        while not stop.wait(0.2):
            tick(cloud)

    thread = threading.Thread(target=loop, name="lab-azure-tick", daemon=True)
    thread.start()
    return thread
