"""The Azure DR lab the ``azure_dr_lab`` session fixture provisions (tests/integration/conftest.py): the
emulator, the lab-azure plan with ``[switch] method = "dns"`` provisioned once, and how a test drives it."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from kdrtui.lab import resolve
from kdrtui.lab.azure.emulator import AzureEmulator
from kdrtui.lab.azure.private_dns import AZURE_RESERVED

AZURE_PORT = 18393
BROKER_PORT_BASE = 20492
EDGE_PORT_BASE = 13832
ZONE = "kafka.kdrlab.internal"
RECORD = "bootstrap"
FQDN = f"{RECORD}.{ZONE}"


@dataclass
class AzureDrLab:
    """The emulator, its provisioned plan (method dns), and the environment a ``kdrtui`` runs in."""

    emulator: AzureEmulator
    plan_path: Path
    env: dict[str, str]
    state_dir: Path

    @property
    def home(self) -> Path:
        """The emulator's home (``<lab>/azure``): its state, the zones' files."""
        return self.emulator.home

    def kdrtui(
        self, *args: str, timeout: float = 300, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``python -m kdrtui ...`` as an operator runs it."""
        return subprocess.run(
            [sys.executable, "-m", "kdrtui", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )

    def resources(self) -> list[dict[str, Any]]:
        """Every emulated resource (kind, name, id, states)."""
        found: list[dict[str, Any]] = self.emulator.call("GET", "/_emulator/resources")
        return found

    def resolve(self, fqdn: str = FQDN) -> list[str]:
        """The A records of ``fqdn`` as the emulated zone holds them."""
        return resolve.resolve(self.home, fqdn).addresses

    def bootstrap_by_name(self, fqdn: str = FQDN) -> str:
        """``bootstrap.servers`` of a client bootstrapping by ``fqdn``: the lab broker behind each record."""
        return resolve.bootstrap(self.home, fqdn)


def through_gate(bootstrap: str) -> str:
    """The NSG gate in front of each lab broker of ``bootstrap`` (kdrtui.lab.azure.gate): where a client
    that finds the brokers by name connects (kdrtui itself uses the plan's bootstrap, never gated)."""
    from kdrtui.lab.azure.gate import gate_port

    return ",".join(
        f"{host}:{gate_port(int(port))}"
        for host, _, port in (s.rpartition(":") for s in bootstrap.split(","))
    )


def broker_ip(subnet_cidr: str) -> str:
    """The private IP the emulator gives the one broker of a cluster alone in ``subnet_cidr``."""
    return str(ipaddress.ip_network(subnet_cidr).network_address + AZURE_RESERVED)


def with_dns_switch(plan_path: Path) -> dict[str, list[str]]:
    """Rewrite the lab-azure plan at ``plan_path`` to switch clients by DNS; the addresses it gives
    each cluster (its broker's private IP: kdrtui itself reaches the lab brokers at 127.0.0.1)."""
    data = tomllib.loads(plan_path.read_text(encoding="utf-8"))
    addresses = {alias: [broker_ip(c["subnet_cidr"])] for alias, c in data["clusters"].items()}
    data["switch"] = {
        "method": "dns",
        "zone": ZONE,
        "record": RECORD,
        "ttl_seconds": 10,
        "addresses": addresses,
    }
    plan_path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return addresses
