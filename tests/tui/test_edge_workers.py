"""The Edge pane's line per node when several edge nodes run one MirrorMaker 2: what runs where (pure)."""

from __future__ import annotations

from kdrtui.domain.mirrormaker import MirrorMakerStatus, MmState
from kdrtui.domain.mm2_tasks import ConnectorTasks, FlowTasks, TaskState
from kdrtui.domain.mm2_workers import WorkerAssignment
from kdrtui.tui.widgets.edge_rows import task_block, task_lines

URL_1, URL_2 = "http://127.0.0.1:8083/", "http://127.0.0.1:8084/"


def status(node: str, *workers: WorkerAssignment) -> MirrorMakerStatus:
    tasks = tuple(TaskState("MirrorSourceConnector", n, "RUNNING", "primary->dr") for n in (0, 1))
    connector = ConnectorTasks("MirrorSourceConnector", "RUNNING", "primary->dr", tasks=tasks)
    flow = FlowTasks("primary", connectors=(connector,), target="dr", workers=workers)
    return MirrorMakerStatus(node, "mm2-dr", MmState.RUNNING, pid=42, flows=(flow,))


def test_each_node_says_which_tasks_it_runs() -> None:
    one = WorkerAssignment(URL_1, ("MirrorSourceConnector",), ("MirrorSourceConnector-0",), True, "dr-edge-1")
    two = WorkerAssignment(
        URL_2, (), ("MirrorSourceConnector-1", "MirrorHeartbeatConnector-0"), False, "dr-edge-2"
    )
    first, second = task_lines(status("dr-edge-1", one, two)), task_lines(status("dr-edge-2", one, two))
    assert first[-1] == ("  primary->dr here: Source 0 (leader)", "text-muted")
    assert second[-1] == ("  primary->dr here: Source 1 · Heartbeat 0", "text-muted")
    block = task_block({"dr-edge-1/mm2-dr": first, "dr-edge-2/mm2-dr": second}, 78)
    assert [line for line, _ in block] == [
        "dr-edge-1/mm2-dr: tasks 2 running",
        "  primary->dr here: Source 0 (leader)",
        "dr-edge-2/mm2-dr: tasks 2 running",
        "  primary->dr here: Source 1 · Heartbeat 0",
    ]


def test_after_a_move_the_survivor_runs_everything() -> None:
    alone = WorkerAssignment(
        URL_2, (), ("MirrorSourceConnector-0", "MirrorSourceConnector-1"), True, "dr-edge-2"
    )
    assert task_lines(status("dr-edge-2", alone))[-1] == (
        "  primary->dr here: Source 0,1 (leader)",
        "text-muted",
    )


def test_one_node_draws_as_before() -> None:
    lone = WorkerAssignment("NOTUSED", (), ("MirrorSourceConnector-0",), True, "dr-edge-1")
    assert task_lines(status("dr-edge-1", lone)) == task_lines(status("dr-edge-1"))
