"""``kdrtui status`` says what the automated failover policy is doing: one ``Automation: ...`` line (the
Overview's wording) and the JSON's ``automation`` block; the rest of its output and its exit code are as
before. The clusters are stood in for (a built status view, no lab)."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kdrtui.cli import main
from kdrtui.domain.divergence import DivergenceSnapshot
from kdrtui.services.automation.state import AutoFailover, PublishedState, write_last_failover, write_state
from kdrtui.services.automation.summary import read_automation
from kdrtui.services.observe import status_view
from kdrtui.services.observe.cluster_health import health_lines
from kdrtui.services.plan_files import load_plan
from kdrtui.services.runbook.store import RunbookStore
from tests.exporter_helpers import view
from tests.samples import GOOD, HOT

AUTOMATION = '\n[automation]\nenabled = true\nmode = "act"\nvantage_points = ["kdrtui", "dr-edge-1"]\n'


class FakeReader:
    """``StatusReader`` on a built view (primary->dr WARN, both clusters up: exit code 1) and the policy
    read as the real reader reads it (``tests/services/test_status_view.py`` checks the real one does)."""

    def __init__(self, plan: Any, path: Any, **kw: Any) -> None:
        self.plan, self.path = plan, path
        self.closed = False

    def refresh(self, **kw: Any) -> status_view.StatusView:
        return dataclasses.replace(view(), automation=read_automation(self.plan, self.path))

    def close(self) -> None:
        self.closed = True


@pytest.fixture(autouse=True)
def fake_clusters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(status_view, "StatusReader", FakeReader)


def plan_file(tmp_path: Path, automation: bool, sample: Path = GOOD) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(sample.read_text(encoding="utf-8") + (AUTOMATION if automation else ""), encoding="utf-8")
    return path


def runbook_dir(path: Path) -> Path:
    return RunbookStore(load_plan(path).plan.name, path).dir


def status(path: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["status", "--plan", str(path), *args])


def test_a_plan_without_the_policy_gets_one_line_off_and_enabled_false(tmp_path: Path) -> None:
    path = plan_file(tmp_path, automation=False)
    human = status(path)
    assert human.exit_code == 1, human.output  # WARN, as without the line
    from kdrtui.commands.status import render_text

    shown = view()
    before = "\n".join([*health_lines(shown.clusters), render_text(shown.snapshot)])
    assert human.output == before + "\nAutomation: off\n"  # the rest of the output is unchanged
    body = json.loads(status(path, "--json").output)
    assert body == {**shown.to_dict(), "automation": {"enabled": False}}  # and nothing else changed


def test_enabled_without_a_watcher_says_it_is_not_running(tmp_path: Path) -> None:
    path = plan_file(tmp_path, automation=True)
    human = status(path)
    assert human.exit_code == 1
    assert human.output.splitlines()[-1] == "Automation: act — kdrtui watch not running"
    result = status(path, "--json")
    assert result.exit_code == 1
    assert json.loads(result.output)["automation"] == {
        "enabled": True,
        "mode": "act",
        "state": None,
        "text": "kdrtui watch not running",
        "stale": False,
        "running": False,
        "updated_at": None,
        "last_failover": None,
    }


def test_a_published_state_and_the_last_automatic_failover(tmp_path: Path) -> None:
    path = plan_file(tmp_path, automation=True)
    directory = runbook_dir(path)
    now = time.time()
    write_state(
        directory,
        PublishedState(
            "awaiting-ack",
            "primary down: the last automatic failover is not acknowledged (kdrtui watch --ack)",
            "act",
            now - 2,
            5.0,
            {"kdrtui": "down", "dr-edge-1": "down"},
        ),
    )
    journal = str(directory / "journal-20260101T000000Z-failover-ab12.jsonl")
    write_last_failover(directory, AutoFailover(journal, now - 900, "completed", now - 840))
    human = status(path)
    assert human.output.splitlines()[-1] == (
        "Automation: awaiting-ack (act): primary down: the last automatic failover is not acknowledged "
        "(kdrtui watch --ack)"
    )
    block = json.loads(status(path, "--json").output)["automation"]
    assert (block["state"], block["stale"], block["running"], block["mode"]) == (
        "awaiting-ack",
        False,
        True,
        "act",
    )
    assert block["text"].startswith("primary down: the last automatic failover")
    assert block["updated_at"] == pytest.approx(now - 2)
    last = block["last_failover"]
    assert last["name"] == "journal-20260101T000000Z-failover-ab12.jsonl"
    assert (last["outcome"], last["acknowledged"], last["acked_by"]) == ("completed", False, None)


def test_a_stale_state_says_the_watcher_stopped(tmp_path: Path) -> None:
    path = plan_file(tmp_path, automation=True)
    write_state(runbook_dir(path), PublishedState("armed", "primary up", "act", time.time() - 100, 5.0))
    line = status(path).output.splitlines()[-1]
    assert re.fullmatch(r"Automation: not running \(kdrtui watch last wrote 10\d s ago: armed\)", line), line
    block = json.loads(status(path, "--json").output)["automation"]
    assert (block["state"], block["stale"], block["running"]) == ("armed", True, False)


class FakeHealth:
    def __init__(self, plan: Any) -> None:
        pass

    def submit(self) -> Future[dict[str, Any]]:
        done: Future[dict[str, Any]] = Future()
        done.set_result({})
        return done

    def close(self) -> None:
        pass


class FakeDivergence:
    def __init__(self, plan: Any) -> None:
        pass

    def refresh(self) -> DivergenceSnapshot:
        return DivergenceSnapshot(time.time(), "primary", "dr", ())

    def close(self) -> None:
        pass


def test_a_hot_standby_shows_the_line_and_the_block_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kdrtui.commands import status_health
    from kdrtui.services.kafka import divergence_engine

    monkeypatch.setattr(status_health, "ClusterHealthReader", FakeHealth)
    monkeypatch.setattr(divergence_engine, "DivergenceEngine", FakeDivergence)
    path = plan_file(tmp_path, automation=False, sample=HOT)
    human = status(path)
    assert human.exit_code == 0, human.output
    assert human.output.splitlines()[0].startswith("hot standby (dual ingest)")
    assert human.output.splitlines()[-1] == "Automation: off"
    assert json.loads(status(path, "--json").output)["automation"] == {"enabled": False}
