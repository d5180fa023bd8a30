"""MirrorMaker 2's task states on the lab.

A target that refuses the mirrored records fails the MirrorSourceConnector's task while the process keeps
running; ``kdrtui mm status`` says so (exit 1, the first line of the trace), the Edge pane shows it, and
after the target is fixed ``mm restart`` brings the task back to RUNNING. Real brokers, real MirrorMaker 2
over real SSH; own topic, plan and work dir. And the status reader on a status topic of the test's own,
written record by record: order across partitions, tombstones, incremental reads, a re-created topic."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic

from kdrtui.cli import main
from kdrtui.domain.mm2_tasks import FlowTasks
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.mm2_status import Mm2StatusError, Mm2StatusReader, flow_task_states
from kdrtui.services.plan_files import load_plan
from kdrtui.tui.app import make_app
from kdrtui.tui.screens.edge import EdgeScreen
from tests.conftest import wait_until
from tests.kafka_helpers import consume_partitions, create_topic, produce_numbered
from tests.lab_helpers import lab_plan_variant, mm
from tests.tui.pilot_helpers import row_cells, screen_lines, shown_text, until

pytestmark = pytest.mark.lab

SOURCE_TASK = "MirrorSourceConnector-0"


def narrowed_plan(lab: Lab, tmp_path: Path, name: str) -> Path:
    """The lab plan mirroring only ``name``, with a MirrorMaker work dir of its own. The lab's failover
    settings stay (fence reject-writes): MirrorMaker then never syncs ``max.message.bytes`` to the target,
    so the limit this test sets there stays until the test lifts it."""
    only = re.escape(name)
    return lab_plan_variant(lab, tmp_path, flow={"topics": [only], "groups": [only + ".*"]})


def set_max_message_bytes(bootstrap: str, topic: str, value: int | None) -> None:
    """Set (or, with None, remove) ``max.message.bytes`` on ``topic``."""
    op = AlterConfigOpType.SET if value is not None else AlterConfigOpType.DELETE
    entry = ConfigEntry("max.message.bytes", str(value or ""), incremental_operation=op)
    resource = ConfigResource("TOPIC", topic, incremental_configs=[entry])
    admin = AdminClient(client_config(bootstrap))
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(30)


def produce_large(bootstrap: str, topic: str, count: int, size: int) -> None:
    producer = Producer(client_config(bootstrap))
    for n in range(count):
        producer.produce(topic, key=f"big-{n}", value=b"x" * size)
    assert producer.flush(30) == 0


@pytest.fixture
def plan_path(lab: Lab, tmp_path: Path, unique_name: str) -> Iterator[Path]:
    """The narrowed plan; its MirrorMaker is stopped after the test whatever happened."""
    path = narrowed_plan(lab, tmp_path, unique_name)
    yield path
    mm("stop", "--plan", str(path))


async def edge_pane_shows_the_failure(plan_path: Path, trace: str) -> None:
    """The Edge pane at 80x24: the tasks cell counts 0 of the source task running (of all tasks), and the
    line under the table names the failure and its root cause, within the width."""
    app = make_app(load_plan(plan_path), plan_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        assert isinstance(app.screen, EdgeScreen)
        await until(pilot, lambda: "1 FAILED" in shown_text(app, "#edge-tasks"), 30, "the FAILED task read")
        await until(pilot, lambda: any("1 FAILED" in line for line in screen_lines(app)), 5, "and drawn")
        cells = row_cells(app, "dr-edge-1/mm2-dr", "#edge-table")
        running, total = cells[-1].split("/")
        assert int(running) == int(total) - 1, cells
        lines = screen_lines(app)
        (summary,) = [line for line in lines if "mm2-dr: tasks" in line]
        assert "1 FAILED: org.apache…ConnectException: Unrecoverable" in summary, lines
        assert any("caused by: org.apache…RecordTooLargeException: The request" in line for line in lines), (
            lines
        )
        assert all(len(line) <= 80 for line in lines)
        print("\n".join(lines))
    assert trace.startswith("org.apache.kafka.connect.errors.ConnectException")


def source_task(tasks: FlowTasks) -> str | None:
    connector = tasks.connector("MirrorSourceConnector")
    found = [t for t in connector.tasks if t.task == 0] if connector else []
    return found[0].state if found else None


def test_a_target_refusing_records_fails_the_task_and_restart_recovers_it(
    lab: Lab, plan_path: Path, unique_name: str
) -> None:
    primary, dr = lab.bootstrap(PRIMARY), lab.bootstrap(DR)
    mirrored = f"{PRIMARY}.{unique_name}"
    create_topic(primary, unique_name, partitions=1)
    produce_numbered(primary, unique_name, 20)
    started = mm("start", "--plan", str(plan_path))
    assert started.exit_code == 0, started.output
    consume_partitions(
        dr, mirrored, 1, 20, timeout=90, why=lambda: mm("status", "--plan", str(plan_path)).output
    )
    wait_until(
        lambda: source_task(flow_task_states(dr, PRIMARY)) == "RUNNING", 30, message="source task RUNNING"
    )
    healthy = mm("status", "--plan", str(plan_path))
    assert healthy.exit_code == 0, healthy.output
    assert "MirrorSourceConnector: RUNNING; tasks 1 running" in healthy.output

    # The target now refuses anything bigger than 200 bytes a batch; a 2 kB record follows on the source.
    # (One record: the producer splits a refused batch of several records and retries that forever, and
    # Connect writes FAILED only after closing the task's producer, 30 s later; see the README.)
    set_max_message_bytes(dr, mirrored, 200)
    produce_large(primary, unique_name, 1, 2_000)
    refused_at = time.monotonic()
    failed: list[FlowTasks] = []

    def task_failed() -> bool:
        tasks = flow_task_states(dr, PRIMARY)
        if tasks.failed:
            failed.append(tasks)
        return bool(tasks.failed)

    took = wait_until(task_failed, 20, interval=0.5, message="MirrorSourceConnector task FAILED")
    print(f"\nrecords refused -> task FAILED in the status topic: {took:.1f} s")
    (task,) = failed[-1].failed
    print(f"trace: {task.trace}\ncause: {task.cause}")
    assert task.name == SOURCE_TASK and task.worker_id == f"{PRIMARY}->{DR}"
    assert task.trace is not None
    assert failed[-1].connector("MirrorSourceConnector").state == "RUNNING"  # type: ignore[union-attr]

    status = mm("status", "--plan", str(plan_path))
    print(status.output)
    assert status.exit_code == 1, status.output
    assert "RUNNING" in status.output.splitlines()[0], "the process runs; its task does not"
    assert f"task {SOURCE_TASK} FAILED on {PRIMARY}->{DR}: {task.trace}" in status.output
    as_json = mm("status", "--plan", str(plan_path), "--json")
    assert as_json.exit_code == 1
    (dep,) = json.loads(as_json.output)["deployments"]
    assert dep["state"] == "running" and dep["failed_tasks"] == [SOURCE_TASK]
    (flow,) = dep["flows"]
    source = next(c for c in flow["connectors"] if c["name"] == "MirrorSourceConnector")
    assert source["tasks"][0]["state"] == "FAILED" and source["tasks"][0]["trace"] == task.trace
    print(f"refused -> mm status exit 1: {time.monotonic() - refused_at:.1f} s")
    asyncio.run(edge_pane_shows_the_failure(plan_path, task.trace))
    # A failover now could never drain: its pre-flight says NO-GO, naming the task and its trace.
    forecast = CliRunner().invoke(main, ["failover", "--plan", str(plan_path), "--dry-run"])
    assert forecast.exit_code == 0, forecast.output
    assert f"task {SOURCE_TASK} FAILED" in forecast.stdout, forecast.stdout
    assert "NO-GO" in forecast.stdout and "has a FAILED task" in forecast.stdout
    # ... and the lag health is CRIT ("task failed") whatever the lag, in `kdrtui status` as in the pane.
    lag = CliRunner().invoke(main, ["status", "--plan", str(plan_path), "--json"])
    assert lag.exit_code == 2, lag.output
    (flow_lag,) = json.loads(lag.stdout.splitlines()[-1])["flows"]
    assert flow_lag["health"] == "CRIT" and flow_lag["failed_tasks"] == [
        f"{SOURCE_TASK} FAILED: {task.trace}"
    ]

    # Fixed on the target, then restarted: the task runs again and the refused records arrive.
    set_max_message_bytes(dr, mirrored, None)
    restarted = mm("restart", "--plan", str(plan_path))
    assert restarted.exit_code == 0, restarted.output
    wait_until(
        lambda: source_task(flow_task_states(dr, PRIMARY)) == "RUNNING",
        60,
        message="source task RUNNING again",
    )
    consume_partitions(dr, mirrored, 1, 21, timeout=60)
    recovered = mm("status", "--plan", str(plan_path))
    assert recovered.exit_code == 0, recovered.output
    assert "FAILED" not in recovered.output


def status_topic(bootstrap: str, topic: str) -> None:
    """A status topic as Connect makes it (compacted), with 3 partitions."""
    admin = AdminClient(client_config(bootstrap))
    new = NewTopic(topic, num_partitions=3, replication_factor=1, config={"cleanup.policy": "compact"})
    admin.create_topics([new])[topic].result(30)


def write(bootstrap: str, topic: str, *records: tuple[int, int, str, dict[str, object] | None]) -> None:
    """(partition, ms after now, key, value or None) records, each in its partition at its time."""
    producer = Producer(client_config(bootstrap))
    now = int(time.time() * 1000)
    for partition, after, key, value in records:
        raw = None if value is None else json.dumps(value).encode()
        producer.produce(topic, key=key, value=raw, partition=partition, timestamp=now + after)
    assert producer.flush(30) == 0


def running(generation: int) -> dict[str, object]:
    return {"state": "RUNNING", "trace": None, "worker_id": "w", "generation": generation}


FAILED = {
    "state": "FAILED",
    "trace": "java.lang.IllegalStateException: boom\n\tat x",
    "worker_id": "w",
    "generation": 1,
}


def test_the_status_reader_replays_in_write_order_and_reads_only_what_is_new(
    lab: Lab, unique_name: str
) -> None:
    dr = lab.bootstrap(DR)
    topic = f"mm2-status.{unique_name}.internal"
    status_topic(dr, topic)
    # The tombstone of the connector (partition 1) is written after its tasks' records (partitions 0 and 2)
    # and before task 0 runs again: replayed by time, only that last record survives it.
    write(
        dr,
        topic,
        (1, 1, "status-connector-C", running(1)),
        (0, 0, "status-task-C-0", running(1)),
        (2, 2, "status-task-C-1", FAILED),
        (1, 3, "status-connector-C", None),
        (0, 4, "status-task-C-0", running(2)),
    )
    with Mm2StatusReader(dr, unique_name) as reader:
        first = reader.read(timeout=10)
        assert first.exists and first.records == 5
        tasks = first.flow_tasks()
        (connector,) = tasks.connectors
        assert connector.state is None and [(t.task, t.state, t.generation) for t in connector.tasks] == [
            (0, "RUNNING", 2)
        ]
        assert flow_task_states(dr, unique_name, timeout=10) == tasks, "one-shot and incremental agree"

        write(dr, topic, (2, 10, "status-task-C-1", FAILED), (1, 11, "status-connector-C", running(2)))
        again = reader.read(timeout=10)
        assert again.records == 7, "only the 2 new records were read"
        (failed,) = again.flow_tasks().failed
        assert (failed.name, failed.trace) == ("C-1", "java.lang.IllegalStateException: boom")
        assert reader.read(timeout=10).records == 7, "nothing new, nothing read"

        # Deleted and made again (a new MM2 cluster): the reader starts over instead of waiting for offsets
        # the new topic does not have yet.
        admin = AdminClient(client_config(dr))
        admin.delete_topics([topic])[topic].result(30)
        wait_until(lambda: not reader.read(timeout=10).exists, 30, message="topic gone")
        wait_until(lambda: _created(dr, topic), 30, message="topic made again")
        write(dr, topic, (0, 20, "status-task-D-0", running(1)))
        fresh = reader.read(timeout=10)
        assert fresh.records == 1 and [t.name for t in fresh.flow_tasks().tasks] == ["D-0"]

    assert not flow_task_states(dr, f"absent-{unique_name}", timeout=10).exists
    started = time.monotonic()
    with pytest.raises(Mm2StatusError, match=re.escape("127.0.0.1:1")):
        flow_task_states("127.0.0.1:1", unique_name, timeout=2)
    assert time.monotonic() - started < 10


def _created(bootstrap: str, topic: str) -> bool:
    """Create the status topic again; False while the deleted one is still there."""
    try:
        status_topic(bootstrap, topic)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return False
        raise
    return True
