"""Long-running operations: the ``Azure-AsyncOperation`` and ``Location`` URLs and what they answer.

An operation is a record ``{"id", "target", "action", "gate", "status", "polls", "error"}``:

- ``gate`` None: the operation answers ``InProgress`` for :data:`POLLS_IN_PROGRESS` polls, then
  ``Succeeded`` (resource groups, storage, networks: their work is done at once).
- ``gate`` "create": it follows the target's ``provisioningState`` (clusters, applications), and
  ends ``Failed`` with the target's error when the target fails.
- ``gate`` "delete": it succeeds once the target is gone.

The async-operation URL answers ``{"status": ..., "error": {...}}``; the Location URL answers 202
while the operation runs, then 200 with the resource (a create) or 204 (a delete).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from kdrtui.lab.azure.state import Record, Store
from kdrtui.lab.azure.web import ArmError, Request, Response

POLLS_IN_PROGRESS = 1
TERMINAL = ("Succeeded", "Failed", "Canceled")


def new_operation(store: Store, target: str, action: str, gate: str | None = None) -> Record:
    """Record a new operation on resource ``target`` (an ARM id); return it."""
    op: Record = {
        "id": "op" + secrets.token_hex(12),
        "target": target,
        "action": action,
        "gate": gate,
        "status": "InProgress",
        "polls": 0,
        "error": None,
        "started": time.time(),
    }
    store.operations[op["id"]] = op
    return op


def operation_headers(req: Request, op: Record, *, async_header: bool = True) -> dict[str, str]:
    """Absolute ``Azure-AsyncOperation`` and ``Location`` URLs of ``op`` under its target."""
    base = f"{req.base_url}{op['target']}"
    query = f"?api-version={req.api_version}"
    headers = {"Location": f"{base}/operationresults/{op['id']}{query}"}
    if async_header:
        headers["Azure-AsyncOperation"] = f"{base}/azureasyncoperations/{op['id']}{query}"
    return headers


def evaluate(store: Store, op: Record, *, count_poll: bool) -> str:
    """Bring ``op``'s status up to date (a poll counts towards ungated operations); return it."""
    if op["status"] in TERMINAL:
        return str(op["status"])
    gate = op.get("gate")
    target = store.get(op["target"])
    if gate is None:
        if count_poll:
            op["polls"] += 1
        if op["polls"] > POLLS_IN_PROGRESS:
            op["status"] = "Succeeded"
    elif gate == "delete":
        if target is None:
            op["status"] = "Succeeded"
    elif target is None:
        op["status"] = "Failed"
        op["error"] = {
            "code": "ResourceNotFound",
            "message": "The resource was deleted during the operation.",
        }
    else:
        state = target["properties"].get("provisioningState")
        if state == "Succeeded":
            op["status"] = "Succeeded"
        elif state in ("Failed", "Canceled"):
            op["status"] = state
            op["error"] = target["private"].get("error") or {
                "code": "InternalServerError",
                "message": "The operation failed.",
            }
    if op["status"] in TERMINAL:
        op["ended"] = time.time()
        store.save()
    return str(op["status"])


def async_status_body(op: Record) -> dict[str, Any]:
    """What the ``Azure-AsyncOperation`` URL answers."""
    body: dict[str, Any] = {"id": op["id"], "name": op["id"], "status": op["status"]}
    if op["status"] == "Failed" and op.get("error"):
        body["error"] = op["error"]
    return body


def answer(store: Store, req: Request, op: Record, kind: str, resource_body: Any) -> Response:
    """The answer of a poll of ``op`` (``kind`` is ``async`` or ``location``), its status up to date.

    ``resource_body`` is the target's current JSON (for a finished create's Location poll).
    """
    status = op["status"]
    if kind == "async":
        return Response(200, async_status_body(op))
    if status == "InProgress":
        return Response(202, None, operation_headers(req, op, async_header=False))
    if status == "Failed":
        error = op.get("error") or {}
        raise ArmError(400, str(error.get("code", "Failed")), str(error.get("message", "")))
    if op["action"] == "delete" or resource_body is None:
        return Response(204)
    return Response(200, resource_body)
