"""``/_emulator/...``: the lab's control surface (no auth, never faulted, never logged).

- ``GET /_emulator/health``: ``{"ok": true, "pid": N, "port": P, "port_base": B, "edge_port_base": E}``
- ``GET /_emulator/requests``: every logged request (``?since=N`` skips the first N)
- ``GET /_emulator/faults``; ``POST /_emulator/faults`` with any of ``{"throttle": N, "retry_after": S,
  "errors_500": N, "fail_cluster": "<name>", "slow_cluster_seconds": S}``; ``DELETE`` clears them all
- ``GET /_emulator/resources``: a summary of every resource (kind, id, states)
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Protocol

from kdrtui.lab.azure.cloud import Cloud, Faults
from kdrtui.lab.azure.state import resource_summary
from kdrtui.lab.azure.web import ArmError, Request, Response


class EmulatorServer(Protocol):
    """What the control surface reads of the emulator's server (``server.EmulatorServer``)."""

    cloud: Cloud
    """Everything the emulator serves."""
    log_lock: threading.Lock
    """Held while ``requests.jsonl`` is written or read."""
    log_path: Path
    """``requests.jsonl``: the request log."""


def read_requests(path: os.PathLike[str] | str) -> list[dict[str, Any]]:
    """The entries of a ``requests.jsonl`` (an unreadable line is skipped)."""
    entries = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    continue
    except FileNotFoundError:
        pass
    return entries


def summary(server: EmulatorServer) -> list[dict[str, Any]]:
    """Every resource: kind, name, id and its states."""
    with server.cloud.store.lock:
        return [resource_summary(r) for r in server.cloud.store.resources.values()]


def handle(server: EmulatorServer, req: Request) -> Response:
    """Answer one ``/_emulator/`` request."""
    cloud = server.cloud
    what = req.path.removeprefix("/_emulator/").strip("/")
    try:
        if what == "health" and req.method == "GET":
            bases = {"port_base": cloud.runtime.port_base, "edge_port_base": cloud.runtime.edge_port_base}
            return Response(200, {"ok": True, "pid": os.getpid(), "port": cloud.port} | bases)
        if what == "requests" and req.method == "GET":
            since = int(req.query.get("since", "0") or 0)
            with server.log_lock:
                return Response(200, read_requests(server.log_path)[since:])
        if what == "resources" and req.method == "GET":
            return Response(200, summary(server))
        if what == "faults":
            with cloud.store.lock:
                if req.method == "POST":
                    data = req.json_object()
                    unknown = set(data) - set(Faults().to_dict())
                    if unknown:
                        raise ValueError(f"unknown fault knob(s): {', '.join(sorted(unknown))}")
                    cloud.faults.update(data)
                elif req.method == "DELETE":
                    cloud.faults = Faults()
                elif req.method != "GET":
                    raise ArmError(405, "MethodNotAllowed", f"{req.method} /_emulator/faults")
                return Response(200, cloud.faults.to_dict())
    except ValueError as exc:
        return ArmError(400, "InvalidFault", str(exc)).response()
    except ArmError as exc:
        return exc.response()
    return ArmError(404, "NotFound", f"no control endpoint {req.method} {req.path}").response()
