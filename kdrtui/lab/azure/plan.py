"""The lab-azure plan: the lab's DR plan for provisioning through the emulator (``--plan lab-azure``).

Cold standby from ``primary`` (eastus) to ``dr`` (westus2) like the lab's own plan, but nothing
exists yet: ``bootstrap_servers`` is empty, each cluster has an ``[clusters.X.hdinsight]`` table and
the ``[azure]`` table points at the emulator. The edge node ``dr-edge-1`` is an HDInsight edge-node
application on ``dr``; its SSH host key is generated here, before the node exists, so the plan's
``known_hosts`` pins the key the node will present.
"""

from __future__ import annotations

import getpass
import secrets
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from kdrtui.lab import jars
from kdrtui.lab.cluster import ClusterSpec
from kdrtui.lab.edge_files import write_private
from kdrtui.lab.lab_plan import DR, PRIMARY, SITES, render_plan
from kdrtui.lab.ports import LOCALHOST
from kdrtui.services.plan_files import write_plan_text

PLAN_NAME = "kdrtui-lab-azure"
SUBSCRIPTION_ID = "6a1f0b3c-4d2e-4f5a-9b8c-7d6e5f4a3b2c"
LOGIN_PASSWORD_ENV = "KDRTUI_LAB_LOGIN_PASSWORD"
EDGE_NAME = "dr-edge-1"

#: Per alias: resource group, VNet, HDInsight cluster and storage account names.
NAMES: dict[str, dict[str, str]] = {
    PRIMARY: {
        "resource_group": "kdrlab-eastus",
        "vnet_name": "kdrlab-eastus-vnet",
        "cluster": "kdrlab-primary",
        "storage_account": "kdrlabprimary",
    },
    DR: {
        "resource_group": "kdrlab-westus2",
        "vnet_name": "kdrlab-westus2-vnet",
        "cluster": "kdrlab-dr",
        "storage_account": "kdrlabdr",
    },
}


def cluster_aliases() -> dict[str, str]:
    """HDInsight cluster name -> plan alias (the emulator names edge nodes' clusters by alias)."""
    return {names["cluster"]: alias for alias, names in NAMES.items()}


def edge_home(home: Path, name: str = EDGE_NAME) -> Path:
    """Where the emulator keeps edge node ``name`` (``<home>/edges/<name>``)."""
    return home / "edges" / name


def prepare_edge_keys(home: Path, edge_port: int, kafka_version: str) -> Path:
    """Generate ``dr-edge-1``'s host and client keys (once) and a known_hosts pinning its host key
    at ``[127.0.0.1]:<edge_port>`` (the port its application gets first); return the known_hosts."""
    from kdrtui.lab.edge import LabEdgeNode

    node = LabEdgeNode(
        edge_home(home),
        port=edge_port,
        kafka_libs=jars.distribution(kafka_version).libs,
        cluster=DR,
        name=EDGE_NAME,
    )
    node.ensure_keys()
    write_private(node.known_hosts, f"[{LOCALHOST}]:{edge_port} {node.host_public_key_line()}\n")
    return node.known_hosts


def ensure_login_password(path: Path) -> Path:
    """The lab's cluster login password file (0600), made once; HDInsight's rules hold for it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, f"Kdr-{secrets.token_hex(8)}-Lab9\n")
    return path


def render(
    home: Path, *, port: int, port_base: int, edge_port_base: int, kafka_version: str
) -> dict[str, Any]:
    """The lab-azure plan as data (flows, objectives and failover as the lab's own plan)."""
    specs = {
        alias: ClusterSpec(alias, SITES[alias]["region"], port_base + 10 * i, port_base + 10 * i + 1)
        for i, alias in enumerate((PRIMARY, DR))
    }
    plan = render_plan(specs, kafka_version)
    plan["plan"]["name"] = PLAN_NAME
    plan["clusters"] = {
        alias: {
            "region": SITES[alias]["region"],
            "resource_group": names["resource_group"],
            "vnet_name": names["vnet_name"],
            "vnet_cidr": SITES[alias]["vnet_cidr"],
            "subnet_cidr": SITES[alias]["subnet_cidr"],
            "bootstrap_servers": [],
            "kafka_version": kafka_version,
            # The emulator runs one broker per cluster, whatever worker count it is asked for.
            "brokers": 1,
            "replication_factor": 1,
            "hdinsight": {
                "name": names["cluster"],
                "storage_account": names["storage_account"],
                "login_password_env": LOGIN_PASSWORD_ENV,
            },
        }
        for alias, names in NAMES.items()
    }
    node = edge_home(home)
    plan["edge_nodes"] = [
        {
            "name": EDGE_NAME,
            "cluster": DR,
            # Provisioning rewrites host and port from the application's sshEndpoints.
            "host": f"{EDGE_NAME}.{NAMES[DR]['cluster']}-ssh.azurehdinsight.net",
            "port": 22,
            "user": getpass.getuser(),
            "key_file": str((node / "id_ed25519").resolve()),
            "known_hosts": str((node / "known_hosts").resolve()),
            "kafka_home": str((node / "kafka").resolve()),
            "work_dir": str((node / "work").resolve()),
        }
    ]
    plan["azure"] = {
        "subscription_id": SUBSCRIPTION_ID,
        "endpoint": f"https://{LOCALHOST}:{port}",
        "ca_file": str((home / "ca.pem").resolve()),
        "credential": "lab",
        "polling_interval_seconds": 1,
    }
    # Keep the plan's tables in the order a reader expects: plan, clusters, edge nodes, azure, flows...
    order = ["plan", "clusters", "edge_nodes", "azure"]
    return {key: plan[key] for key in order} | {k: v for k, v in plan.items() if k not in order}


def keep_provisioned(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with what provisioning wrote into the plan at ``path`` carried over.

    ``kdrtui provision`` writes each cluster's ``bootstrap_servers`` and each edge node's ``host`` and
    ``port`` into the plan; rewriting the plan on the next ``lab up --azure`` must not forget them (the
    emulator keeps its resources across a restart, and brings their brokers and edge nodes back).
    """
    try:
        old = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return data
    old_clusters = old.get("clusters", {}) if isinstance(old.get("clusters"), dict) else {}
    for alias, cluster in data.get("clusters", {}).items():
        servers = (
            old_clusters.get(alias, {}).get("bootstrap_servers")
            if isinstance(old_clusters.get(alias), dict)
            else None
        )
        if isinstance(servers, list) and servers and all(isinstance(s, str) for s in servers):
            cluster["bootstrap_servers"] = servers
    old_nodes = {node.get("name"): node for node in old.get("edge_nodes", []) if isinstance(node, dict)}
    for node in data.get("edge_nodes", []):
        before = old_nodes.get(node.get("name"))
        if before is None:
            continue
        if isinstance(before.get("host"), str) and isinstance(before.get("port"), int):
            node["host"], node["port"] = before["host"], before["port"]
    return data


def write(path: Path, data: dict[str, Any]) -> Path:
    """Write the plan as TOML atomically, keeping what provisioning wrote into it; return ``path``."""
    data = keep_provisioned(path, data)
    text = (
        "# The kdrtui lab's Azure plan, written by `kdrtui lab up --azure`. Rewritten on every up,\n"
        "# keeping the bootstrap servers and edge node endpoints `kdrtui provision` wrote into it.\n"
        "# Provision it with: kdrtui provision --plan lab-azure\n"
    )
    text += tomli_w.dumps(data)
    write_plan_text(text, path)
    return path
