"""Snapshots of the shell at 80x24 and 120x40.

After a deliberate UI change: `pytest --snapshot-update`, then review the SVGs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from textual.pilot import Pilot

from kdrtui.domain.health import Reachability
from kdrtui.tui.app import make_app
from tests.tui.fakes import FIXED_NOW, ScriptedProbes, sample_plan


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times on screen are local; pin the zone so snapshots match everywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def overview_app(down: set[str]) -> object:
    probes = ScriptedProbes()
    probes.down |= down
    return make_app(
        sample_plan(),
        None,
        probe_factory=probes,
        clock=lambda: FIXED_NOW + 42,
        refresh_interval=3600,
    )


async def settled(pilot: Pilot[None]) -> None:
    app = pilot.app
    deadline = time.monotonic() + 5
    while any(v.state is Reachability.CONNECTING for v in app.cluster_views.values()):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "probes never reported"
        await pilot.pause(0.02)
    app.screen.refresh_views()  # type: ignore[attr-defined]
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_overview_one_cluster_down(snap_compare: object, size: tuple[int, int]) -> None:
    assert snap_compare(overview_app({"dr"}), terminal_size=size, run_before=settled)  # type: ignore[operator]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_help(snap_compare: object, size: tuple[int, int]) -> None:
    assert snap_compare(overview_app(set()), terminal_size=size, press=["question_mark"], run_before=settled)  # type: ignore[operator]


def test_pending_pane_80x24(snap_compare: object) -> None:
    assert snap_compare(overview_app(set()), terminal_size=(80, 24), press=["4"], run_before=settled)  # type: ignore[operator]


def test_too_small(snap_compare: object) -> None:
    assert snap_compare(overview_app(set()), terminal_size=(60, 20))  # type: ignore[operator]
