"""The lab's DNS resolver: what a name in an emulated Azure Private DNS zone resolves to, and which lab
broker stands behind each address.

Real clients in a linked VNet ask Azure's resolver (168.63.129.16) for ``bootstrap.<zone>`` and get the A
records of the active cluster's brokers' private IPs. In the lab every broker is on 127.0.0.1, so a test
client asks :func:`resolve` (the records the emulator wrote to ``<home>/dns/<zone>.json``) and dials
:func:`lab_address` of each (the broker behind that private IP). ``kdrtui lab resolve <fqdn>`` prints
both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from kdrtui.lab.azure.private_dns import broker_ip
from kdrtui.lab.azure.runtime import DEFAULT_PORT_BASE
from kdrtui.lab.azure.state import Store
from kdrtui.lab.ports import LOCALHOST

MAX_CNAME_HOPS = 8


class ResolveError(LookupError):
    """The name does not resolve in the lab (no such zone or record), or an address has no broker."""


@dataclass(frozen=True)
class Answer:
    """What a name resolved to: its A records, the TTL, and the CNAMEs followed on the way."""

    name: str
    addresses: list[str]
    ttl: int
    chain: list[str]


def _zones(home: Path) -> dict[str, dict[str, object]]:
    zones: dict[str, dict[str, object]] = {}
    for path in sorted((home / "dns").glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("zone"), str):
            zones[data["zone"].lower()] = data
    return zones


def resolve(home: Path, fqdn: str) -> Answer:
    """The A records of ``fqdn`` in the emulator living in ``home`` (CNAMEs followed).

    Raises:
        ResolveError: no zone holds the name, or the record does not exist (NXDOMAIN).
    """
    zones = _zones(home)
    name = fqdn.lower().removesuffix(".")
    chain: list[str] = []
    for _hop in range(MAX_CNAME_HOPS):
        zone = max((z for z in zones if name == z or name.endswith("." + z)), key=len, default=None)
        if zone is None:
            raise ResolveError(f"{name}: no emulated Private DNS zone holds it")
        relative = "@" if name == zone else name.removesuffix("." + zone)
        records = zones[zone].get("records")
        record = records.get(relative) if isinstance(records, dict) else None
        if not isinstance(record, dict):
            raise ResolveError(f"{name}: no record set {relative} in zone {zone} (NXDOMAIN)")
        if record.get("type") == "CNAME":
            chain.append(name)
            name = str(record.get("cname") or "").lower().removesuffix(".")
            continue
        return Answer(name, [str(a) for a in record.get("a") or []], int(record.get("ttl") or 0), chain)
    raise ResolveError(f"{fqdn}: more than {MAX_CNAME_HOPS} CNAMEs")


def broker_addresses(home: Path) -> dict[str, str]:
    """Private IP -> lab ``host:port`` of every emulated cluster's broker (its NSG gate)."""
    try:
        settings = json.loads((home / "emulator.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        settings = {}
    port_base = int(settings.get("port_base") or DEFAULT_PORT_BASE)
    store = Store(home / "state.json")
    found = {}
    for cluster in store.of_kind("cluster"):
        ip = broker_ip(store, cluster)
        slot = cluster["private"].get("slot")
        if ip is not None and isinstance(slot, int):
            found[ip] = lab_address(port_base, slot)
    return found


def lab_address(port_base: int, slot: int) -> str:
    """The lab address a client dials for the broker of the cluster in port slot ``slot``: the one place
    the private IP of an A record becomes a lab ``host:port``. It is the broker's NSG gate
    (:mod:`kdrtui.lab.azure.gate`): a client that finds the brokers by name is a client application, whose
    traffic the network security group on the cluster's subnet decides."""
    from kdrtui.lab.azure.gate import gate_port

    return f"{LOCALHOST}:{gate_port(port_base + 10 * slot)}"


def bootstrap(home: Path, fqdn: str, port: int = 9092) -> str:
    """``bootstrap.servers`` for a client that bootstraps by ``fqdn:port``: the lab address of the broker
    behind each A record (``port`` is the brokers' port on Azure; the lab maps each IP to its broker).

    Raises:
        ResolveError: the name does not resolve, or an address is no emulated broker's.
    """
    del port  # every A record stands for one lab broker, whatever port the client would use on Azure
    answer = resolve(home, fqdn)
    brokers = broker_addresses(home)
    missing = [ip for ip in answer.addresses if ip not in brokers]
    if missing or not answer.addresses:
        raise ResolveError(
            f"{fqdn}: {', '.join(missing) or 'no address'} is no emulated broker's private IP "
            f"(brokers: {', '.join(sorted(brokers)) or 'none'})"
        )
    return ",".join(brokers[ip] for ip in answer.addresses)
