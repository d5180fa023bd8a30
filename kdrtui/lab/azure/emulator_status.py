"""A snapshot of the Azure emulator and what it runs (``kdrtui lab status``'s ``azure``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdrtui.lab.azure.runtime import DEFAULT_EDGE_PORT_BASE, DEFAULT_PORT_BASE


@dataclass(frozen=True)
class AzureStatus:
    """A snapshot of the emulator and what it runs."""

    home: Path
    port: int
    up: bool
    pid: int | None
    endpoint: str
    ca_file: Path
    plan: Path
    #: Every resource: kind, name, id and states (from the server, else from ``state.json``).
    resources: list[dict[str, Any]] = field(default_factory=list)
    #: The fault knobs (empty when the server is down).
    faults: dict[str, Any] = field(default_factory=dict)
    #: Cluster name -> {"up", "pid", "bootstrap"} of the brokers under the home.
    brokers: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Application name -> {"up", "pid", "port"} of the edge nodes under the home.
    edges: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: First client port of the clusters' brokers (cluster ``i``: + 10 * i, its controller + 1).
    port_base: int = DEFAULT_PORT_BASE
    #: First SSH port of the edge nodes (application ``i``: + i).
    edge_port_base: int = DEFAULT_EDGE_PORT_BASE

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``kdrtui lab status --json``'s ``azure``)."""
        return {
            "home": str(self.home),
            "up": self.up,
            "pid": self.pid,
            "port": self.port,
            "port_base": self.port_base,
            "edge_port_base": self.edge_port_base,
            "endpoint": self.endpoint,
            "ca_file": str(self.ca_file),
            "plan": str(self.plan),
            "resources": self.resources,
            "faults": self.faults,
            "brokers": self.brokers,
            "edge_nodes": self.edges,
        }
