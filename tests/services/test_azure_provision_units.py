"""Provisioning without Azure: request bodies (and their secrets), ARM error text, plan-file rewriting,
Kafka's settings, the step order, the password rules and journals kept apart from failover's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest

from kdrtui.domain.plan import parse_plan
from kdrtui.domain.plan_edit import set_values
from kdrtui.domain.runbook import StepFailed
from kdrtui.services.azure import bodies
from kdrtui.services.azure.arm_errors import arm_error_text
from kdrtui.services.azure.clients import AzureClients, AzureSetupError
from kdrtui.services.azure.context import ProvisionContext
from kdrtui.services.azure.kafka_settings import apply_settings, kafka_changes, listener_port
from kdrtui.services.azure.provision import Provisioning, provision_steps
from kdrtui.services.runbook.operate import resumable
from kdrtui.services.runbook.store import RunbookStore

PASSWORD = "Sekr3t-Pass!"
KEY = "c3RvcmFnZS1rZXktdmFsdWU="

PLAN = """\
# a comment at the top
[plan]
name = "unit"          # kept
topology = "cold-standby"

[clusters.primary]
region = "eastus"
resource_group = "rg-east"
vnet_name = "vnet-east"
vnet_cidr = "10.0.0.0/16"
subnet_cidr = "10.0.0.0/24"
bootstrap_servers = []  # set by kdrtui provision

[clusters.primary.hdinsight]
name = "unit-primary"
storage_account = "unitprimary"
login_password_env = "UNIT_LOGIN_PASSWORD"

[clusters.dr]
region = "westus2"
resource_group = "rg-west"
vnet_name = "vnet-west"
vnet_cidr = "10.1.0.0/16"
subnet_cidr = "10.1.0.0/24"

[clusters.dr.hdinsight]
name = "unit-dr"
storage_account = "unitdr"
login_password_env = "UNIT_LOGIN_PASSWORD"

[[edge_nodes]]
name = "dr-edge"
cluster = "dr"
host = "dr-edge.unit-dr-ssh.azurehdinsight.net"  # the application's SSH endpoint
user = "sshuser"
kafka_home = "/usr/hdp/current/kafka-broker"

[[flows]]
source = "primary"
target = "dr"

[azure]
subscription_id = "00000000-0000-0000-0000-000000000001"
endpoint = "https://127.0.0.1:1"
credential = "lab"
"""


def cluster_body() -> dict[str, Any]:
    plan = parse_plan(PLAN)
    return bodies.cluster_body(
        plan.cluster("primary"),
        plan_name="unit",
        subscription="sub",
        password=PASSWORD,
        storage_host="unitprimary.blob.core.windows.net",
        storage_key=KEY,
    )


def test_cluster_body_is_hdinsight_51_kafka_32_in_the_plans_subnet() -> None:
    body = cluster_body()
    props = body["properties"]
    assert (props["clusterVersion"], props["osType"]) == ("5.1", "Linux")
    assert props["clusterDefinition"]["kind"] == "kafka"
    assert props["clusterDefinition"]["componentVersion"] == {"Kafka": "3.2"}
    roles = {role["name"]: role for role in props["computeProfile"]["roles"]}
    assert list(roles) == ["headnode", "workernode", "zookeepernode"]
    assert roles["workernode"]["targetInstanceCount"] >= 3
    assert roles["workernode"]["dataDisksGroups"] == [{"disksPerNode": 2}]
    for role in roles.values():
        assert role["virtualNetworkProfile"]["subnet"].endswith("/virtualNetworks/vnet-east/subnets/kafka")
        assert role["osProfile"]["linuxOperatingSystemProfile"]["username"] == "sshuser"
    (account,) = props["storageProfile"]["storageaccounts"]
    assert account["isDefault"] and account["container"] == "unit-primary"


def test_the_cluster_bodys_secrets_never_reach_facts_journal_or_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio
    import logging
    from types import SimpleNamespace

    from kdrtui.services.azure.clusters import Clusters
    from kdrtui.services.runbook.runner import Runner

    monkeypatch.setenv("UNIT_LOGIN_PASSWORD", PASSWORD)
    plan = parse_plan(PLAN)
    running = {"properties": {"provisioningState": "Succeeded", "clusterState": "Running"}}
    sent: list[Any] = []
    created: set[str] = set()

    def answer(body: Any, cls: Any) -> Any:
        response = SimpleNamespace(http_response=SimpleNamespace(json=lambda: body))
        return cls(response, None, {}) if cls is not None else body

    class ClusterOps:
        def get(self, _group: str, name: str, cls: Any = None) -> Any:
            if name not in created:
                raise ResourceNotFoundError(response=_response(404, {"error": {"code": "NotFound"}}))
            return answer(running, cls)

        def begin_create(self, _group: str, name: str, body: Any) -> Any:
            sent.append(body)
            created.add(name)
            return SimpleNamespace(done=lambda: True, result=lambda: None)

    class Storage:
        def list_keys(self, _group: str, _account: str, cls: Any = None) -> Any:
            return answer({"keys": [{"value": KEY}]}, cls)

        def get_properties(self, _group: str, account: str, cls: Any = None) -> Any:
            blob = {"primaryEndpoints": {"blob": f"https://{account}.blob.core.windows.net/"}}
            return answer({"properties": blob}, cls)

    clients = SimpleNamespace(
        settings=plan.azure,
        subscription_id="sub",
        hdinsight=SimpleNamespace(clusters=ClusterOps()),
        storage=SimpleNamespace(storage_accounts=Storage()),
    )
    ctx = ProvisionContext(plan, tmp_path / "plan.toml", clients)  # type: ignore[arg-type]
    events: list[Any] = []
    journal = RunbookStore("unit", tmp_path / "plan.toml", tmp_path / "state").new_journal("provision")
    runner = Runner("provision", "unit", [Clusters()], ctx, journal, events.append)
    with caplog.at_level(logging.DEBUG):
        result = asyncio.run(runner.run())
    assert result.outcome == "completed", result.error
    assert len(sent) == 2 and all(PASSWORD in json.dumps(b) and KEY in json.dumps(b) for b in sent)
    for where, text in (
        ("facts", json.dumps(ctx.facts.by_step)),
        ("journal", journal.path.read_text()),
        ("events", repr(events)),
        ("log", caplog.text),
    ):
        assert PASSWORD not in text and KEY not in text, f"a secret reached the {where}"


def test_arm_errors_read_code_colon_message() -> None:
    response = _response(
        400, {"error": {"code": "VnetAddressSpacesOverlap", "message": "10.0.0.0/16 overlaps"}}
    )
    exc = HttpResponseError(response=response)
    assert arm_error_text(exc) == "VnetAddressSpacesOverlap: 10.0.0.0/16 overlaps"
    missing = ResourceNotFoundError(
        response=_response(404, {"error": {"code": "ResourceNotFound", "message": "gone"}})
    )
    assert arm_error_text(missing) == "ResourceNotFound: gone"
    bare = HttpResponseError(response=_response(503, None))
    assert arm_error_text(bare).startswith("HTTP 503")
    assert "Authorization" not in arm_error_text(exc)


def _response(status: int, body: Any) -> Any:
    from azure.core.pipeline.transport import RequestsTransportResponse

    class Raw:
        status_code = status
        reason = "Bad"
        headers = {"Content-Type": "application/json"}
        content = json.dumps(body).encode() if body is not None else b"oops"
        encoding = "utf-8"
        text = content.decode()

        def iter_content(self, _size: int) -> Any:
            yield self.content

        def close(self) -> None:
            pass

    request = HttpRequest("PUT", "https://127.0.0.1/x", headers={"Authorization": "Bearer secret-token"})
    response = RequestsTransportResponse(request, Raw())  # type: ignore[arg-type]
    response._content = Raw.content  # read already
    return response


def test_plan_rewrite_keeps_comments_and_validates(tmp_path: Path) -> None:
    text = set_values(
        PLAN,
        {
            ("clusters", "primary", "bootstrap_servers"): ["10.0.0.4:9092", "10.0.0.5:9092"],
            ("clusters", "dr", "bootstrap_servers"): ["10.1.0.4:9092"],
            ("edge_nodes", 0, "host"): "10.1.0.9",
            ("edge_nodes", 0, "port"): 2222,
        },
    )
    plan = parse_plan(text)
    assert plan.cluster("primary").bootstrap_servers == ["10.0.0.4:9092", "10.0.0.5:9092"]
    assert plan.cluster("dr").bootstrap_servers == ["10.1.0.4:9092"]
    assert (plan.edge_nodes[0].host, plan.edge_nodes[0].port) == ("10.1.0.9", 2222)
    for comment in (
        "# a comment at the top",
        "# kept",
        "# set by kdrtui provision",
        "# the application's SSH",
    ):
        assert comment in text
    before = [line for line in PLAN.splitlines() if "bootstrap" not in line and "host" not in line]
    after = [
        line
        for line in text.splitlines()
        if "bootstrap" not in line and "host" not in line and "port" not in line
    ]
    assert before == after, "nothing else changed"
    assert set_values(text, {("clusters", "dr", "bootstrap_servers"): ["10.1.0.4:9092"]}) == text


def test_kafka_settings_change_only_what_is_not_set() -> None:
    env = {"content": "export KAFKA_HEAP_OPTS=-Xmx1G"}
    broker = {"listeners": "PLAINTEXT://localhost:19392", "log.dirs": "/data"}
    new_env, new_broker, port = kafka_changes(env, broker)
    assert port == 19392 and new_env is not None and new_broker is not None
    assert "advertised.listeners=PLAINTEXT://$(hostname -i):19392" in new_env["content"]
    assert new_env["content"].startswith("export KAFKA_HEAP_OPTS=-Xmx1G")
    assert new_broker == {"listeners": "PLAINTEXT://0.0.0.0:19392", "log.dirs": "/data"}
    assert kafka_changes(new_env, new_broker) == (None, None, 19392), "a second look changes nothing"
    assert listener_port("") == 9092


class ScriptedAmbari:
    """Ambari as the step sees it: configs, the brokers' stale flag and service state, what was asked."""

    def __init__(self, *, configured: bool, stale: bool = False, started: bool = True) -> None:
        env = {"content": "export KAFKA_HEAP_OPTS=-Xmx1G"}
        broker = {"listeners": "PLAINTEXT://localhost:19392"}
        if configured:
            new_env, new_broker, _ = kafka_changes(env, broker)
            env, broker = new_env or env, new_broker or broker
        self.configs = {"kafka-env": env, "kafka-broker": broker}
        self.stale, self.started = stale, started
        self.calls: list[str] = []

    def current_config(self, kind: str) -> dict[str, str]:
        return dict(self.configs[kind])

    def put_config(self, kind: str, properties: dict[str, str]) -> str:
        self.calls.append(f"put {kind}")
        self.configs[kind], self.stale = properties, True
        return "version2"

    def needs_restart(self) -> bool:
        return self.stale or not self.started

    def set_service_state(self, service: str, state: str, context: str) -> int:
        self.calls.append(f"{service} {state}")
        self.started = state == "STARTED"
        self.stale = self.stale and not self.started
        return len(self.calls)

    def wait_request(self, request_id: int, *, interval: float = 1.0) -> None:
        self.calls.append(f"wait {request_id}")


@pytest.mark.parametrize(
    ("ambari", "calls", "restarted"),
    [
        pytest.param(
            ScriptedAmbari(configured=False),
            ["put kafka-env", "put kafka-broker", "KAFKA INSTALLED", "wait 3", "KAFKA STARTED", "wait 5"],
            True,
            id="new cluster: set both, restart",
        ),
        pytest.param(ScriptedAmbari(configured=True), [], False, id="done before: nothing"),
        pytest.param(
            ScriptedAmbari(configured=True, stale=True),
            ["KAFKA INSTALLED", "wait 1", "KAFKA STARTED", "wait 3"],
            True,
            id="killed before the restart: restart only",
        ),
        pytest.param(
            ScriptedAmbari(configured=True, started=False),
            ["KAFKA INSTALLED", "wait 1", "KAFKA STARTED", "wait 3"],
            True,
            id="killed between stop and start: start it again",
        ),
    ],
)
def test_kafka_settings_restart_exactly_when_the_brokers_need_it(
    ambari: ScriptedAmbari, calls: list[str], restarted: bool
) -> None:
    result = apply_settings(ambari, lambda *_: None)  # type: ignore[arg-type]
    assert ambari.calls == calls
    assert result["restarted"] is restarted
    assert not ambari.needs_restart()


def test_steps_in_order() -> None:
    assert [step.key for step in provision_steps()] == [
        "preflight",
        "resource-groups",
        "storage",
        "vnets",
        "peering",
        "clusters",
        "edge-nodes",
        "kafka-settings",
        "bootstrap",
        "mirrormaker",
    ]


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        (None, "is not set: export UNIT_LOGIN_PASSWORD"),
        ("Short1!", "at least 10"),
        ("nodigitsHere!", "a digit"),
        ("NoSymbol123x", "a symbol"),
        (PASSWORD, None),
    ],
)
def test_login_password_rules(
    password: str | None, problem: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = parse_plan(PLAN)
    if password is None:
        monkeypatch.delenv("UNIT_LOGIN_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("UNIT_LOGIN_PASSWORD", password)
    ctx = ProvisionContext(plan, tmp_path / "plan.toml", AzureClients(plan))
    if problem is None:
        assert ctx.password("primary") == PASSWORD
        return
    with pytest.raises(StepFailed) as failed:
        ctx.password("primary")
    assert problem in failed.value.summary
    if password:
        assert password not in failed.value.summary, "the value is never echoed"


def test_lab_password_file_beside_the_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNIT_LOGIN_PASSWORD", raising=False)
    (tmp_path / "login-password").write_text(PASSWORD + "\n")
    plan = parse_plan(PLAN)
    ctx = ProvisionContext(plan, tmp_path / "plan.toml", AzureClients(plan))
    assert ctx.password("dr") == PASSWORD


def test_no_subscription_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    plan = parse_plan(PLAN.replace('subscription_id = "00000000-0000-0000-0000-000000000001"\n', ""))
    with pytest.raises(AzureSetupError, match="AZURE_SUBSCRIPTION_ID"):
        AzureClients(plan)


def test_provision_and_failover_journals_stay_apart(tmp_path: Path) -> None:
    plan = parse_plan(PLAN)
    store = RunbookStore("unit", tmp_path / "plan.toml", tmp_path / "state")
    cut = store.new_journal("provision")
    cut.write("run-start", operation="provision", plan="unit")
    cut.write("step-start", step="clusters")
    assert resumable(store) is None, "a provision journal is not an interrupted failover"
    provisioning = Provisioning(plan, tmp_path / "plan.toml", store=store)
    assert provisioning.interrupted() is not None
    failover = store.new_journal("failover")
    failover.write("run-start", operation="failover", plan="unit")
    failover.write("step-start", step="fence")
    pending_failover = resumable(store)
    assert pending_failover is not None and pending_failover.path == failover.path
    pending_provision = provisioning.interrupted()
    assert pending_provision is not None and pending_provision.path == cut.path


def test_last_completed_is_the_newest_provisioning_unless_destroyed_since(tmp_path: Path) -> None:
    plan = parse_plan(PLAN)
    store = RunbookStore("unit", tmp_path / "plan.toml", tmp_path / "state")
    provisioning = Provisioning(plan, tmp_path / "plan.toml", store=store)
    assert provisioning.last_completed() is None

    now = [1_800_000_000.0]

    def clock() -> float:
        now[0] += 0.001  # all within one second: file names alone cannot order them
        return now[0]

    def finished(operation: str) -> Path:
        journal = store.new_journal(operation, clock=clock)
        journal.write("run-start", operation=operation, plan="unit")
        journal.write("run-end", outcome="completed")
        return journal.path

    made = finished("provision")
    found = provisioning.last_completed()
    assert found is not None and found.path == made
    finished("destroy")
    assert provisioning.last_completed() is None, "destroyed since: not provisioned any more"
    cut = store.new_journal("provision", clock=clock)
    cut.write("run-start", operation="provision", plan="unit")
    assert provisioning.last_completed() is None, "the newest provisioning did not complete"


def test_bootstrap_writes_only_when_a_value_changes(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from kdrtui.services.azure.bootstrap import write_values

    path = tmp_path / "plan.toml"
    # What `lab up --azure` writes (tomli_w): the same values, as a multi-line array.
    path.write_text(PLAN.replace("bootstrap_servers = []", 'bootstrap_servers = [\n    "10.0.0.4:9092",\n]'))
    before = path.read_text()
    ctx = SimpleNamespace(plan_path=path, plan=parse_plan(before))
    same = {("clusters", "primary", "bootstrap_servers"): ["10.0.0.4:9092"]}
    assert write_values(ctx, same) is False  # type: ignore[arg-type]
    assert path.read_text() == before, "the same values in another layout: the file is not rewritten"
    other = {("clusters", "primary", "bootstrap_servers"): ["10.0.0.9:9092"]}
    assert write_values(ctx, other) is True  # type: ignore[arg-type]
    assert parse_plan(path.read_text()).cluster("primary").bootstrap_servers == ["10.0.0.9:9092"]
    invalid = {("clusters", "primary", "vnet_cidr"): "10.1.0.0/15", ("edge_nodes", 0, "port"): 0}
    with pytest.raises(StepFailed) as refused:
        write_values(ctx, invalid)  # type: ignore[arg-type]
    assert "\n" not in refused.value.summary and "(and 1 more)" in refused.value.summary
    assert "vnet_cidr" in refused.value.summary, "the summary names the first problem"


def test_waiting_on_a_resource_shows_an_exhausted_retry_as_code_and_message() -> None:
    import asyncio
    from types import SimpleNamespace

    from kdrtui.services.azure.waiting import wait_until_settled

    said: list[tuple[str, str]] = []

    async def call(fn: Any, *args: Any) -> Any:
        return fn(*args)

    def get() -> dict[str, Any]:
        body = {"error": {"code": "TooManyRequests", "message": "Rate limit exceeded.\nRetry later."}}
        raise HttpResponseError(response=_response(429, body))

    ctx = SimpleNamespace(
        call=call,
        poll_seconds=0,
        progress=lambda step, resource, status, state, fraction=0.0: said.append((status, state)),
    )
    with pytest.raises(StepFailed) as failed:
        asyncio.run(
            wait_until_settled(ctx, None, "cluster c", get, lambda b: True, str)  # type: ignore[arg-type]
        )
    assert failed.value.summary == "cluster c: TooManyRequests: Rate limit exceeded."
    assert said == [("failed", "TooManyRequests: Rate limit exceeded.")]


def test_destroy_says_why_mirrormaker_could_not_be_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    from types import SimpleNamespace

    from kdrtui.services.azure import mirror
    from kdrtui.services.ssh import SshError

    class Manager:
        async def select(self) -> list[Any]:
            node = SimpleNamespace(name="dr-edge")
            return [SimpleNamespace(name="hangs", node=node), SimpleNamespace(name="refused", node=node)]

        async def stop(self, dep: Any, _say: Any) -> None:
            if dep.name == "hangs":
                await asyncio.sleep(10)
            raise SshError("connection refused\nby dr-edge:22")

        async def close(self) -> None:
            pass

    monkeypatch.setattr(mirror, "STOP_TIMEOUT_S", 0.05)
    plan = parse_plan(PLAN)
    ctx = ProvisionContext(
        plan, tmp_path / "plan.toml", AzureClients(plan), manager_factory=lambda _p: Manager()
    )
    outcome = asyncio.run(mirror.StopMirrorMaker().run(ctx))
    assert outcome.facts["problems"] == [
        "MirrorMaker hangs on dr-edge: timed out after 0.05 s",
        "MirrorMaker refused on dr-edge: connection refused",
    ]
