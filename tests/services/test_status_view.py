"""The status reader ``kdrtui status`` and ``kdrtui exporter`` share: its view's JSON is the documented body,
and with ``follow_dr_state`` it follows a failover (a new lag engine on the reversed flows, the old one
closed) where ``kdrtui status`` keeps what it started with."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from kdrtui.domain.lag import LagSnapshot
from kdrtui.domain.plan import Plan
from kdrtui.services.observe.status_view import StatusReader
from kdrtui.services.plan_files import load_plan
from kdrtui.services.runbook.store import DrState, RunbookStore
from tests.exporter_helpers import plan_nobody_answers, view


@dataclass
class FakeEngine:
    plan: Plan
    closed: bool = False

    def refresh(self) -> LagSnapshot:
        return LagSnapshot(time.time(), ())

    def close(self) -> None:
        self.closed = True


def flows(engine: FakeEngine) -> list[str]:
    return [f.name for f in engine.plan.flows]


@pytest.mark.parametrize("follow", [True, False])
def test_the_reader_follows_a_failover_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, follow: bool
) -> None:
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path / "state"))
    path = plan_nobody_answers(tmp_path)
    plan = load_plan(path)
    engines: list[FakeEngine] = []

    def engine(watched: Plan) -> FakeEngine:
        engines.append(FakeEngine(watched))
        return engines[-1]

    reader = StatusReader(
        plan,
        path,
        follow_dr_state=follow,
        lag_engine=engine,  # type: ignore[arg-type]
        health_timeout_s=0.5,  # nothing listens: each probe waits this long
    )
    try:
        first = reader.refresh()
        assert flows(engines[0]) == ["primary->dr"] and first.refresh == 1
        assert set(first.clusters) == {"primary", "dr"} and not any(o.ok for o in first.clusters.values())
        RunbookStore(plan.plan.name, path).save_state(
            DrState(active="dr", since=time.time(), operation="failover")
        )
        second = reader.refresh()
        assert second.refresh == 2
        if follow:
            assert [flows(e) for e in engines] == [["primary->dr"], ["dr->primary"]]
            assert engines[0].closed and not engines[1].closed
        else:
            assert len(engines) == 1
    finally:
        reader.close()
    assert engines[-1].closed


def test_the_view_json_is_the_status_body() -> None:
    shown = view(dr_state_error="state.json: not JSON")
    body = json.loads(shown.to_json())
    assert body == shown.to_dict()
    assert body["active"] is None and body["dr_state_error"] == "state.json: not JSON"
    assert set(body) == {
        "taken_at",
        "active",
        "health",
        "unreachable",
        "errors",
        "flows",
        "dr_state_error",
        "clusters",
    }
    assert shown.exit_code() == 2
    assert view().exit_code() == 1  # WARN, a cluster DEGRADED


def test_each_refresh_reads_the_automation_policy_into_the_status_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``kdrtui status --json`` and the exporter's ``/status.json`` carry the same ``automation`` block."""
    from kdrtui.services.automation.state import PublishedState, write_state

    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path / "state"))
    path = plan_nobody_answers(tmp_path)
    off = StatusReader(load_plan(path), path, lag_engine=FakeEngine, health_timeout_s=0.5)
    try:
        assert off.refresh().to_dict()["automation"] == {"enabled": False}
    finally:
        off.close()
    path.write_text(path.read_text() + '\n[automation]\nenabled = true\nmode = "advise"\n')
    plan = load_plan(path)
    reader = StatusReader(plan, path, lag_engine=FakeEngine, health_timeout_s=0.5)
    try:
        first = reader.refresh()
        assert first.automation is not None and first.automation.line() == (
            "Automation: advise — kdrtui watch not running"
        )
        directory = RunbookStore(plan.plan.name, path).dir
        write_state(directory, PublishedState("armed", "primary up (kdrtui up)", "advise", time.time(), 5.0))
        block = reader.refresh().to_dict()["automation"]
        assert (block["state"], block["text"], block["stale"], block["running"]) == (
            "armed",
            "primary up (kdrtui up)",
            False,
            True,
        )
    finally:
        reader.close()
