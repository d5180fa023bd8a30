"""What the Edge pane draws for one deployment: its state cell, its tasks cell, and its task lines (pure)."""

from __future__ import annotations

from rich.text import Text

from kdrtui.domain.kafka_release import translation_warning
from kdrtui.domain.mirrormaker import MirrorMakerStatus, MmState
from kdrtui.domain.mm2_tasks import short_java_names, tasks_summary
from kdrtui.domain.mm2_workers import task_list, worker_lines
from kdrtui.domain.safe_text import escape as escape_controls
from kdrtui.tui.text import middle_ellipsis

NAME_WIDTH = 12
"""Cells a node's or a deployment's name takes in the table; a longer one keeps its start and its end."""


def state_text(status: MirrorMakerStatus) -> tuple[str, str]:
    """The state cell's text and the theme colour it is drawn in."""
    colour = {
        MmState.RUNNING: "success",
        MmState.SCHEDULED: "success",
        MmState.CRASHED: "error",
        MmState.UNKNOWN: "warning",
    }.get(status.state, "foreground")
    text = str(status.state)
    if status.state is MmState.CRASHED and status.exit_code is not None:
        text += f" ({status.exit_code})"
    return text, colour


def tasks_cell(status: MirrorMakerStatus) -> tuple[str, str]:
    """The tasks cell: ``running/all`` MM2 tasks (``2/3``), ``?`` when unreadable, ``-`` when none are
    known; and its theme colour (error when a connector or task FAILED)."""
    if not status.flows:
        return "-", "foreground"
    if any(not flow.readable for flow in status.flows):
        return "?", "warning"
    tasks = [task for flow in status.flows for task in flow.tasks]
    text = f"{sum(1 for t in tasks if t.state == 'RUNNING')}/{len(tasks)}" if tasks else "-"
    return text, "error" if status.task_problems else "foreground"


def release_text(version: str | None) -> str:
    """``Kafka 3.9.1``: the release the deployment runs (read from its jars), with a note before 3.5, whose
    MirrorMaker 2 can translate consumer offsets wrongly; empty when unknown."""
    if not version:
        return ""
    note = " (before 3.5: offsets may translate wrongly)" if translation_warning(version) else ""
    return f"Kafka {version}{note}"


def task_lines(status: MirrorMakerStatus) -> list[tuple[str, str]]:
    """The lines under the table for one deployment, each with its theme colour: ``tasks 3 running,
    1 FAILED: <first trace line>``, then ``  caused by: <root cause>`` when the failure has one. Java class
    names lose the middle of their package; control characters are escaped (outside text). Last, the Kafka
    release it runs (on a line of its own, so a long trace never pushes it, or the failure, out of sight).
    """
    release = release_text(status.kafka_version)
    colour_of_release = "warning" if translation_warning(status.kafka_version) else "text-muted"
    if not status.flows:
        return [(release, colour_of_release)] if release else []
    summary = escape_controls(short_java_names(tasks_summary(status.flows)))
    unreadable = any(not flow.readable for flow in status.flows)
    colour = "error" if status.task_problems else "warning" if unreadable else "text-muted"
    lines = [(summary, colour)]
    # The failure the summary names (a FAILED connector before a FAILED task), and its root cause.
    failures = [(c.trace, c.cause) for flow in status.flows for c in flow.failed_connectors]
    failures += [(t.trace, t.cause) for flow in status.flows for t in flow.failed]
    if not unreadable and failures and failures[0][1] and failures[0][1] != failures[0][0]:
        lines.append((f"  caused by: {escape_controls(short_java_names(failures[0][1]))}", colour))
    return lines + worker_lines_of(status) + ([(f"  {release}", colour_of_release)] if release else [])


def worker_lines_of(status: MirrorMakerStatus) -> list[tuple[str, str]]:
    """When several edge nodes run one MirrorMaker 2: what this node's worker runs, per flow
    (``  here: Source 0,1 · Heartbeat 0 (leader)``, or ``  here: no tasks`` when the others run them all)."""
    lines: list[tuple[str, str]] = []
    for flow in status.flows:
        if not worker_lines(flow.workers):
            continue
        mine = [w for w in flow.workers if w.node == status.node]
        tasks = task_list(t for w in mine for t in w.tasks)
        lead = " (leader)" if any(w.leader for w in mine) else ""
        lines.append((escape_controls(f"  {flow.flow} here: {tasks}{lead}"), "text-muted"))
    return lines


def task_block(per_key: dict[str, list[tuple[str, str]]], width: int) -> list[tuple[str, str]]:
    """The lines under the table: each deployment's :func:`task_lines` (``node/deployment`` -> lines), the
    first named by its deployment (``node/deployment`` when two nodes run one of that name), every line
    cut to ``width`` cells with an ellipsis at its end (its start says the most)."""
    names = [key.partition("/")[2] for key in per_key]
    block: list[tuple[str, str]] = []
    for key in sorted(per_key):
        label = key.partition("/")[2] if names.count(key.partition("/")[2]) == 1 else key
        for n, (line, colour) in enumerate(per_key[key]):
            text = Text(f"{middle_ellipsis(label, 2 * NAME_WIDTH)}: {line}" if n == 0 else line)
            text.truncate(width, overflow="ellipsis")
            block.append((text.plain, colour))
    return block
