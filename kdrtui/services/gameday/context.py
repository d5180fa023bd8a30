"""What a running scenario works with (:class:`GamedayContext`): the lab, its plan, the run's own sequenced
traffic and the verifier reading it back on the target, the observer of what kdrtui shows, the timeline,
and the measurements the report is made of."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kdrtui.domain.gameday import Check, Measure, TimelineEntry, exposure
from kdrtui.services.gameday.observer import Observer, Sample
from kdrtui.services.gameday.traffic import SequencedTraffic, Verifier

if TYPE_CHECKING:
    from kdrtui.domain.plan import Plan
    from kdrtui.domain.plan_flows import MirrorFlow
    from kdrtui.lab.lab import Lab


class Named(Protocol):
    """What the context needs of a :class:`~kdrtui.services.gameday.scenario.Scenario` (which imports
    this module for its ``run``'s type)."""

    @property
    def name(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def proves(self) -> str: ...


class GamedayError(RuntimeError):
    """A scenario cannot run here: unknown name, a plan that is not a running lab's, a need the lab lacks."""


class Cancelled(RuntimeError):
    """The run was cancelled (``cancel`` set)."""


class ScenarioTimeout(RuntimeError):
    """What a scenario waited for did not happen in time."""


@dataclass(frozen=True)
class GamedayEvent:
    """One line of progress: ``elapsed`` seconds into the run."""

    elapsed: float
    phase: str
    text: str


def bootstrap_of(plan: Plan, alias: str) -> str:
    """The cluster's bootstrap servers as one string."""
    return ",".join(plan.clusters[alias].bootstrap_servers)


def target_topic(flow: MirrorFlow, topic: str) -> str:
    """The name ``topic`` gets on the flow's target (the plan's naming)."""
    from kdrtui.services.kafka.group_lag import target_topic_name

    return target_topic_name(flow, topic)


class GamedayContext:
    """One run of one scenario. Built by :func:`kdrtui.services.gameday.runner.run_scenario`."""

    def __init__(
        self,
        scenario: Named,
        lab: Lab,
        plan: Plan,
        plan_path: Path,
        *,
        on_event: Callable[[GamedayEvent], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        from kdrtui.services.runbook.operate import current_plan

        self.scenario = scenario
        self.lab = lab
        self.plan = plan
        """The plan as written (:attr:`running` is the plan as it runs now)."""
        self.plan_path = plan_path
        self.running = current_plan(plan, plan_path)
        """The plan as it runs now (after a failover: the reverse flow)."""
        self.flow = self.running.flows[0]
        """The flow the run's traffic crosses (from the active cluster)."""
        self.cancelled = cancel or threading.Event()
        self.run_id = uuid.uuid4().hex[:6]
        self._on_event = on_event
        self._t0 = time.monotonic()
        self.started_at = time.time()
        self.timeline: list[TimelineEntry] = []
        self.fault_at: float | None = None
        """Run seconds when the fault was injected."""
        self.detection = Measure(None, "no fault was injected")
        self.detection_expected = ""
        self.rpo_records = Measure(None, "the run ended before it was measured")
        self.rpo_seconds = Measure(None, "the run ended before it was measured")
        self.rto = Measure(None, "no runbook ran")
        self.checks: list[Check] = []
        self.figures: dict[str, float | int | str | None] = {}
        self._restores: list[tuple[str, Callable[[], object]]] = []
        self.traffic = SequencedTraffic(
            bootstrap_of(self.running, self.flow.source), self.topic_names(2), rate=40
        )
        """The run's sequenced traffic (``acks=all``), on the flow's source; see :meth:`start_traffic`."""
        self.verifier = self._verifier()
        self.observer = Observer(self.plan, plan_path, set(self.traffic.topics), self.now)
        """Samples what kdrtui shows, about once a second, from :meth:`start_traffic` on."""

    # Time and the timeline ------------------------------------------------------------------------

    def now(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self._t0

    def mark(self, text: str, phase: str = "observe") -> float:
        """Add a timeline event now; returns its time."""
        t = self.now()
        self.timeline.append(TimelineEntry(t, phase, text))
        if self._on_event is not None:
            self._on_event(GamedayEvent(t, phase, text))
        return t

    def fault(self, text: str) -> float:
        """Mark the fault's injection (detection is timed from here)."""
        self.fault_at = self.mark(text, "fault")
        return self.fault_at

    def check_cancelled(self) -> None:
        """Raise :class:`Cancelled` when the run was cancelled."""
        if self.cancelled.is_set():
            raise Cancelled("cancelled")

    def wait_until(
        self, predicate: Callable[[], object], timeout: float, message: str, interval: float = 0.5
    ) -> float:
        """Poll ``predicate`` until truthy; return the seconds it took. Raises :class:`ScenarioTimeout`
        (naming ``message``) after ``timeout``, :class:`Cancelled` when cancelled."""
        started = time.monotonic()
        while not predicate():
            self.check_cancelled()
            if time.monotonic() - started > timeout:
                raise ScenarioTimeout(f"{message}: not within {timeout:.0f} s")
            self.cancelled.wait(interval)
        return time.monotonic() - started

    # Traffic ---------------------------------------------------------------------------------------

    def topic_names(self, count: int) -> list[str]:
        """``gd-<scenario>-<runid>-<i>``: the run's own topics."""
        return [f"gd-{self.scenario.name}-{self.run_id}-{i}" for i in range(count)]

    def _verifier(self) -> Verifier:
        targets = {t: target_topic(self.flow, t) for t in self.traffic.topics}
        return Verifier(bootstrap_of(self.running, self.flow.target), targets)

    def use_traffic(self, topics: int = 2, rate: float = 40.0) -> None:
        """Change the traffic's shape (before :meth:`start_traffic`)."""
        self.traffic = SequencedTraffic(self.traffic.bootstrap, self.topic_names(topics), rate=rate)
        self.verifier = self._verifier()
        self.observer.topics = set(self.traffic.topics)

    def start_traffic(self, *, records: int | None = None, mirrored_within: float = 120.0) -> None:
        """Create the topics, start producing, reading the target and observing; return once records of
        every topic are read on the target (MirrorMaker made the mirrored topics and copies them).

        ``records``: a budget (:meth:`allow` raises it), so every run counts the same records; None: the
        traffic runs at its rate until :meth:`settle`."""
        self.traffic.limit = records
        self.traffic.create_topics()
        self.traffic.start()
        self.verifier.start()
        self.mark(
            f"traffic: {len(self.traffic.topics)} topics {self.traffic.topics[0]}.., "
            f"{self.traffic.rate:g} records/s, acks=all, idempotent, on {self.flow.source}",
            "traffic",
        )
        self.wait_until(
            lambda: all(self.verifier.seen(t) for t in self.traffic.topics),
            mirrored_within,
            f"records mirrored to {self.flow.target}",
        )
        self.mark(
            f"mirrored: records read on {self.flow.target} ({', '.join(self.verifier.targets.values())})"
        )
        self.observer.start()  # from the steady state on: every change it records is the scenario's
        self.wait_until(lambda: self.observer.latest() is not None, 60, "kdrtui's first status refresh")

    def allow(self, records: int) -> int:
        """Raise the traffic's budget by ``records`` (it produces them at its rate); returns the new total."""
        self.traffic.limit = (self.traffic.limit or 0) + records
        return self.traffic.limit

    def wait_acked(self, total: int, what: str) -> float:
        """Wait until ``total`` records in all are delivered or failed (at the traffic's rate, + a minute)."""

        def done() -> int:
            return self.traffic.total_acked() + self.traffic.failed()

        left = max(0, total - done())
        return self.wait_until(lambda: done() >= total, left / self.traffic.rate + 60, what)

    def wait_caught_up(self, timeout: float, what: str) -> float:
        """Wait until every record acknowledged so far is read on the target; mark it; return the seconds."""
        pending = {t: set(self.traffic.acked(t)) for t in self.traffic.topics}
        took = self.wait_until(
            lambda: all(pending[t] <= self.verifier.seen(t) for t in self.traffic.topics), timeout, what
        )
        self.mark(f"caught up: {what} ({took:.1f} s)")
        return took

    def exposure_now(self) -> tuple[int, float]:
        """Records acknowledged but not read on the target right now, and the oldest one's age: the RPO a
        failover at this moment would have had."""
        now = time.time()
        records, oldest = 0, 0.0
        for topic in self.traffic.topics:
            exp = exposure(self.traffic.acked(topic), self.verifier.seen(topic), now)
            records += exp.records
            oldest = max(oldest, exp.seconds)
        return records, oldest

    def settle(self, timeout: float = 90.0, *, total: int | None = None) -> float | None:
        """Stop the traffic — at once, or once ``total`` records in all are acknowledged (so two runs count
        the same records; a budget of :meth:`allow` is used up first) — and wait until every acknowledged
        record is read on the target (or ``timeout``); returns the seconds the wait took, None when records
        are still missing."""
        if total is not None and self.traffic.running:
            # A total below what was produced already cannot be undone: the counts then say so.
            self.traffic.limit = max(total, self.traffic.limit or 0)
            self.wait_acked(self.traffic.limit, f"{self.traffic.limit} records acknowledged")
        if self.traffic.running or total is not None:
            self.traffic.stop()
            self.mark(f"traffic stopped: {self.traffic.total_acked()} records acknowledged", "settle")
        try:
            took = self.wait_until(
                lambda: self.verifier.missing(self.traffic.acked) == 0, timeout, "every acked record mirrored"
            )
        except ScenarioTimeout:
            missing = self.verifier.missing(self.traffic.acked)
            self.mark(
                f"settled: {missing} acknowledged records still not on the target after {timeout:.0f} s",
                "settle",
            )
            return None
        self.mark(f"settled: every acknowledged record read on {self.flow.target}", "settle")
        return took

    # Observation and measurements --------------------------------------------------------------------

    def detected(self, expected: str, predicate: Callable[[Sample], bool], timeout: float) -> float | None:
        """Wait for the first observer sample after the fault meeting ``predicate``; record the detection
        time (fault to that sample) and return it, None (and a note) when it was not seen in ``timeout``."""
        after = self.fault_at if self.fault_at is not None else 0.0
        self.detection_expected = expected
        try:
            self.wait_until(lambda: self.observer.first(predicate, after) is not None, timeout, expected)
        except ScenarioTimeout:
            self.detection = Measure(None, f"not seen within {timeout:.0f} s of the fault")
            self.mark(f"not detected within {timeout:.0f} s: {expected}")
            return None
        sample = self.observer.first(predicate, after)
        assert sample is not None
        return self.set_detection(expected, sample.t - after)

    def flow_health(self, sample: Sample) -> str | None:
        """The health kdrtui shows for the run's flow in ``sample``."""
        return sample.flows.get(f"{self.flow.source}->{self.flow.target}")

    def shown_healthy(self, timeout: float = 60.0) -> float | None:
        """Wait until kdrtui shows the run's flow OK (or IDLE) again after the fault; mark it and return the
        run seconds, None when it did not within ``timeout``."""
        after = self.fault_at if self.fault_at is not None else 0.0

        def seen() -> bool:
            latest = self.observer.latest()
            return latest is not None and latest.t > after and self.flow_health(latest) in ("OK", "IDLE")

        try:
            self.wait_until(seen, timeout, "kdrtui showing the flow healthy again")
        except ScenarioTimeout:
            self.mark(
                f"kdrtui did not show {self.flow.source}->{self.flow.target} healthy within {timeout:.0f} s"
            )
            return None
        latest = self.observer.latest()
        assert latest is not None
        self.mark(f"kdrtui shows {self.flow.source}->{self.flow.target} {self.flow_health(latest)} again")
        return latest.t

    def set_detection(self, expected: str, seconds: float, note: str = "") -> float:
        """Record the detection time directly (a state seen outside the status view)."""
        self.detection_expected = expected
        self.detection = Measure(seconds, note)
        self.mark(f"detected after {seconds:.1f} s: {expected}")
        return seconds

    def measure_rpo(self, at_epoch: float, note: str = "") -> tuple[int, float]:
        """The RPO at ``at_epoch`` (epoch s, e.g. the failover point): records acknowledged by then that are
        not on the target, and the age of the oldest; from what the verifier read (settle first)."""
        records, oldest = 0, 0.0
        for topic in self.traffic.topics:
            exp = exposure(self.traffic.acked(topic), self.verifier.seen(topic), at_epoch)
            records += exp.records
            oldest = max(oldest, exp.seconds)
        self.rpo_records = Measure(records, note)
        self.rpo_seconds = Measure(oldest, note)
        return records, oldest

    def set_rto(self, seconds: float | None, note: str = "") -> None:
        """Record the measured RTO (None with ``note`` saying why it is unknown)."""
        self.rto = Measure(seconds, note)

    def check(self, name: str, expected: str, measured: str, passed: bool | None) -> Check:
        """Add a pass/fail judgement to the report."""
        check = Check(name, expected, measured, passed)
        self.checks.append(check)
        return check

    def figure(self, name: str, value: float | int | str | None) -> None:
        """Add a scenario-specific figure to the report."""
        self.figures[name] = value

    def max_lag(self, after: float = 0.0) -> tuple[int, float]:
        """The worst (records, seconds) of the run's topics on the flow the observer saw since ``after``."""
        name = f"{self.flow.source}->{self.flow.target}"
        lags = [s.flow_lag.get(name, (0, 0.0)) for s in self.observer.since(after)]
        return max((r for r, _ in lags), default=0), max((s for _, s in lags), default=0.0)

    # Restoring the lab ---------------------------------------------------------------------------

    def on_restore(self, text: str, action: Callable[[], object]) -> None:
        """Register what undoes a fault; restore runs these last-registered first, even after an error."""
        self._restores.append((text, action))

    def undo(self, text: str) -> None:
        """Run and drop the registered restore step ``text`` now (the scenario's own recovery)."""
        for i, (what, action) in enumerate(self._restores):
            if what == text:
                del self._restores[i]
                action()
                self.mark(f"restored: {text}", "restore")
                return

    def restore(self) -> list[str]:
        """Undo what the scenario left, then bring back whatever of the lab is down; returns problems."""
        problems: list[str] = []
        for text, action in reversed(self._restores):
            try:
                action()
                self.mark(f"restored: {text}", "restore")
            except Exception as exc:  # every other step still runs
                problems.append(f"{text}: {exc}")
        self._restores.clear()
        problems += restore_lab(self.lab, self.plan, self.mark)
        return problems

    def close(self) -> None:
        """Stop the traffic, the verifier and the observer (idempotent)."""
        if self.traffic.running:
            self.traffic.stop()
        self.verifier.stop()
        self.observer.stop()

    def lab_shape(self) -> dict[str, Any]:
        """Brokers, WAN, topology and security of the lab, for the report."""
        wan = getattr(self.lab, "wan", None)
        wan_state: Any = None
        if wan is not None and getattr(wan, "enabled", False):
            try:
                state = wan.state()
                wan_state = f"{state.latency_ms} ms latency, {state.loss_pct:g} % loss"
            except Exception as exc:  # the report says why instead of failing
                wan_state = f"unknown ({exc})"
        return {
            "brokers": self.lab.brokers,
            "wan": wan_state or "none",
            "topology": getattr(self.lab, "topology", "cold-standby"),
            "security": self.lab.security.mode,
        }


def restore_lab(lab: Lab, plan: Plan, mark: Callable[[str, str], object]) -> list[str]:
    """Heal the WAN, restart what is down, start MirrorMaker where it is not running; returns problems."""
    from kdrtui.services.gameday import mirrormaker

    problems: list[str] = []
    try:
        started = lab.restore()
        if started:
            mark(f"restored: restarted {', '.join(started)}", "restore")
    except Exception as exc:
        problems.append(f"lab: {exc}")
    wan = getattr(lab, "wan", None)
    if wan is not None and getattr(wan, "enabled", False):
        try:
            wan.reset()  # what `lab up` set: its latency, no loss, no partition
        except Exception as exc:
            problems.append(f"WAN: {exc}")
    try:
        from kdrtui.services.runbook.operate import current_plan

        down = [s for s in mirrormaker.statuses(current_plan(plan, lab.plan_path)) if not s.active]
        if down:
            mirrormaker.start_all(current_plan(plan, lab.plan_path), lambda _m: None)
            mark(f"restored: MirrorMaker started on {', '.join(s.node for s in down)}", "restore")
    except Exception as exc:
        problems.append(f"MirrorMaker: {exc}")
    left = lab.missing()
    if left:
        problems.append(f"still down: {', '.join(left)}")
    return problems
