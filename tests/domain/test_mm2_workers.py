"""Where MirrorMaker 2's tasks run, decoded from the Connect group's member metadata and assignments."""

from __future__ import annotations

import struct

import pytest

from kdrtui.domain.mm2_workers import (
    WorkerAssignment,
    WorkerDecodeError,
    decode_worker,
    node_of,
    tasks_by_node,
    worker_lines,
)

Tasks = dict[str, list[int]]


def string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def connector_assignments(tasks: Tasks) -> bytes:
    out = struct.pack(">i", len(tasks))
    for connector, numbers in tasks.items():
        out += string(connector) + struct.pack(">i", len(numbers))
        out += b"".join(struct.pack(">i", n) for n in numbers)
    return out


def assignment(version: int, leader: str, assigned: Tasks, revoked: Tasks | None = None) -> bytes:
    """Connect's (IncrementalCooperative)ConnectProtocol assignment, as the leader sends it."""
    out = (
        struct.pack(">hh", version, 0) + string(leader) + string("http://leader:8083/") + struct.pack(">q", 7)
    )
    out += connector_assignments(assigned)
    if version >= 1:
        out += connector_assignments(revoked or {}) + struct.pack(">i", 0)
    return out


def metadata(version: int, url: str, held: bytes | None) -> bytes:
    out = struct.pack(">h", version) + string(url) + struct.pack(">q", 7)
    if version >= 1:
        out += struct.pack(">i", -1) if held is None else struct.pack(">i", len(held)) + held
    return out


def test_a_cooperative_worker_runs_what_it_held_less_revoked_plus_new() -> None:
    held = assignment(2, "m1", {"MirrorSourceConnector": [-1, 0, 1], "MirrorHeartbeatConnector": [0]})
    delta = assignment(2, "m1", {"MirrorCheckpointConnector": [-1, 0]}, {"MirrorSourceConnector": [1]})
    worker = decode_worker("m1", metadata(2, "http://127.0.0.1:8083/", held), delta)
    assert worker.url == "http://127.0.0.1:8083/" and worker.leader
    assert worker.connectors == ("MirrorCheckpointConnector", "MirrorSourceConnector")
    assert worker.tasks == (
        "MirrorCheckpointConnector-0",
        "MirrorHeartbeatConnector-0",
        "MirrorSourceConnector-0",
    )


def test_a_new_worker_and_an_eager_one_run_what_they_were_given() -> None:
    delta = assignment(2, "other", {"MirrorSourceConnector": [1]})
    worker = decode_worker("m2", metadata(2, "http://127.0.0.1:8084/", None), delta)
    assert worker.tasks == ("MirrorSourceConnector-1",) and not worker.leader
    eager = decode_worker("m3", metadata(0, "NOTUSED", None), assignment(0, "m3", {"X": [-1, 0]}))
    assert (eager.connectors, eager.tasks) == (("X",), ("X-0",))
    assert decode_worker("m4", metadata(1, "u", None), None).tasks == ()


def test_garbage_is_refused() -> None:
    with pytest.raises(WorkerDecodeError):
        decode_worker("m", b"\x00\x01\x00", None)


def test_workers_are_named_by_their_node() -> None:
    workers = [
        WorkerAssignment("http://127.0.0.1:8084/", (), ("MirrorSourceConnector-1",)),
        WorkerAssignment(
            "http://127.0.0.1:8083", ("MirrorSourceConnector",), ("MirrorSourceConnector-0",), True
        ),
    ]
    urls = {"http://127.0.0.1:8083/": "dr-edge-1", "http://127.0.0.1:8084/": "dr-edge-2"}
    named = node_of(workers, urls)
    assert [w.node for w in named] == ["dr-edge-1", "dr-edge-2"]
    assert tasks_by_node(named) == {
        "MirrorSourceConnector-0": "dr-edge-1",
        "MirrorSourceConnector-1": "dr-edge-2",
    }
    assert worker_lines(named) == ["dr-edge-1: Source 0 (leader)", "dr-edge-2: Source 1"]
    alone = node_of([WorkerAssignment("NOTUSED", (), ("MirrorSourceConnector-0",))], {"x": "dr-edge-1"})
    assert alone[0].node == "dr-edge-1"
    assert worker_lines(alone) == [], "one node: the output stays as it was"
    assert named[0].to_dict()["tasks"] == ["MirrorSourceConnector-0"]
