"""Each cluster's Ambari REST API, as far as the provisioner uses it (REFERENCE §4, HDInsight Kafka).

Served at ``https://127.0.0.1:<port>/api/v1/clusters/<cluster>/...``, with basic auth (the cluster's
gateway user and password; 401 otherwise) and ``X-Requested-By: ambari`` required on writes (400
otherwise). Configurations are versioned by tag (``kafka-env`` with its ``content`` template,
``kafka-broker`` with ``listeners=PLAINTEXT://localhost:<broker port>``); a PUT of a new
``desired_config`` makes its tag the desired one. ``PUT /services/KAFKA`` with state ``INSTALLED``
really stops the lab broker and ``STARTED`` starts it again, as request ``N`` polled at
``/requests/N`` (IN_PROGRESS -> COMPLETED).

Config changes are recorded, not applied: the lab broker keeps its loopback listener
(``127.0.0.1:<port>``) whatever ``listeners`` or ``advertised.listeners`` the provisioner writes,
which is what a client on this machine needs anyway.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import time
from importlib.resources import files
from typing import Any

from kdrtui.domain import azure_names
from kdrtui.lab.azure.cloud import Cloud
from kdrtui.lab.azure.state import Record
from kdrtui.lab.azure.web import ArmError, Request, Response, as_dict

KAFKA_ENV_TEMPLATE = "kafka-env.template"
"""HDInsight's stock ``kafka-env`` ``content`` (an Ambari Jinja template of a bash script), package data
beside this module: what a new cluster's kafka-env holds before the provisioner appends to it."""


@functools.cache
def kafka_env_content() -> str:
    """The text of :data:`KAFKA_ENV_TEMPLATE`."""
    return files("kdrtui.lab.azure").joinpath(KAFKA_ENV_TEMPLATE).read_text(encoding="utf-8")


class AmbariError(ArmError):
    """An Ambari error answer: ``{"status": N, "message": ...}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, "Ambari", message, headers)

    def response(self) -> Response:
        """The error in Ambari's shape."""
        return Response(self.status, {"status": self.status, "message": self.message}, dict(self.headers))


KAFKA_CONFIGS = ("kafka-env", "kafka-broker")
"""Config types whose change leaves the brokers with ``stale_configs`` until Kafka restarts."""


def broker_host(record: Record) -> str:
    """The one Kafka broker host of a cluster: ``wn0-<first six characters>``."""
    return f"wn0-{azure_names.node_name_prefix(record['name'])}"


def initial_configs(cloud: Cloud, record: Record) -> None:
    """The configurations a new cluster starts with (tag ``version1``)."""
    port = cloud.runtime.port_base + 10 * record["private"]["slot"]
    prefix = azure_names.node_name_prefix(record["name"])
    zookeepers = ",".join(f"zk{i}-{prefix}:2181" for i in range(3))
    configs = {
        "kafka-env": {
            "content": kafka_env_content(),
            "kafka_user": "kafka",
            "kafka_log_dir": "/var/log/kafka",
            "kafka_pid_dir": "/var/run/kafka",
        },
        "kafka-broker": {
            "listeners": f"PLAINTEXT://localhost:{port}",
            "log.dirs": "/kafka/kafka-logs",
            "zookeeper.connect": zookeepers,
            "auto.create.topics.enable": "false",
            "default.replication.factor": "3",
            "min.insync.replicas": "2",
            "num.partitions": "8",
            "offsets.topic.replication.factor": "3",
            "unclean.leader.election.enable": "false",
        },
    }
    record["private"]["configs"] = {
        kind: {"version1": {"version": 1, "properties": props}} for kind, props in configs.items()
    }
    record["private"]["desired"] = dict.fromkeys(configs, "version1")


def _cluster(cloud: Cloud, req: Request) -> Record:
    name = req.params["cluster"].lower()
    record = next((c for c in cloud.store.of_kind("cluster") if c["name"].lower() == name), None)
    if record is None:
        raise AmbariError(404, f"The requested resource doesn't exist: Cluster not found, clusterName={name}")
    if record["properties"]["provisioningState"] != "Succeeded":
        raise AmbariError(
            503, f"The cluster's gateway is not available yet ({record['properties']['clusterState']})"
        )
    _authenticate(cloud, record, req)
    if req.method != "GET" and req.header("X-Requested-By") == "":
        raise AmbariError(400, "CSRF protection is turned on. X-Requested-By HTTP header is required.")
    return record


def _authenticate(cloud: Cloud, record: Record, req: Request) -> None:
    scheme, _, encoded = req.header("Authorization").partition(" ")
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user = password = ""
    private = record["private"]
    if (
        scheme.lower() != "basic"
        or user != private["gateway_user"]
        # A record saved before the HMAC (only ``gateway_password_sha256``) never authenticates.
        or not hmac.compare_digest(cloud.password_digest(password), private.get("gateway_password_hmac", ""))
    ):
        raise AmbariError(401, "Authentication required", {"WWW-Authenticate": 'Basic realm="ambari"'})


def _href(req: Request, record: Record, tail: str = "") -> str:
    return f"{req.base_url}/api/v1/clusters/{record['name']}{tail}"


def get_cluster(cloud: Cloud, req: Request) -> Response:
    """GET the cluster (``?fields=Clusters/desired_configs``)."""
    record = _cluster(cloud, req)
    configs = record["private"]["configs"]
    desired = {
        kind: {"tag": tag, "user": "admin", "version": configs[kind][tag]["version"]}
        for kind, tag in record["private"]["desired"].items()
    }
    info = {"cluster_name": record["name"], "version": "HDP-5.1", "desired_configs": desired}
    return Response(200, {"href": _href(req, record), "Clusters": info})


def get_configurations(cloud: Cloud, req: Request) -> Response:
    """GET ``/configurations?type=T&tag=X`` (properties only when both are given, as Ambari does)."""
    record = _cluster(cloud, req)
    kind, tag = req.query.get("type"), req.query.get("tag")
    items = []
    for config_type, tags in record["private"]["configs"].items():
        if kind is not None and config_type != kind:
            continue
        for config_tag, config in tags.items():
            if tag is not None and config_tag != tag:
                continue
            item: dict[str, Any] = {
                "href": _href(req, record, f"/configurations?type={config_type}&tag={config_tag}"),
                "tag": config_tag,
                "type": config_type,
                "version": config["version"],
                "Config": {"cluster_name": record["name"]},
            }
            if kind is not None and tag is not None:
                item["properties"] = config["properties"]
            items.append(item)
    return Response(200, {"href": _href(req, record, "/configurations"), "items": items})


def put_cluster(cloud: Cloud, req: Request) -> Response:
    """PUT ``{"Clusters": {"desired_config": {type, tag, properties}}}`` (or a list of them)."""
    record = _cluster(cloud, req)
    body = as_dict(req.body)
    wanted = (body.get("Clusters") or {}).get("desired_config")
    entries: list[dict[str, Any]] = [as_dict(e) for e in (wanted if isinstance(wanted, list) else [wanted])]
    if not entries or not all(e.get("type") and e.get("tag") for e in entries):
        raise AmbariError(400, "Clusters/desired_config needs a type and a tag")
    configs = record["private"]["configs"]
    done = []
    for entry in entries:
        kind, tag = str(entry["type"]), str(entry["tag"])
        tags = configs.setdefault(kind, {})
        if tag in tags and "properties" in entry:
            raise AmbariError(400, f"Configuration with tag '{tag}' exists for '{kind}'")
        if tag not in tags:
            if not isinstance(entry.get("properties"), dict):
                raise AmbariError(400, f"Configuration {kind} with tag '{tag}' needs properties")
            version = 1 + max((c["version"] for c in tags.values()), default=0)
            tags[tag] = {
                "version": version,
                "properties": {k: str(v) for k, v in entry["properties"].items()},
            }
        if record["private"]["desired"].get(kind) != tag and kind in KAFKA_CONFIGS:
            # As Ambari: the running brokers use the old config until Kafka is restarted.
            record["private"]["stale_configs"] = True
        record["private"]["desired"][kind] = tag
        done.append({"type": kind, "tag": tag, "version": tags[tag]["version"]})
    cloud.store.save()
    return Response(200, {"resources": [{"href": _href(req, record), "configurations": done}]})


def get_service(cloud: Cloud, req: Request) -> Response:
    """GET ``/services/KAFKA``."""
    record = _cluster(cloud, req)
    info = {
        "cluster_name": record["name"],
        "service_name": "KAFKA",
        "state": record["private"]["kafka_state"],
    }
    return Response(200, {"href": _href(req, record, "/services/KAFKA"), "ServiceInfo": info})


def put_service(cloud: Cloud, req: Request) -> Response:
    """PUT ``/services/KAFKA`` state INSTALLED (stop) or STARTED (start): 202 with request ``N``."""
    record = _cluster(cloud, req)
    body = as_dict(req.body)
    state = str(((body.get("Body") or {}).get("ServiceInfo") or {}).get("state", ""))
    if state not in ("INSTALLED", "STARTED"):
        raise AmbariError(400, f"Invalid desired state {state!r} for KAFKA: use INSTALLED or STARTED")
    private = record["private"]
    key = f"broker:{record['name']}"
    job = cloud.runtime.job(key)
    if private["kafka_state"] == state and (job is None or job.state() != "running"):
        return Response(200)  # Ambari answers 200 with no body when there is nothing to do
    private["kafka_state"] = state
    if state == "INSTALLED":
        cloud.runtime.stop_broker(record["name"], private["slot"], purge=False)
    else:
        cloud.runtime.start_broker(record["name"], private["slot"], record["location"])
        private["stale_configs"] = False  # a started broker reads the desired configs
    number = cloud.store.next_request_id()
    context = str((body.get("RequestInfo") or {}).get("context", f"Set KAFKA to {state}"))
    cloud.store.ambari_requests[str(number)] = {
        "id": number,
        "cluster": record["name"],
        "context": context,
        "started": time.time(),
        "status": "IN_PROGRESS",
    }
    cloud.store.save()
    href = _href(req, record, f"/requests/{number}")
    return Response(202, {"href": href, "Requests": {"id": number, "status": "Accepted"}})


def get_request(cloud: Cloud, req: Request) -> Response:
    """GET ``/requests/N``: IN_PROGRESS while the broker stops or starts, then COMPLETED (or FAILED)."""
    record = _cluster(cloud, req)
    request = cloud.store.ambari_requests.get(req.params["request"])
    if request is None or request["cluster"] != record["name"]:
        raise AmbariError(
            404, f"The requested resource doesn't exist: Request not found, id={req.params['request']}"
        )
    if request["status"] == "IN_PROGRESS":
        job = cloud.runtime.job(f"broker:{record['name']}")
        state = job.state() if job is not None else "done"
        if state != "running":
            request["status"] = "COMPLETED" if state == "done" else "FAILED"
            request["ended"] = time.time()
            cloud.store.save()
    elapsed = time.time() - request["started"]
    progress = 100.0 if request["status"] != "IN_PROGRESS" else min(95.0, 10.0 + 15.0 * elapsed)
    info = {
        "id": request["id"],
        "cluster_name": record["name"],
        "request_context": request["context"],
        "request_status": request["status"],
        "progress_percent": round(progress, 1),
        "start_time": int(request["started"] * 1000),
        "end_time": int(request.get("ended", -0.001) * 1000),
    }
    return Response(200, {"href": _href(req, record, f"/requests/{request['id']}"), "Requests": info})


def get_component(cloud: Cloud, req: Request) -> Response:
    """GET ``/services/KAFKA/components/KAFKA_BROKER``: its one host."""
    record = _cluster(cloud, req)
    if req.params["component"].upper() != "KAFKA_BROKER":
        raise AmbariError(404, f"The requested resource doesn't exist: {req.params['component']}")
    host = broker_host(record)
    started = record["private"]["kafka_state"] == "STARTED"
    info = {
        "cluster_name": record["name"],
        "component_name": "KAFKA_BROKER",
        "service_name": "KAFKA",
        "state": record["private"]["kafka_state"],
        "started_count": 1 if started else 0,
        "total_count": 1,
    }
    roles = {
        "cluster_name": record["name"],
        "component_name": "KAFKA_BROKER",
        "host_name": host,
        "state": record["private"]["kafka_state"],
        "stale_configs": bool(record["private"].get("stale_configs", False)),
    }
    href = _href(req, record, "/services/KAFKA/components/KAFKA_BROKER")
    component = {
        "href": f"{_href(req, record, f'/hosts/{host}')}/host_components/KAFKA_BROKER",
        "HostRoles": roles,
    }
    return Response(200, {"href": href, "ServiceComponentInfo": info, "host_components": [component]})


def get_host(cloud: Cloud, req: Request) -> Response:
    """GET ``/hosts/<host>``: its ip is 127.0.0.1 (every lab node is this machine)."""
    record = _cluster(cloud, req)
    host = req.params["host"]
    if host.lower() != broker_host(record):
        raise AmbariError(404, f"The requested resource doesn't exist: Host not found, hostname={host}")
    info = {"cluster_name": record["name"], "host_name": host, "ip": "127.0.0.1", "host_state": "HEALTHY"}
    return Response(200, {"href": _href(req, record, f"/hosts/{host}"), "Hosts": info})


def list_hosts(cloud: Cloud, req: Request) -> Response:
    """GET ``/hosts``."""
    record = _cluster(cloud, req)
    host = broker_host(record)
    items = [
        {
            "href": _href(req, record, f"/hosts/{host}"),
            "Hosts": {"cluster_name": record["name"], "host_name": host},
        }
    ]
    return Response(200, {"href": _href(req, record, "/hosts"), "items": items})
