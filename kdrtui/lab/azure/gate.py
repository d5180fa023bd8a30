"""The NSG gate: how the emulator enforces network security groups on the lab's brokers.

Every lab process is 127.0.0.1, so a source address cannot tell a client from kdrtui. The lab separates
them by path instead:

- each emulated cluster's broker has a second listener, ``GATED`` on ``<port>+2``, advertised as the gate
  at ``127.0.0.1:<port>+3`` (so a client that bootstraps through the gate is sent back to the gate for
  every broker, never around it). Traffic through the gate stands for a **client application at**
  :data:`CLIENT_ADDRESS` (an application subnet of the primary region's VNet) reaching the broker's
  private address on port 9092;
- the plan's ``bootstrap_servers`` (the broker's PLAINTEXT listener on ``<port>``) is what kdrtui and the
  edge nodes use: it stands for the addresses the fence allows, and is never gated.

Every tick (0.2 s) the emulator decides that flow with the rules of the NSG associated with the
cluster's subnet (:func:`kdrtui.domain.nsg_rules.decide`, the function the fence verifies with). While
it is denied the gate refuses new connections (accepted, then reset at once: a real NSG drops the SYN
and the client times out; the reset only makes tests fast) and, when the NSG has ``flushConnection`` on,
closes the connections already open — as Azure re-evaluates open flows only with ``flushConnection``;
without it open connections live on, in Azure and here.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

from kdrtui.domain import nsg_rules
from kdrtui.lab.ports import LOCALHOST

_log = logging.getLogger(__name__)

CLIENT_ADDRESS = "10.0.1.10"
"""The address the gate's traffic stands for: a client application outside the clusters' subnets."""
KAFKA_PORT = 9092
"""The port that traffic stands for (HDInsight's PLAINTEXT listener)."""
GATED_OFFSET = 2
"""The broker's gated listener: its client port + 2."""
GATE_OFFSET = 3
"""The gate itself: the broker's client port + 3."""


def gate_port(broker_port: int) -> int:
    """Where a client dials the gate of the broker listening on ``broker_port``."""
    return broker_port + GATE_OFFSET


@dataclass
class Gate:
    """A TCP relay from ``127.0.0.1:<port>`` to the broker's gated listener, open or closed."""

    port: int
    upstream: int
    denied: bool = False
    flush: bool = False
    rule: str = ""
    """The rule that decided last (shown by the emulator's status)."""
    _server: socket.socket | None = field(default=None, init=False, repr=False)
    _open: set[socket.socket] = field(default_factory=set, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def start(self) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((LOCALHOST, self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, name=f"nsg-gate-{self.port}", daemon=True).start()

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                conn, _peer = self._server.accept()
            except OSError:
                return  # closed
            if self.denied:
                _reset(conn)
                continue
            try:
                upstream = socket.create_connection((LOCALHOST, self.upstream), timeout=5)
            except OSError:
                _reset(conn)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open |= {conn, upstream}
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with self._lock:
                    self._open.discard(sock)
                _reset(sock)

    def set(self, denied: bool, flush: bool, rule: str) -> None:
        """Apply a decision: closed (and open connections dropped when ``flush``) or open."""
        self.denied, self.flush, self.rule = denied, flush, rule
        if denied and flush:
            with self._lock:
                victims, self._open = list(self._open), set()
            for sock in victims:
                _reset(sock)

    def close(self) -> None:
        if self._server is not None:
            with contextlib.suppress(OSError):
                self._server.close()
        self.set(True, True, "closed")


def _reset(sock: socket.socket) -> None:
    """Close at once, so the other side learns now: shutdown wakes a pump thread blocked in recv (a bare
    close from another thread would not), SO_LINGER 0 makes the close a reset."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def cluster_subnet(record: dict[str, Any]) -> tuple[str, str]:
    """(VNet ARM id, subnet name) an emulated cluster's workers were put in."""
    subnet = "kafka"
    for role in record["properties"].get("computeProfile", {}).get("roles", []):
        profile = role.get("virtualNetworkProfile") or {}
        if str(role.get("name", "")).lower() == "workernode" and profile.get("subnet"):
            subnet = str(profile["subnet"]).rstrip("/").rsplit("/", 1)[-1]
    return str(record["private"].get("vnet_id") or ""), subnet


def decide_cluster(store: Any, record: dict[str, Any]) -> nsg_rules.Decision | None:
    """What the NSG on the cluster's subnet does with a client at :data:`CLIENT_ADDRESS` reaching its
    broker on :data:`KAFKA_PORT` (None: no NSG, everything flows); ``flush`` in the rule name's place is
    not needed by callers, see :func:`flush_of`."""
    found = subnet_nsg(store, record)
    if found is None:
        return None
    rules, _flush, vnet, prefix = found
    destination = str(ipaddress.ip_network(prefix, strict=False).network_address + 4)
    return nsg_rules.decide(rules, CLIENT_ADDRESS, destination, KAFKA_PORT, vnet=vnet)


def subnet_nsg(
    store: Any, record: dict[str, Any]
) -> tuple[list[dict[str, Any]], bool, list[str], str] | None:
    """(custom rules, flushConnection, what VirtualNetwork covers, subnet prefix) of the NSG on a cluster's
    subnet; None when the subnet has none."""
    vnet_id, name = cluster_subnet(record)
    vnet = store.get(vnet_id) if vnet_id else None
    if vnet is None:
        return None
    subnet = next((s for s in vnet["private"]["subnets"] if s["name"].lower() == name.lower()), None)
    if subnet is None or not subnet.get("networkSecurityGroup"):
        return None
    nsg = store.get(subnet["networkSecurityGroup"])
    if nsg is None:
        return None
    rules = [
        {"name": r["name"], "properties": dict(r["properties"])}
        for r in store.under(nsg["id"])
        if r["kind"] == "nsg_rule"
    ]
    covered = list(vnet["properties"].get("addressSpace", {}).get("addressPrefixes", []))
    for peering in store.under(vnet["id"]):
        if peering["kind"] == "peering" and peering["properties"].get("peeringState") == "Connected":
            remote = store.get(peering["private"]["remote_id"])
            if remote is not None:
                covered += remote["properties"].get("addressSpace", {}).get("addressPrefixes", [])
    return rules, bool(nsg["properties"].get("flushConnection")), covered, subnet["addressPrefix"]


class Gates:
    """The gates of one emulator, one per Kafka cluster, kept in step with the store by :meth:`sync`."""

    def __init__(self) -> None:
        self._gates: dict[str, Gate] = {}

    def sync(self, store: Any, port_base: int) -> None:
        """Open a gate for each running Kafka cluster, close those of deleted ones, apply each NSG."""
        live: set[str] = set()
        for record in store.of_kind("cluster"):
            if (
                not record["private"].get("kafka")
                or record["properties"].get("provisioningState") == "Deleting"
            ):
                continue
            key = record["id"].lower()
            live.add(key)
            gate = self._gates.get(key)
            if gate is None:
                broker = port_base + 10 * int(record["private"]["slot"])
                gate = Gate(gate_port(broker), broker + GATED_OFFSET)
                try:
                    gate.start()
                except OSError as exc:
                    _log.warning("NSG gate of %s on port %s: %s", record["name"], gate.port, exc)
                    continue
                self._gates[key] = gate
            found = subnet_nsg(store, record)
            decision = decide_cluster(store, record)
            denied = decision is not None and not decision.allowed
            gate.set(denied, bool(found and found[1]), decision.rule if decision else "")
        for key in [k for k in self._gates if k not in live]:
            self._gates.pop(key).close()

    def status(self) -> dict[str, dict[str, Any]]:
        """Per cluster id: the gate's port and whether it is closed (for the emulator's control surface)."""
        return {k: {"port": g.port, "denied": g.denied, "rule": g.rule} for k, g in self._gates.items()}

    def close(self) -> None:
        for gate in self._gates.values():
            gate.close()
        self._gates.clear()
