"""The emulator's HTTPS server: routing, bearer auth, ``api-version``, faults, the request log.

A stdlib ``ThreadingHTTPServer`` on 127.0.0.1 wrapped in TLS (the certificate :mod:`.certs` makes).
ARM paths (``/subscriptions/...``) need ``Authorization: Bearer <token>`` (401
``AuthenticationFailed`` otherwise) and an ``api-version`` (400 ``MissingApiVersionParameter``).
Ambari paths (``/api/v1/...``) use basic auth (see :mod:`.ambari`). ``/_emulator/...`` is the lab's
control surface: no auth, never faulted, never logged.

Every other request is appended to ``requests.jsonl`` as ``{"time", "method", "path", "status"}``
(no query, headers or bodies: nothing secret).
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kdrtui.lab.azure import ambari, applications, arm, hdinsight, lro, network, nsg, private_dns
from kdrtui.lab.azure.cloud import Cloud
from kdrtui.lab.azure.control import handle
from kdrtui.lab.azure.web import ArmError, Request, Response

_log = logging.getLogger(__name__)

Handler = Callable[[Cloud, Request], Response]

_S = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _S + r"/resourceGroups/(?P<rg>[^/]+)"
_ST = _RG + r"/providers/Microsoft\.Storage/storageAccounts/(?P<name>[^/]+)"
_VN = _RG + r"/providers/Microsoft\.Network/virtualNetworks/(?P<vnet>[^/]+)"
_CL = _RG + r"/providers/Microsoft\.HDInsight/clusters/(?P<cluster>[^/]+)"
_NSG = _RG + r"/providers/Microsoft\.Network/networkSecurityGroups/(?P<nsg>[^/]+)"
_AM = r"/api/v1/clusters/(?P<cluster>[^/]+)"

ROUTES: list[tuple[str, str, Handler]] = [
    ("PUT", _RG, arm.put_resource_group),
    ("GET", _RG, arm.get_resource_group),
    ("HEAD", _RG, arm.get_resource_group),
    ("DELETE", _RG, arm.delete_resource_group),
    ("POST", _S + r"/providers/Microsoft\.Storage/checkNameAvailability", arm.check_storage_name),
    ("PUT", _ST, arm.put_storage),
    ("GET", _ST, arm.get_storage),
    ("DELETE", _ST, arm.delete_storage),
    ("POST", _ST + "/listKeys", arm.list_storage_keys),
    ("PUT", _VN, network.put_vnet),
    ("GET", _VN, network.get_vnet),
    ("DELETE", _VN, network.delete_vnet),
    ("GET", _VN + r"/subnets/(?P<subnet>[^/]+)", network.get_subnet),
    ("PUT", _VN + r"/subnets/(?P<subnet>[^/]+)", nsg.put_subnet),
    ("PUT", _NSG, nsg.put_nsg),
    ("GET", _NSG, nsg.get_nsg),
    ("DELETE", _NSG, nsg.delete_nsg),
    ("PUT", _NSG + r"/securityRules/(?P<rule>[^/]+)", nsg.put_rule),
    ("GET", _NSG + r"/securityRules/(?P<rule>[^/]+)", nsg.get_rule),
    ("DELETE", _NSG + r"/securityRules/(?P<rule>[^/]+)", nsg.delete_rule),
    ("PUT", _VN + r"/virtualNetworkPeerings/(?P<peering>[^/]+)", network.put_peering),
    ("GET", _VN + r"/virtualNetworkPeerings/(?P<peering>[^/]+)", network.get_peering),
    ("DELETE", _VN + r"/virtualNetworkPeerings/(?P<peering>[^/]+)", network.delete_peering),
    (
        "POST",
        _S + r"/providers/Microsoft\.HDInsight/locations/(?P<loc>[^/]+)/checkNameAvailability",
        hdinsight.check_name,
    ),
    ("PUT", _CL, hdinsight.put_cluster),
    ("GET", _CL, hdinsight.get_cluster),
    ("DELETE", _CL, hdinsight.delete_cluster),
    ("POST", _CL + "/listHosts", hdinsight.list_hosts),
    ("GET", _CL + "/applications", applications.list_applications),
    ("PUT", _CL + r"/applications/(?P<app>[^/]+)", applications.put_application),
    ("GET", _CL + r"/applications/(?P<app>[^/]+)", applications.get_application),
    ("DELETE", _CL + r"/applications/(?P<app>[^/]+)", applications.delete_application),
    ("GET", _AM, ambari.get_cluster),
    ("PUT", _AM, ambari.put_cluster),
    ("GET", _AM + "/configurations", ambari.get_configurations),
    ("GET", _AM + "/services/KAFKA", ambari.get_service),
    ("PUT", _AM + "/services/KAFKA", ambari.put_service),
    ("GET", _AM + r"/services/KAFKA/components/(?P<component>[^/]+)", ambari.get_component),
    ("GET", _AM + r"/requests/(?P<request>\d+)", ambari.get_request),
    ("GET", _AM + "/hosts", ambari.list_hosts),
    ("GET", _AM + r"/hosts/(?P<host>[^/]+)", ambari.get_host),
    *private_dns.ROUTES,
]
_COMPILED = [(method, re.compile(pattern + "/?$", re.IGNORECASE), fn) for method, pattern, fn in ROUTES]
_OPERATION = re.compile(
    r"(?P<target>/subscriptions/.+)/(?P<kind>azureasyncoperations|operationresults)/(?P<op>op[0-9a-f]{24})/?$",
    re.IGNORECASE,
)

#: How long an operation poll waits server-side for a gated operation to move (bounds a client's
#: poll rate even with ``polling_interval=0``).
POLL_HOLD_S = 0.5


def route(method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
    """The handler and path parameters of a request, None when nothing matches."""
    for route_method, pattern, fn in _COMPILED:
        if route_method == method and (match := pattern.match(path)):
            return fn, match.groupdict()
    return None


def poll_operation(cloud: Cloud, req: Request) -> Response:
    """GET an ``azureasyncoperations`` / ``operationresults`` URL."""
    store = cloud.store
    deadline = time.monotonic() + POLL_HOLD_S
    while True:
        with store.lock:
            op = store.operations.get(req.params["op"])
            if op is None or op["target"].lower() != req.params["target"].lower():
                raise ArmError(404, "OperationNotFound", f"Operation {req.params['op']} was not found.")
            first = op["polls"] == 0 and op.get("gate") is not None
            status = lro.evaluate(store, op, count_poll=True)
            if status != "InProgress" or op.get("gate") is None or first or time.monotonic() >= deadline:
                if op.get("gate") is not None:
                    op["polls"] += 1
                target = store.get(op["target"])
                body = arm.resource_json(target) if target is not None else None
                kind = "async" if req.params["kind"].lower() == "azureasyncoperations" else "location"
                return lro.answer(store, req, op, kind, body)
        time.sleep(0.05)


class EmulatorServer(ThreadingHTTPServer):
    """The HTTPS server; :attr:`cloud` holds everything it serves."""

    daemon_threads = True

    def __init__(self, cloud: Cloud, port: int, cert_file: Path) -> None:
        super().__init__(("127.0.0.1", port), RequestHandler)
        self.cloud = cloud
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert_file))
        # The handshake happens in the request's thread, not in the accept loop.
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.log_lock = threading.Lock()
        self.log_path = cloud.home / "requests.jsonl"


class RequestHandler(BaseHTTPRequestHandler):
    """Dispatches one request."""

    protocol_version = "HTTP/1.1"
    server: EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr log (``requests.jsonl`` is the log)."""

    def do_GET(self) -> None:
        """GET."""
        self._dispatch()

    def do_HEAD(self) -> None:
        """HEAD."""
        self._dispatch()

    def do_PUT(self) -> None:
        """PUT."""
        self._dispatch()

    def do_POST(self) -> None:
        """POST."""
        self._dispatch()

    def do_DELETE(self) -> None:
        """DELETE."""
        self._dispatch()

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ArmError(400, "InvalidRequestContent", "The request content is not valid JSON.") from None

    def _dispatch(self) -> None:
        cloud = self.server.cloud
        parts = urlsplit(self.path)
        path = parts.path
        early: Response | None = None
        body: Any = None
        try:
            body = self._read_body()
        except ArmError as exc:
            early = exc.response()
        req = Request(
            method=self.command,
            path=path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            base_url=cloud.base_url,
        )
        if path.startswith("/_emulator/"):
            self._send(handle(self.server, req))
            return
        response = early or self._answer(cloud, req)
        self._send(response)
        entry = {"time": time.time(), "method": self.command, "path": path, "status": response.status}
        with self.server.log_lock, open(self.server.log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")

    def _answer(self, cloud: Cloud, req: Request) -> Response:
        try:
            fault = _fault(cloud)
            if fault is not None:
                return fault
            if req.path.lower().startswith("/subscriptions/"):
                scheme, _, token = req.header("Authorization").partition(" ")
                if scheme.lower() != "bearer" or not token.strip():
                    raise ArmError(
                        401,
                        "AuthenticationFailed",
                        "Authentication failed. The 'Authorization' header is missing or not a bearer token.",
                    )
                if not req.api_version:
                    raise ArmError(
                        400,
                        "MissingApiVersionParameter",
                        "The api-version query parameter (?api-version=) is required for all requests.",
                    )
            if req.method == "GET" and (match := _OPERATION.match(req.path)):
                req.params = match.groupdict()
                return poll_operation(cloud, req)
            found = route(req.method, req.path)
            if found is None:
                raise ArmError(
                    404,
                    "NotFound",
                    f"No emulated {req.method} endpoint for {req.path} (kdrtui lab emulator).",
                )
            handler, req.params = found
            with cloud.store.lock:
                return handler(cloud, req)
        except ArmError as exc:
            return exc.response()
        except Exception as exc:
            _log.exception("%s %s failed", req.method, req.path)
            return ArmError(
                500, "InternalServerError", f"The emulator failed: {type(exc).__name__}"
            ).response()

    def _send(self, response: Response) -> None:
        data = response.encode()
        self.send_response(response.status)
        headers = {"x-ms-request-id": f"{time.time_ns():x}"} | response.headers
        if data:
            headers["Content-Type"] = "application/json; charset=utf-8"
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)


def _fault(cloud: Cloud) -> Response | None:
    """A 429 or 500 from the fault knobs, consuming one of them, or None."""
    faults = cloud.faults
    with cloud.store.lock:
        if faults.throttle > 0:
            faults.throttle -= 1
            return ArmError(
                429,
                "TooManyRequests",
                "The request is being throttled (fault injected by the lab emulator).",
                {"Retry-After": str(faults.retry_after)},
            ).response()
        if faults.errors_500 > 0:
            faults.errors_500 -= 1
            return ArmError(
                500, "InternalServerError", "An internal error occurred (fault injected by the lab emulator)."
            ).response()
    return None
