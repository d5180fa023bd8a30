"""One MirrorMaker 2 flow on two edge nodes (KIP-710): real brokers (the session lab), two real SSH edge
nodes (the lab's and a second one of the same backend, on its own port and home), real MirrorMaker 2 on
each. One node's JVM is killed with SIGKILL while 20,000 keyed records are mirrored: its tasks move to the
other node, every record arrives in its partition's order, and the lag recovers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from kdrtui.domain.lag import Health
from kdrtui.domain.plan import Plan
from kdrtui.lab import jars
from kdrtui.lab.edge import LabEdgeNode
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.lag_engine import LagEngine
from kdrtui.services.plan_files import load_plan, save_plan
from kdrtui.tui.app import make_app
from kdrtui.tui.screens.edge import EdgeScreen
from tests.kafka_helpers import create_topic, produce_numbered
from tests.lab_helpers import mirrormaker_jvms, mm
from tests.tui.pilot_helpers import screen_lines, until

pytestmark = pytest.mark.lab

ReservePort = Callable[[int], contextlib.AbstractContextManager[int]]
PARTITIONS = 4
SOURCE_TASKS = ("MirrorSourceConnector-0", "MirrorSourceConnector-1")


@pytest.fixture
def second_edge(lab: Lab, tmp_path: Path, reserved_port: ReservePort) -> Iterator[LabEdgeNode]:
    """A second SSH edge node of dr (``dr-edge-2``), of the lab edge node's backend, with its own home and
    port, over the session lab's Kafka jars; stopped afterwards."""
    with reserved_port(12322) as port:
        node = LabEdgeNode(
            tmp_path / "edge-2",
            port=port,
            backend=lab.edge.backend,
            kafka_libs=jars.distribution(lab.kafka_version).libs,
            name="dr-edge-2",
        )
        try:
            node.start()
            yield node
        finally:
            node.stop()


@pytest.fixture
def two_node_plan(
    lab: Lab, second_edge: LabEdgeNode, tmp_path: Path, unique_name: str, reserved_port: ReservePort
) -> Iterator[Path]:
    """The lab plan mirroring only ``unique_name``, run by dr-edge-1 and dr-edge-2 (REST ports reserved),
    each with a work dir of its own; MirrorMaker stopped on both afterwards."""
    with reserved_port(18083) as rest_1, reserved_port(18083) as rest_2:
        base = load_plan(lab.plan_path)
        first = base.edge_nodes[0].model_copy(
            update={"work_dir": str(tmp_path / "work-1"), "mirrormaker_rest_port": rest_1}
        )
        second = {
            **second_edge.plan_entry(),
            "work_dir": str(tmp_path / "work-2"),
            "mirrormaker_rest_port": rest_2,
        }
        flow = base.flows[0].model_copy(update={"topics": [unique_name], "groups": [unique_name]})
        data: dict[str, Any] = base.model_copy(update={"flows": [flow]}).model_dump()
        data["edge_nodes"] = [first.model_dump(), second]
        path = tmp_path / "two-nodes.toml"
        save_plan(Plan.model_validate(data), path)
        try:
            yield path
        finally:
            mm("stop", "--plan", str(path))


def workers(plan: Path) -> dict[str, list[str]]:
    """Node -> the tasks its worker runs, as ``kdrtui mm status --json`` says (the first deployment that
    could read the flow's group)."""
    status = json.loads(mm("status", "--plan", str(plan), "--json").output)
    for dep in status["deployments"]:
        for flow in dep.get("flows", []):
            if flow["workers"]:
                return {w["node"]: w["tasks"] for w in flow["workers"]}
    return {}


def wait_for(read: Callable[[], Any], ok: Callable[[Any], bool], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not ok(found := read()):
        assert time.monotonic() < deadline, f"{what} not within {timeout} s; last: {found}"
        time.sleep(0.5)
    return found


def consume_distinct(bootstrap: str, topic: str, expected: int, timeout: float) -> dict[int, list[bytes]]:
    """Every record of ``topic`` from the start until ``expected`` distinct values arrived (a crash makes
    MirrorMaker send some again: at least once)."""
    consumer = Consumer(
        client_config(bootstrap, **{"group.id": f"check-{topic}", "enable.auto.commit": False})
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    got: dict[int, list[bytes]] = {}
    distinct: set[bytes] = set()
    deadline = time.monotonic() + timeout
    try:
        while len(distinct) < expected:
            assert time.monotonic() < deadline, f"{len(distinct)} of {expected} records within {timeout} s"
            for msg in consumer.consume(num_messages=1000, timeout=0.5):
                value = msg.value()
                if msg.error() is None and isinstance(value, bytes):
                    got.setdefault(msg.partition() or 0, []).append(value)
                    distinct.add(value)
    finally:
        consumer.close()
    return got


def test_a_killed_node_hands_its_tasks_over(
    lab: Lab, two_node_plan: Path, tmp_path: Path, unique_name: str
) -> None:
    create_topic(lab.bootstrap(PRIMARY), unique_name, partitions=PARTITIONS)
    started = mm("start", "--plan", str(two_node_plan))
    assert started.exit_code == 0, started.output
    assert started.output.count("running (pid") == 2, started.output

    # Connect balances the tasks by count, not by connector: whichever node runs MirrorSourceConnector-0
    # is the one killed.
    spread = wait_for(
        lambda: workers(two_node_plan),
        lambda w: len(w) == 2 and set(SOURCE_TASKS) <= {task for tasks in w.values() for task in tasks},
        90,
        "two workers running the flow's tasks",
    )
    print(f"\nworkers: {spread}")
    victim = next(node for node, tasks in spread.items() if SOURCE_TASKS[0] in tasks)
    survivor = next(node for node in spread if node != victim)

    sent = produce_numbered(lab.bootstrap(PRIMARY), unique_name, 10_000)
    (pid,) = mirrormaker_jvms(str(tmp_path / f"work-{victim[-1]}"))
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    more = produce_numbered(lab.bootstrap(PRIMARY), unique_name, 10_000, start=10_000)
    for partition, values in more.items():
        sent.setdefault(partition, []).extend(values)

    moved = wait_for(
        lambda: workers(two_node_plan),
        lambda w: list(w) == [survivor] and set(SOURCE_TASKS) <= set(w[survivor]),
        90,
        f"{victim}'s tasks on {survivor}",
    )
    took = time.monotonic() - killed
    print(f"tasks moved to {survivor} {took:.1f} s after kill -9 of {victim}'s MirrorMaker: {moved}")

    got = consume_distinct(lab.bootstrap(DR), f"{PRIMARY}.{unique_name}", 20_000, timeout=120)
    for partition, values in sent.items():
        firsts = list(dict.fromkeys(got.get(partition, [])))
        assert firsts == values, f"partition {partition}: every record, in order (re-sends aside)"
    again = sum(map(len, got.values())) - 20_000
    print(f"20,000 records mirrored, {again} sent again after the kill")

    engine = LagEngine(load_plan(two_node_plan))
    try:

        def caught_up() -> bool:
            (flow,) = engine.refresh().flows
            topic = next((t for t in flow.topics if t.topic == unique_name), None)
            return topic is not None and topic.lag_records == 0 and topic.health == Health.OK

        wait_for(caught_up, bool, 60, "the lag back to 0")
    finally:
        engine.close()

    status = json.loads(mm("status", "--plan", str(two_node_plan), "--json").output)
    states = {d["node"]: d["state"] for d in status["deployments"]}
    assert states == {victim: "crashed", survivor: "running"}
    human = mm("status", "--plan", str(two_node_plan))
    lines = [line.strip() for line in human.output.splitlines()]
    assert any(line.startswith(f"worker {survivor}:") and "Source 0,1" in line for line in lines), (
        human.output
    )
    asyncio.run(edge_pane_shows_the_move(two_node_plan, victim, survivor))


async def edge_pane_shows_the_move(plan_path: Path, victim: str, survivor: str) -> None:
    """The Edge pane at 80x24 after the move: the victim's MirrorMaker crashed, the survivor's line says it
    runs both source tasks, every line within the width."""
    app = make_app(load_plan(plan_path), plan_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        assert isinstance(app.screen, EdgeScreen)

        def moved() -> bool:
            lines = screen_lines(app)
            crashed = any(victim in line and "crashed" in line for line in lines)
            return crashed and any("here:" in line and "Source 0,1" in line for line in lines)

        try:
            await until(pilot, moved, 30, "the Edge pane shows the crash and the tasks on the survivor")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n" + "\n".join(screen_lines(app))) from None
        lines = screen_lines(app)
        assert all(len(line) <= 80 for line in lines)
        print("\n".join(lines))
    assert survivor != victim
