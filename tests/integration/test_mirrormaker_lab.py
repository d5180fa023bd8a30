"""MirrorMaker managed over SSH on the lab's edge node: real sshd (or the asyncssh lab server), real
MirrorMaker 2 and 1 from the Maven jars, real Kafka brokers. Driven through the `kdrtui mm` CLI."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kdrtui.domain.lag import Health, LagSnapshot, TopicLag
from kdrtui.domain.plan import MirrorMakerKind, Naming, Plan
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka.lag_engine import LagEngine
from kdrtui.services.plan_files import load_plan, save_plan
from tests.kafka_helpers import consume_partitions, create_topic, produce_numbered
from tests.lab_helpers import lab_plan_variant, mirrormaker_jvms, mm

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab_mm2(lab: Lab) -> Iterator[Lab]:
    """MirrorMaker 2 of the lab plan stopped before and after this module."""
    mm("stop", "--plan", "lab")
    yield lab
    mm("stop", "--plan", "lab")


def test_mm2_mirrors_10000_keyed_records_in_order(lab_mm2: Lab, unique_name: str) -> None:
    lab = lab_mm2
    work = str(load_plan(lab.plan_path).edge_nodes[0].work_dir)
    create_topic(lab.bootstrap(PRIMARY), unique_name, partitions=3)
    sent = produce_numbered(lab.bootstrap(PRIMARY), unique_name, 10_000)

    started = time.monotonic()
    result = mm("start", "--plan", "lab")
    assert result.exit_code == 0, result.output
    assert "running (pid" in result.output
    first: list[float] = []
    got = consume_partitions(
        lab.bootstrap(DR),
        f"{PRIMARY}.{unique_name}",
        3,
        10_000,
        timeout=90,
        on_first=lambda: first.append(time.monotonic() - started),
        why=lambda: mm("status", "--plan", "lab").output,
    )
    assert got == sent, "every record once, in its partition's order"
    print(
        f"\nmm start -> first mirrored record {first[0]:.1f} s; all 10,000 {time.monotonic() - started:.1f} s"
    )
    assert first[0] <= 30

    status = mm("status", "--plan", "lab", "--json")
    assert status.exit_code == 0, status.output
    (dep,) = json.loads(status.output)["deployments"]
    assert dep["state"] == "running" and dep["pid"] and dep["drift"] == []
    assert dep["connectors"][f"{PRIMARY}->{DR} MirrorSourceConnector"] == "RUNNING"

    again = mm("start", "--plan", "lab")
    assert again.exit_code == 0 and "already running" in again.output
    assert mirrormaker_jvms(work) == [dep["pid"]], "start twice leaves exactly one MirrorMaker"

    stopped = mm("stop", "--plan", "lab")
    assert stopped.exit_code == 0, stopped.output
    assert mirrormaker_jvms(work) == []
    after = json.loads(mm("status", "--plan", "lab", "--json").output)["deployments"][0]
    assert after["state"] == "stopped"


def test_a_crash_is_reported_with_exit_code_and_log(lab_mm2: Lab, tmp_path: Path, unique_name: str) -> None:
    plan = lab_plan_variant(lab_mm2, tmp_path, "crash.toml", flow={"topics": [unique_name]})
    assert mm("start", "--plan", str(plan)).exit_code == 0
    (pid,) = mirrormaker_jvms(str(tmp_path / "work"))
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while True:
        status = json.loads(mm("status", "--plan", str(plan), "--json").output)["deployments"][0]
        if status["state"] == "crashed" or time.monotonic() > deadline:
            break
    assert status["state"] == "crashed", status
    assert status["exit_code"] == 137
    assert any("exited with code 137" in line for line in status["log_tail"])
    human = mm("status", "--plan", str(plan))
    assert human.exit_code == 1 and "CRASHED" in human.output and "exit code 137" in human.output


def test_identity_naming_keeps_topic_names(lab_mm2: Lab, tmp_path: Path, unique_name: str) -> None:
    plan = lab_plan_variant(
        lab_mm2, tmp_path, "identity.toml", flow={"topics": [unique_name], "naming": Naming.IDENTITY}
    )
    create_topic(lab_mm2.bootstrap(PRIMARY), unique_name, partitions=2)
    sent = produce_numbered(lab_mm2.bootstrap(PRIMARY), unique_name, 1_000)
    try:
        assert mm("start", "--plan", str(plan)).exit_code == 0
        got = consume_partitions(lab_mm2.bootstrap(DR), unique_name, 2, 1_000, timeout=90)
        assert got == sent
    finally:
        mm("stop", "--plan", str(plan))


def test_mm1_mirrors_with_the_3_9_jars(lab_mm2: Lab, tmp_path: Path, unique_name: str) -> None:
    plan = lab_plan_variant(
        lab_mm2,
        tmp_path,
        "mm1.toml",
        flow={"topics": [unique_name], "mirrormaker": MirrorMakerKind.MM1, "naming": Naming.IDENTITY},
    )
    create_topic(lab_mm2.bootstrap(PRIMARY), unique_name, partitions=2)
    sent = produce_numbered(lab_mm2.bootstrap(PRIMARY), unique_name, 1_000)
    try:
        started = mm("start", "--plan", str(plan))
        assert started.exit_code == 0, started.output
        assert "created 1 topic(s) on dr for MirrorMaker 1" in started.output
        got = consume_partitions(lab_mm2.bootstrap(DR), unique_name, 2, 1_000, timeout=90)
        assert got == sent
        jvms = mirrormaker_jvms(str(tmp_path / "work"))
        assert len(jvms) == 1
        cmdline = Path(f"/proc/{jvms[0]}/cmdline").read_bytes()
        assert b"kafka.tools.MirrorMaker" in cmdline
        # Lag of an MM1 flow: its consumer group's committed offsets against the source's end offsets.
        engine = LagEngine(load_plan(plan))
        try:
            caught_up = first_of(lambda: mm1_topic(engine.refresh(), unique_name), timeout=60)
            assert (caught_up.lag_records, caught_up.health) == (0, Health.OK)
            assert sum(p.replicated for p in caught_up.partitions) == 1_000
            stopped = mm("stop", "--plan", str(plan))
            assert stopped.exit_code == 0, stopped.output
            produce_numbered(lab_mm2.bootstrap(PRIMARY), unique_name, 250, start=1_000)
            behind = first_of(
                lambda: mm1_topic(engine.refresh(), unique_name, lag=250, health=Health.STOPPED), timeout=60
            )
            assert sum(p.replicated for p in behind.partitions) == 1_000
            assert engine.refresh().flows[0].heartbeat_age_s is None  # no member in MM1's group
        finally:
            engine.close()
    finally:
        mm("stop", "--plan", str(plan))
    assert mirrormaker_jvms(str(tmp_path / "work")) == []


def first_of(read: Callable[[], TopicLag | None], timeout: float) -> TopicLag:
    """The first value ``read`` returns that is not None, polled until ``timeout``."""
    deadline = time.monotonic() + timeout
    while (found := read()) is None:
        assert time.monotonic() < deadline, f"not seen within {timeout} s"
        time.sleep(0.5)
    return found


def mm1_topic(
    snapshot: LagSnapshot, topic: str, *, lag: int = 0, health: Health = Health.OK
) -> TopicLag | None:
    """``topic``'s lag in an MM1 snapshot when it has ``lag`` records and ``health``, else None."""
    (flow,) = snapshot.flows
    found = next((t for t in flow.topics if t.topic == topic), None)
    if found is not None and found.lag_records == lag and found.health == health:
        return found
    return None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"kafka_home": "/nonexistent/kafka"}, "kafka_home /nonexistent/kafka on dr-edge-1"),
        ({"port": 1}, "127.0.0.1:1"),
    ],
    ids=["wrong-kafka-home", "unreachable"],
)
def test_bad_node_settings_give_one_clear_message(
    lab: Lab, tmp_path: Path, change: dict[str, object], expected: str
) -> None:
    plan = load_plan(lab.plan_path)
    nodes = [plan.edge_nodes[0].model_copy(update=change)]
    path = tmp_path / "bad.toml"
    save_plan(Plan.model_validate(plan.model_copy(update={"edge_nodes": nodes}).model_dump()), path)
    result = mm("start", "--plan", str(path))
    assert result.exit_code == 1
    assert expected in result.output, result.output
    assert "Traceback" not in result.output


def test_wrong_key_is_an_auth_failure(lab: Lab, tmp_path: Path) -> None:
    import asyncssh

    stranger = tmp_path / "stranger_key"
    stranger.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    stranger.chmod(0o600)
    plan = load_plan(lab.plan_path)
    nodes = [plan.edge_nodes[0].model_copy(update={"key_file": str(stranger)})]
    path = tmp_path / "stranger.toml"
    save_plan(Plan.model_validate(plan.model_copy(update={"edge_nodes": nodes}).model_dump()), path)
    result = mm("status", "--plan", str(path))
    assert result.exit_code == 1
    assert "authentication" in result.output.lower() or "auth" in result.output.lower(), result.output


def test_unknown_flow_or_node_is_bad_input(lab: Lab) -> None:
    flow = mm("status", "--plan", "lab", "--flow", "dr->primary")
    assert flow.exit_code == 2
    assert "no flow 'dr->primary' in the plan; flows are: primary->dr" in flow.output
    node = mm("status", "--plan", "lab", "--node", "ghost")
    assert node.exit_code == 2 and "no edge node 'ghost'" in node.output


def test_drift_is_shown_and_deploy_repairs_it(lab: Lab, tmp_path: Path) -> None:
    plan = lab_plan_variant(lab, tmp_path, "drift.toml")
    assert mm("deploy", "--plan", str(plan)).exit_code == 0
    props = tmp_path / "work" / "mm" / "mm2-dr" / "mm2.properties"
    props.write_text(props.read_text().replace("topic.location = target", "topic.location = source"))
    status = json.loads(mm("status", "--plan", str(plan), "--json").output)["deployments"][0]
    assert status["state"] == "stopped"
    (drift,) = status["drift"]
    assert drift.startswith("mm2.properties: 2 lines differ")
    assert (
        "-offset-syncs.topic.location = source" in drift and "+offset-syncs.topic.location = target" in drift
    )
    redeploy = mm("deploy", "--plan", str(plan))
    assert "uploaded mm2-dr/mm2.properties" in redeploy.output
    assert json.loads(mm("status", "--plan", str(plan), "--json").output)["deployments"][0]["drift"] == []
