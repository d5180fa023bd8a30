"""The Ambari REST API of an HDInsight cluster: Kafka's configuration, its restart, its brokers.

``https://<HTTPS endpoint>:<port>/api/v1/clusters/<name>``, basic auth as ``admin`` with the cluster login
password, ``X-Requested-By: ambari`` on writes (REFERENCE §4). Synchronous (``requests``): call it from a
worker thread. The password lives in the session's auth only; it is never logged or raised in an error.
"""

from __future__ import annotations

import time
from typing import Any

KAFKA_ENV = "kafka-env"
KAFKA_BROKER = "kafka-broker"


class AmbariError(RuntimeError):
    """An Ambari call failed; the text names the call and the status, never the credentials."""


def ambari_base(cluster: dict[str, Any], name: str) -> str:
    """The Ambari base URL from a cluster's GET body (its ``HTTPS`` connectivity endpoint)."""
    endpoints = cluster.get("properties", {}).get("connectivityEndpoints") or []
    for endpoint in endpoints:
        if str(endpoint.get("name", "")).upper() == "HTTPS":
            location = endpoint.get("location") or f"{name}.azurehdinsight.net"
            port = int(endpoint.get("port") or 443)
            return f"https://{location}:{port}/api/v1/clusters/{name}"
    return f"https://{name}.azurehdinsight.net:443/api/v1/clusters/{name}"


class AmbariClient:
    """One cluster's Ambari, through one ``requests`` session."""

    def __init__(
        self, base_url: str, password: str, *, verify: str | bool = True, timeout: float = 30
    ) -> None:
        import requests

        self.base_url = base_url.rstrip("/")
        self._session = requests.Session()
        self._session.auth = ("admin", password)
        # Passed on every request: a session-wide verify loses to $REQUESTS_CA_BUNDLE (psf/requests#3829).
        self._verify = verify
        self._timeout = timeout

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def _call(self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None) -> Any:
        import requests

        url = f"{self.base_url}{path}"
        headers = {"X-Requested-By": "ambari"} if method != "GET" else {}
        for attempt in range(5):
            try:
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    json=body,
                    headers=headers,
                    timeout=self._timeout,
                    verify=self._verify,
                )
            except requests.RequestException as exc:
                if attempt == 4:
                    raise AmbariError(f"Ambari {method} {path}: {type(exc).__name__}") from None
                time.sleep(1 + attempt)
                continue
            if response.status_code in (429, 502, 503, 504) and attempt < 4:
                time.sleep(float(response.headers.get("Retry-After") or 1 + attempt))
                continue
            if response.status_code >= 400:
                raise AmbariError(f"Ambari {method} {path}: HTTP {response.status_code} {_message(response)}")
            if not response.content:
                return {}
            try:
                return response.json()
            except ValueError:
                return {}
        raise AmbariError(f"Ambari {method} {path}: no answer")

    # -- configuration ------------------------------------------------------------------------------

    def desired_tags(self) -> dict[str, str]:
        """Config type -> the tag in use (``?fields=Clusters/desired_configs``)."""
        answer = self._call("GET", "", params={"fields": "Clusters/desired_configs"})
        configs = answer.get("Clusters", {}).get("desired_configs", {})
        return {kind: str(value.get("tag", "")) for kind, value in configs.items()}

    def config(self, kind: str, tag: str) -> dict[str, str]:
        """The properties of config ``kind`` at ``tag``."""
        answer = self._call("GET", "/configurations", params={"type": kind, "tag": tag})
        items = answer.get("items") or []
        if not items:
            raise AmbariError(f"Ambari has no {kind} config with tag {tag}")
        return {str(k): str(v) for k, v in (items[0].get("properties") or {}).items()}

    def current_config(self, kind: str) -> dict[str, str]:
        """The properties of config ``kind`` as the cluster uses them now."""
        tags = self.desired_tags()
        if kind not in tags:
            raise AmbariError(f"Ambari has no desired {kind} config")
        return self.config(kind, tags[kind])

    def put_config(self, kind: str, properties: dict[str, str]) -> str:
        """Make ``properties`` the desired config of ``kind`` under a new tag; returns the tag."""
        tag = f"version{time.time_ns()}"
        body = {"Clusters": {"desired_config": {"type": kind, "tag": tag, "properties": properties}}}
        self._call("PUT", "", body=body)
        return tag

    # -- services -----------------------------------------------------------------------------------

    def set_service_state(self, service: str, state: str, context: str) -> int | None:
        """PUT the service's state (``INSTALLED`` stops it, ``STARTED`` starts it); the request id, or
        None when Ambari had nothing to do (it answers 200 without a request)."""
        body = {"RequestInfo": {"context": context}, "Body": {"ServiceInfo": {"state": state}}}
        answer = self._call("PUT", f"/services/{service}", body=body)
        request = answer.get("Requests", {}) if isinstance(answer, dict) else {}
        return int(request["id"]) if "id" in request else None

    def request_status(self, request_id: int) -> tuple[str, float]:
        """(request_status, progress_percent) of an Ambari request."""
        answer = self._call("GET", f"/requests/{request_id}")
        info = answer.get("Requests", {})
        return str(info.get("request_status", "")), float(info.get("progress_percent") or 0)

    def wait_request(self, request_id: int, *, timeout: float = 1800, interval: float = 1.0) -> None:
        """Poll ``/requests/{id}`` until ``COMPLETED``; AmbariError when it fails or times out."""
        deadline = time.monotonic() + timeout
        while True:
            status, _progress = self.request_status(request_id)
            if status == "COMPLETED":
                return
            if status in ("FAILED", "ABORTED", "TIMEDOUT"):
                raise AmbariError(f"Ambari request {request_id} ended {status}")
            if time.monotonic() > deadline:
                raise AmbariError(f"Ambari request {request_id} still {status} after {timeout:.0f} s")
            time.sleep(interval)

    # -- hosts --------------------------------------------------------------------------------------

    def kafka_broker_roles(self) -> list[dict[str, Any]]:
        """``HostRoles`` of every KAFKA_BROKER host component (host_name, state, stale_configs)."""
        answer = self._call("GET", "/services/KAFKA/components/KAFKA_BROKER")
        return [dict(item.get("HostRoles") or {}) for item in answer.get("host_components") or []]

    def needs_restart(self) -> bool:
        """Whether a Kafka broker runs with stale configs (changed since it started) or is stopped."""
        return any(
            role.get("stale_configs") is True or role.get("state", "STARTED") != "STARTED"
            for role in self.kafka_broker_roles()
        )

    def broker_hosts(self) -> list[str]:
        """Host names running KAFKA_BROKER."""
        return [str(role["host_name"]) for role in self.kafka_broker_roles() if role.get("host_name")]

    def host_ip(self, host: str) -> str:
        """The IP address of ``host`` (``/hosts/{h}`` → ``Hosts.ip``)."""
        answer = self._call("GET", f"/hosts/{host}")
        ip = answer.get("Hosts", {}).get("ip")
        if not ip:
            raise AmbariError(f"Ambari knows no IP address for host {host}")
        return str(ip)


def _message(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return str(response.reason or "")
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or response.reason or "")[:300]
    return str(response.reason or "")
