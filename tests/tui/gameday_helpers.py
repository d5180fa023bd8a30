"""A lab-less game day for the Game day pane's tests: tiny scenarios registered in place of the real ones
(monkeypatching ``SCENARIOS``) and a runner that runs them on a fake context — pure, fast, and with the
same events, cancel and report as :func:`kdrtui.services.gameday.runner.run_scenario`."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kdrtui.domain.gameday import Check, GamedayReport, Measure, TopicCounts
from kdrtui.domain.plan import Plan
from kdrtui.services.gameday.context import Cancelled, GamedayEvent
from kdrtui.services.gameday.scenario import Scenario
from kdrtui.tui.app import KdrApp
from kdrtui.tui.screens import gameday_model
from tests.tui.fakes import FIXED_NOW, ScriptedProbes, fixed_app, sample_plan

STARTED = FIXED_NOW - 95.0
"""When every fake run starts (epoch s): its report reads the same every time."""


class FakeContext:
    """What a scenario gets, without a lab: :meth:`mark` sends events, ``cancelled`` is the cancel."""

    def __init__(self, on_event: Callable[[GamedayEvent], None] | None, cancel: threading.Event) -> None:
        self.cancelled = cancel
        self.on_event = on_event
        self.elapsed = 0.0
        self.checks: list[Check] = []

    def mark(self, text: str, phase: str = "observe") -> float:
        self.elapsed += 1.5
        if self.on_event is not None:
            self.on_event(GamedayEvent(self.elapsed, phase, text))
        return self.elapsed


def quick_run(ctx: Any) -> None:
    """Marks four events and passes."""
    ctx.mark("traffic started on gd-a-0, gd-a-1", "traffic")
    ctx.mark("killed MirrorMaker on dr-edge-1", "fault")
    ctx.mark("flow primary->dr: STOPPED seen after 4.2 s", "observe")
    ctx.mark("MirrorMaker restarted", "restore")
    ctx.checks.append(Check("no-loss", "0 records lost", "0 lost", True))


class Waiter:
    """A scenario that waits until cancelled (``started`` is set once it waits)."""

    def __init__(self) -> None:
        self.started = threading.Event()

    def __call__(self, ctx: Any) -> None:
        ctx.mark("partition for 600 s", "fault")
        self.started.set()
        ctx.cancelled.wait(10)
        ctx.mark("cancel seen", "observe")
        raise Cancelled("cancelled")


def scenarios(waiter: Waiter) -> dict[str, Scenario]:
    """The fake registry: one quick scenario, one that waits for its cancel, one that needs a WAN."""
    return {
        "fake-quick": Scenario(
            "fake-quick",
            "MirrorMaker is killed mid-batch and restarted",
            "a crash of MirrorMaker loses nothing",
            frozenset(),
            False,
            quick_run,
        ),
        "fake-wait": Scenario(
            "fake-wait", "the WAN drops until cancelled", "nothing fails over", frozenset(), True, waiter
        ),
        "fake-wan": Scenario(
            "fake-wan",
            "latency and loss on the WAN",
            "lag grows and recovers",
            frozenset({"wan"}),
            False,
            quick_run,
        ),
    }


class FakeRunner:
    """Runs a fake scenario as ``run_scenario`` does: events, cancel, restore, report (no lab)."""

    def __init__(self, registry: dict[str, Scenario]) -> None:
        self.registry = registry
        self.runs: list[str] = []
        """Names run, in order."""
        self.restored: list[str] = []
        """Names whose run restored the lab (every run, cancelled or not)."""

    def __call__(
        self,
        name: str,
        *,
        lab_home: Path,
        plan_path: Path,
        on_event: Callable[[GamedayEvent], None] | None,
        cancel: threading.Event | None,
    ) -> GamedayReport:
        self.runs.append(name)
        scenario = self.registry[name]
        ctx = FakeContext(on_event, cancel or threading.Event())
        error = None
        try:
            scenario.run(ctx)  # type: ignore[arg-type]
        except Cancelled:
            error = "cancelled"
        finally:
            self.restored.append(name)
            ctx.mark("lab restored", "restore")
        checks = [
            Check("rpo", "<= 60 s", "1.3 s", True),
            Check("rto", "<= 300 s", "not measured (no runbook ran)", None),
            *ctx.checks,
        ]
        return GamedayReport(
            scenario=name,
            summary=scenario.summary,
            proves=scenario.proves,
            plan_name="lab",
            plan_path=str(plan_path),
            lab={"brokers": 1},
            started_at=STARTED,
            ended_at=STARTED + ctx.elapsed,
            objectives={"rpo_seconds": 60, "rto_seconds": 300},
            detection=Measure(4.2),
            detection_expected="flow primary->dr STOPPED",
            rpo_records=Measure(12),
            rpo_seconds=Measure(1.3),
            topics=[TopicCounts("gd-a-0", "gd-a-0", 400, 400, 400, 0, 3, 0)],
            checks=checks,
            error=error,
        )


def lab_plan_path(root: Path, brokers: int = 1) -> Path:
    """``<root>/lab/plan.toml`` beside a ``lab.json``: what the pane takes for a lab's own plan."""
    home = root / "lab"
    home.mkdir(parents=True, exist_ok=True)
    (home / "lab.json").write_text(json.dumps({"brokers": brokers}), encoding="utf-8")
    plan = home / "plan.toml"
    plan.write_text("# the sample plan stands in for the lab's\n", encoding="utf-8")
    return plan


def fake_gameday(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[FakeRunner, Waiter]:
    """The fake registry and runner in place of the real ones, the state dir under ``tmp_path``."""
    from kdrtui.services.gameday import scenarios as registry

    waiter = Waiter()
    fakes = scenarios(waiter)
    runner = FakeRunner(fakes)
    monkeypatch.setattr(registry, "SCENARIOS", fakes, raising=False)
    monkeypatch.setattr(gameday_model, "run_gameday", runner)
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path / "state"))
    return runner, waiter


def gameday_app(plan_path: Path | None, plan: Plan | None = None, **kw: Any) -> KdrApp:
    """The console on the sample plan read from ``plan_path`` (None: no plan file), its clock stopped."""
    app = fixed_app(plan or sample_plan(), probes=ScriptedProbes(), **kw)
    app.plan_path = plan_path
    return app
