"""MM2's status records replayed as Connect replays them, and the task states told from them (pure)."""

from __future__ import annotations

import json

from kdrtui.domain.mm2_tasks import (
    ConnectorTasks,
    FlowTasks,
    TaskState,
    short_java_names,
    state_counts,
    tasks_summary,
)
from kdrtui.services.kafka.mm2_status_records import StatusLog

WORKER = "primary->dr"
TRACE = (
    "org.apache.kafka.connect.errors.ConnectException: Unrecoverable exception from producer send callback\n"
    "\tat org.apache.kafka.connect.runtime.WorkerSourceTask.maybeThrowProducerSendException"
    "(WorkerSourceTask.java:343)\n"
    "\tat org.apache.kafka.connect.runtime.WorkerTask.run(WorkerTask.java:281)\n"
    "Caused by: org.apache.kafka.common.errors.RecordTooLargeException: The request included a message "
    "larger than the max message size the server will accept.\n"
)
FIRST = (
    "org.apache.kafka.connect.errors.ConnectException: Unrecoverable exception from producer send callback"
)
CAUSE = (
    "org.apache.kafka.common.errors.RecordTooLargeException: The request included a message larger than the "
    "max message size the server will accept."
)


def state(name: str, generation: int, trace: str | None = None, worker: str = WORKER) -> bytes:
    """A status value as Connect's JsonConverter (schemas off) writes it."""
    return json.dumps({"state": name, "trace": trace, "worker_id": worker, "generation": generation}).encode()


def replay(*records: tuple[str, bytes | None]) -> FlowTasks:
    log = StatusLog("primary")
    for key, value in records:
        log.apply(key, value)
    return log.status().flow_tasks()


def task(flow: FlowTasks, connector: str, number: int) -> TaskState | None:
    found = flow.connector(connector)
    return next((t for t in found.tasks if t.task == number), None) if found else None


def test_a_failed_task_keeps_the_first_trace_line_and_its_root_cause() -> None:
    flow = replay(
        ("status-connector-MirrorSourceConnector", state("RUNNING", 5)),
        ("status-task-MirrorSourceConnector-0", state("RUNNING", 5)),
        ("status-task-MirrorSourceConnector-1", state("RUNNING", 5)),
        ("status-task-MirrorSourceConnector-0", state("FAILED", 5, TRACE)),
    )
    (failed,) = flow.failed
    assert failed == TaskState("MirrorSourceConnector", 0, "FAILED", WORKER, FIRST, CAUSE, 5)
    assert failed.name == "MirrorSourceConnector-0"
    assert flow.connector("MirrorSourceConnector") == ConnectorTasks(
        "MirrorSourceConnector",
        "RUNNING",
        WORKER,
        None,
        None,
        (failed, task(flow, "MirrorSourceConnector", 1)),
    )
    assert not flow.healthy and flow.problems() == [f"MirrorSourceConnector-0 FAILED: {FIRST}"]
    assert tasks_summary([flow]) == f"tasks 1 running, 1 FAILED: {FIRST}"


def test_a_connector_tombstone_removes_the_connector_and_all_its_tasks() -> None:
    flow = replay(
        ("status-connector-MirrorCheckpointConnector", state("RUNNING", 3)),
        ("status-task-MirrorCheckpointConnector-0", state("FAILED", 3, TRACE)),
        ("status-task-MirrorCheckpointConnector-1", state("RUNNING", 3)),
        ("status-connector-MirrorSourceConnector", state("RUNNING", 3)),
        ("status-task-MirrorSourceConnector-0", state("RUNNING", 3)),
        ("status-connector-MirrorCheckpointConnector", None),
    )
    assert [c.name for c in flow.connectors] == ["MirrorSourceConnector"]
    assert flow.healthy and flow.failed == ()


def test_tasks_written_after_a_connector_tombstone_are_kept() -> None:
    flow = replay(
        ("status-task-MirrorSourceConnector-0", state("FAILED", 3, TRACE)),
        ("status-connector-MirrorSourceConnector", None),
        ("status-task-MirrorSourceConnector-0", state("RUNNING", 4)),
    )
    (connector,) = flow.connectors
    assert connector.state is None, "only its task has a state"
    assert [(t.task, t.state) for t in connector.tasks] == [(0, "RUNNING")]


def test_a_task_tombstone_removes_a_task_the_connector_no_longer_has() -> None:
    flow = replay(
        ("status-connector-MirrorSourceConnector", state("RUNNING", 7)),
        ("status-task-MirrorSourceConnector-0", state("RUNNING", 7)),
        ("status-task-MirrorSourceConnector-1", state("FAILED", 6, TRACE)),
        ("status-task-MirrorSourceConnector-1", None),
    )
    assert [t.name for t in flow.tasks] == ["MirrorSourceConnector-0"] and flow.healthy


def test_a_late_unassigned_of_an_older_or_the_same_generation_does_not_hide_a_running_task() -> None:
    records: list[tuple[str, bytes | None]] = [
        ("status-task-MirrorSourceConnector-0", state("RUNNING", 8, worker="worker-b")),
        ("status-task-MirrorSourceConnector-0", state("UNASSIGNED", 7, worker="worker-a")),
        ("status-task-MirrorSourceConnector-0", state("UNASSIGNED", 8, worker="worker-a")),
    ]
    running = task(replay(*records), "MirrorSourceConnector", 0)
    assert running is not None and (running.state, running.worker_id) == ("RUNNING", "worker-b")
    newer = task(
        replay(*records, ("status-task-MirrorSourceConnector-0", state("UNASSIGNED", 9))),
        "MirrorSourceConnector",
        0,
    )
    assert newer is not None and (newer.state, newer.generation) == ("UNASSIGNED", 9)


def test_a_failed_state_is_never_ignored_whatever_its_generation() -> None:
    flow = replay(
        ("status-task-MirrorSourceConnector-0", state("RUNNING", 8)),
        ("status-task-MirrorSourceConnector-0", state("FAILED", 2, TRACE)),
    )
    assert [t.name for t in flow.failed] == ["MirrorSourceConnector-0"]


def test_records_connect_would_not_parse_leave_the_previous_state() -> None:
    flow = replay(
        ("status-task-MirrorSourceConnector-0", state("FAILED", 4, TRACE)),
        ("status-task-MirrorSourceConnector-0", b"not json"),
        ("status-task-MirrorSourceConnector-0", state("HAPPY", 5)),
        ("status-task-MirrorSourceConnector-0", b"[1, 2]"),
        ("status-task-MirrorSourceConnector-x", state("RUNNING", 5)),
        ("status-task--0", state("RUNNING", 5)),
        ("status-connector-", state("RUNNING", 5)),
        ("something-else", state("RUNNING", 5)),
    )
    assert [(t.name, t.state) for t in flow.tasks] == [("MirrorSourceConnector-0", "FAILED")]
    assert [c.name for c in flow.connectors] == ["MirrorSourceConnector"]


def test_connector_names_with_dashes_are_split_at_the_last_dash() -> None:
    flow = replay(("status-task-My-Mirror-Connector-12", state("PAUSED", 2)))
    assert [(t.connector, t.task, t.state) for t in flow.tasks] == [("My-Mirror-Connector", 12, "PAUSED")]


def test_topic_records_and_their_tombstones() -> None:
    log = StatusLog("primary")
    topic = json.dumps(
        {
            "topic": {
                "name": "primary.orders",
                "connector": "MirrorSourceConnector",
                "task": 0,
                "discoverTimestamp": 1,
            }
        }
    ).encode()
    log.apply("status-topic-primary.orders:connector-MirrorSourceConnector", topic)
    log.apply("status-topic-primary.orders:connector-MirrorCheckpointConnector", topic)
    assert log.status().topics == {"primary.orders": ("MirrorCheckpointConnector", "MirrorSourceConnector")}
    log.apply("status-topic-primary.orders:connector-MirrorCheckpointConnector", None)
    assert log.status().topics == {"primary.orders": ("MirrorSourceConnector",)}
    assert log.records == 3


def test_a_failed_connector_is_a_problem_and_named_in_the_summary() -> None:
    flow = replay(
        ("status-connector-MirrorSourceConnector", state("FAILED", 3, "java.lang.OutOfMemoryError"))
    )
    assert (
        not flow.healthy
        and flow.failed == ()
        and [c.name for c in flow.failed_connectors] == ["MirrorSourceConnector"]
    )
    assert flow.problems() == ["MirrorSourceConnector FAILED: java.lang.OutOfMemoryError"]
    assert tasks_summary([flow]) == "no task states yet, 1 connector FAILED: java.lang.OutOfMemoryError"


def test_summaries_of_healthy_unreadable_empty_and_several_failures() -> None:
    running = replay(
        ("status-task-MirrorSourceConnector-0", state("RUNNING", 1)),
        ("status-task-MirrorSourceConnector-1", state("RUNNING", 1)),
        ("status-task-MirrorHeartbeatConnector-0", state("UNASSIGNED", 1)),
    )
    assert tasks_summary([running]) == "tasks 2 running, 1 unassigned"
    unreadable = FlowTasks("primary", error="127.0.0.1:1: cannot read the topics: timed out")
    assert (
        tasks_summary([running, unreadable])
        == "tasks unknown: 127.0.0.1:1: cannot read the topics: timed out"
    )
    assert unreadable.problems() == ["task states unreadable: 127.0.0.1:1: cannot read the topics: timed out"]
    assert tasks_summary([FlowTasks("primary", exists=False)]) == "no task states yet"
    two = replay(
        ("status-task-MirrorSourceConnector-0", state("FAILED", 1, "first")),
        ("status-task-MirrorSourceConnector-1", state("FAILED", 1, None)),
    )
    assert tasks_summary([two]) == "tasks 2 FAILED: first (+1 more)"
    assert two.problems() == ["MirrorSourceConnector-0 FAILED: first", "MirrorSourceConnector-1 FAILED"]
    assert state_counts(two.tasks) == "2 FAILED"


def test_flow_tasks_json() -> None:
    flow = replay(
        ("status-connector-MirrorSourceConnector", state("RUNNING", 5)),
        ("status-task-MirrorSourceConnector-0", state("FAILED", 5, TRACE)),
    )
    assert json.loads(json.dumps(flow.to_dict())) == {
        "flow": "primary->",
        "source": "primary",
        "exists": True,
        "error": None,
        "connectors": [
            {
                "name": "MirrorSourceConnector",
                "state": "RUNNING",
                "worker_id": WORKER,
                "trace": None,
                "cause": None,
                "tasks": [
                    {
                        "task": 0,
                        "state": "FAILED",
                        "worker_id": WORKER,
                        "trace": FIRST,
                        "cause": CAUSE,
                        "generation": 5,
                    }
                ],
            }
        ],
        "failed": ["MirrorSourceConnector-0"],
        "workers": [],
    }


def test_java_class_names_lose_the_middle_of_their_package() -> None:
    assert short_java_names(FIRST).startswith("org.apache…ConnectException: Unrecoverable")
    assert short_java_names("java.lang.IllegalStateException: x") == "java.lang.IllegalStateException: x"
    assert short_java_names("see a.b.c.d and Foo.Bar") == "see a.b.c.d and Foo.Bar"
