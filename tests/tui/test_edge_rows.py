"""What the Edge pane draws for MM2's task states: the tasks cell and the lines under the table (pure)."""

from __future__ import annotations

from dataclasses import replace

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from kdrtui.domain.mirrormaker import MirrorMakerStatus, MmState
from kdrtui.domain.mm2_tasks import ConnectorTasks, FlowTasks, TaskState
from kdrtui.tui.widgets.edge_rows import task_block, task_lines, tasks_cell

FIRST = (
    "org.apache.kafka.connect.errors.ConnectException: Unrecoverable exception from producer send callback"
)
CAUSE = "org.apache.kafka.common.errors.RecordTooLargeException: The request included a message too large"


def running_mm2(*tasks: TaskState, error: str | None = None) -> MirrorMakerStatus:
    connector = ConnectorTasks("MirrorSourceConnector", "RUNNING", "primary->dr", tasks=tasks)
    flow = FlowTasks("primary", connectors=() if error else (connector,), error=error, target="dr")
    return MirrorMakerStatus("dr-edge-1", "mm2-dr", MmState.RUNNING, pid=42, flows=(flow,))


def source_task(number: int, state: str, trace: str | None = None, cause: str | None = None) -> TaskState:
    return TaskState("MirrorSourceConnector", number, state, "primary->dr", trace, cause, 3)


def test_the_tasks_cell_counts_running_tasks_and_colours_a_failure() -> None:
    assert tasks_cell(MirrorMakerStatus("n", "mm2-dr", MmState.STOPPED)) == ("-", "foreground")
    assert tasks_cell(running_mm2(source_task(0, "RUNNING"), source_task(1, "RUNNING"))) == (
        "2/2",
        "foreground",
    )
    assert tasks_cell(running_mm2(source_task(0, "RUNNING"), source_task(1, "FAILED", FIRST))) == (
        "1/2",
        "error",
    )
    assert tasks_cell(running_mm2(error="timed out")) == ("?", "warning")


def test_a_failed_task_gives_its_first_trace_line_and_root_cause_shortened() -> None:
    status = running_mm2(source_task(0, "RUNNING"), source_task(1, "FAILED", FIRST, CAUSE))
    assert task_lines(status) == [
        (
            "tasks 1 running, 1 FAILED: org.apache…ConnectException: Unrecoverable exception from producer "
            "send callback",
            "error",
        ),
        (
            "  caused by: org.apache…RecordTooLargeException: The request included a message too large",
            "error",
        ),
    ]
    assert task_lines(running_mm2(source_task(0, "RUNNING"))) == [("tasks 1 running", "text-muted")]
    assert task_lines(running_mm2(error="127.0.0.1:1: timed out")) == [
        ("tasks unknown: 127.0.0.1:1: timed out", "warning")
    ]
    assert task_lines(MirrorMakerStatus("n", "mm2-dr", MmState.STOPPED)) == []


def test_outside_text_keeps_its_brackets_and_loses_its_control_characters() -> None:
    trace = "java.lang.IllegalStateException: topic [b]x[/b] \x1b[2J\x07gone [/]"
    (line,) = task_lines(running_mm2(source_task(0, "FAILED", trace)))
    assert line[0] == "tasks 1 FAILED: java.lang.IllegalStateException: topic [b]x[/b] \\x1b[2J\\x07gone [/]"
    console = Console(width=200, record=True, color_system=None)
    console.print(Text(line[0]))  # as the pane draws it: a Text never parses markup
    assert "[b]x[/b]" in console.export_text() and "\x1b" not in console.export_text()


def test_the_block_names_each_deployment_and_fits_80_columns() -> None:
    failing = task_lines(running_mm2(source_task(0, "RUNNING"), source_task(1, "FAILED", FIRST, CAUSE)))
    block = task_block({"dr-edge-1/mm2-dr": failing}, 78)
    assert [line for line, _ in block] == [
        "mm2-dr: tasks 1 running, 1 FAILED: org.apache…ConnectException: Unrecoverable…",
        "  caused by: org.apache…RecordTooLargeException: The request included a messa…",
    ]
    assert all(cell_len(line) <= 78 for line, _ in block)
    two_nodes = task_block(
        {"dr-edge-2/mm2-dr": [("tasks 1 running", "text-muted")], "dr-edge-1/mm2-dr": failing}, 78
    )
    assert [line.split(":")[0] for line, _ in two_nodes] == [
        "dr-edge-1/mm2-dr",
        "  caused by",
        "dr-edge-2/mm2-dr",
    ]
    long_name = task_block({"n/mm2-a-very-long-target-cluster-name": [("tasks 1 running", "text-muted")]}, 78)
    assert long_name == [("mm2-a-very-l…luster-name: tasks 1 running", "text-muted")]


def test_the_line_under_the_table_names_the_kafka_release_and_warns_before_3_5() -> None:
    old = replace(
        running_mm2(source_task(0, "RUNNING"), source_task(1, "FAILED", FIRST)), kafka_version="3.2.0"
    )
    assert task_lines(old) == [
        (task_lines(running_mm2(source_task(0, "RUNNING"), source_task(1, "FAILED", FIRST)))[0][0], "error"),
        ("  Kafka 3.2.0 (before 3.5: offsets may translate wrongly)", "warning"),
    ]
    shipped = replace(running_mm2(source_task(0, "RUNNING")), kafka_version="3.9.1")
    assert task_lines(shipped) == [("tasks 1 running", "text-muted"), ("  Kafka 3.9.1", "text-muted")]
    stopped = MirrorMakerStatus("dr-edge-1", "mm2-dr", MmState.STOPPED, kafka_version="3.9.1")
    assert task_lines(stopped) == [("Kafka 3.9.1", "text-muted")]
    assert task_lines(MirrorMakerStatus("dr-edge-1", "mm2-dr", MmState.STOPPED)) == []
