"""The emulator's persisted state: every resource, operation and Ambari request, in ``state.json``.

A resource is a record keyed by its ARM id in lower case (ARM ids are case-insensitive)::

    {"id": <ARM id as created>, "kind": "cluster", "name": ..., "location": ..., "tags": {...},
     "properties": {<what GET shows>}, "private": {<what only the emulator knows>}, "created": <epoch>}

Secrets are never stored: a gateway password is kept as an HMAC keyed with the emulator's own secret
file (``emulator.secret``, 0600), and storage keys are derived from that secret whenever they are
asked for. The file is rewritten atomically (write, fsync, rename) on every change, readable by its
owner only (0600).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import Any

Record = dict[str, Any]

#: Kinds of resources, in the order a resource group's contents are deleted.
KINDS = ("application", "cluster", "peering", "vnet", "storage", "resource_group")


#: The states a resource summary shows, those of its ``properties`` it has.
SUMMARY_STATES = ("provisioningState", "clusterState", "applicationState", "peeringState")


def resource_summary(record: Record) -> dict[str, Any]:
    """A resource's kind, name and id, and its states (``GET /_emulator/resources``, ``lab status``)."""
    states = {k: record["properties"][k] for k in SUMMARY_STATES if k in record["properties"]}
    return {"kind": record["kind"], "name": record["name"], "id": record["id"], **states}


def _empty() -> dict[str, Any]:
    return {"resources": {}, "operations": {}, "ambari_requests": {}, "next_request_id": 1}


class Store:
    """The state of one emulator, guarded by :attr:`lock` (hold it while reading or changing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.data = _empty()
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self.data.update(loaded)

    @property
    def resources(self) -> dict[str, Record]:
        """Resources by lower-case ARM id."""
        resources: dict[str, Record] = self.data["resources"]
        return resources

    @property
    def operations(self) -> dict[str, Record]:
        """Long-running operations by id."""
        operations: dict[str, Record] = self.data["operations"]
        return operations

    @property
    def ambari_requests(self) -> dict[str, Record]:
        """Ambari requests (service stop/start) by id (a string of the number)."""
        requests: dict[str, Record] = self.data["ambari_requests"]
        return requests

    def get(self, arm_id: str) -> Record | None:
        """The resource with this ARM id, if any."""
        return self.resources.get(arm_id.lower())

    def put(self, record: Record) -> None:
        """Add or replace a resource."""
        self.resources[record["id"].lower()] = record

    def delete(self, arm_id: str) -> Record | None:
        """Remove a resource; return it."""
        return self.resources.pop(arm_id.lower(), None)

    def of_kind(self, kind: str) -> list[Record]:
        """Every resource of one kind."""
        return [r for r in self.resources.values() if r["kind"] == kind]

    def under(self, prefix: str) -> list[Record]:
        """Resources whose id is below ``prefix`` (a resource group's or a cluster's contents)."""
        low = prefix.lower().rstrip("/") + "/"
        return [r for r in self.resources.values() if r["id"].lower().startswith(low)]

    def next_request_id(self) -> int:
        """A fresh Ambari request number."""
        value = int(self.data["next_request_id"])
        self.data["next_request_id"] = value + 1
        return value

    def save(self) -> None:
        """Write ``state.json`` atomically, mode 0600."""
        with self.lock:
            text = json.dumps(self.data, indent=1, sort_keys=True) + "\n"
            tmp = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            # A temp file left by an older emulator keeps its mode through O_CREAT; set it anyway.
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
