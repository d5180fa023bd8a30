"""The console's part in the incident timeline (source ``console``): what it observes goes to the plan's
timeline whichever pane is shown.

- clusters: every probe of the Overview's monitor (the app's ``ClusterObserved`` messages);
- mirror lag: the Mirror lag pane's snapshots while it polls (:meth:`ConsoleTimeline.lag`, from its
  thread), and otherwise one refresh of the console's own lag source every :data:`BACKGROUND_LAG_S`
  (a thread worker; skipped while the pane's snapshots are fresh, so the clusters are never read twice);
- MirrorMaker and SSH: the Edge pane's polls (:meth:`ConsoleTimeline.edge`). Hidden, the Edge pane does
  not poll, so these are recorded while it is shown (or by ``kdrtui exporter``, which reads them always).

Every write happens in a thread, never on the UI loop (what the loop hands over goes through one writer
thread); a timeline that cannot be opened is logged once and the console runs on without it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.worker import get_current_worker

if TYPE_CHECKING:
    from textual.app import App

    from kdrtui.domain.health import ClusterObservation
    from kdrtui.domain.lag import LagSnapshot
    from kdrtui.domain.mirrormaker import MirrorMakerStatus
    from kdrtui.domain.plan import Plan
    from kdrtui.services.timeline.recorder import TimelineRecorder
    from kdrtui.tui.factories import ConsoleServices, LagSource

LOGGER = logging.getLogger("kdrtui.timeline")

BACKGROUND_LAG_S = 10.0
"""Seconds between two lag samples the console takes itself while the Mirror lag pane does not poll."""
GROUP = "timeline-feed"
"""The worker group of the console's background recorder."""


class ConsoleTimeline:
    """The console's timeline recorder and its background lag sampler."""

    def __init__(
        self, app: App[None], services: ConsoleServices, where: Callable[[], tuple[Plan | None, Path | None]]
    ) -> None:
        self._app = app
        self._services = services
        self._where = where
        """The app's plan and plan path now (they change when the plan file does)."""
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._recorder: TimelineRecorder | None = None
        self._opened = threading.Event()
        self._open_lock = threading.Lock()
        self._stopping = threading.Event()
        self._fed_at = 0.0
        self._source: LagSource | None = None
        self._source_plan: Plan | None = None

    # -- the recorder --------------------------------------------------------------------------------

    def _get(self) -> TimelineRecorder | None:
        """The recorder, opened on first use (blocking: from a thread); None without a timeline."""
        if self._opened.is_set():
            return self._recorder
        with self._open_lock:
            if not self._opened.is_set():
                self._recorder = self._open()
                self._opened.set()
        return self._recorder

    def _open(self) -> TimelineRecorder | None:
        from kdrtui.services.timeline.recorder import TimelineRecorder

        plan, path = self._where()
        if plan is None:
            return None
        try:
            store = self._services.timeline_store_factory(plan, path)
        except Exception as exc:  # TimelineUnavailable: the console runs on without it
            LOGGER.warning("console: no incident timeline: %s", exc)
            return None
        return TimelineRecorder(store, "console", clock=self._services.clock)

    # -- what the panes and probes feed (from their threads) -------------------------------------------

    def cluster(self, alias: str, observation: ClusterObservation) -> None:
        """One probe of one cluster (from the UI loop: written by the writer thread)."""
        self._hand_over(lambda: self._cluster(alias, observation))

    def _cluster(self, alias: str, observation: ClusterObservation) -> None:
        recorder = self._get()
        if recorder is not None:
            recorder.observe_clusters({alias: observation})

    def _hand_over(self, work: Callable[[], None]) -> None:
        """Run ``work`` on the writer thread (started on first use)."""
        if self._stopping.is_set():
            return
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, name="timeline-writer", daemon=True)
            self._writer.start()
        self._queue.put(work)

    def _write_loop(self) -> None:
        while (work := self._queue.get()) is not None:
            try:
                work()
            except Exception as exc:  # the recorder logs store errors; anything else must not end the loop
                LOGGER.warning("console: timeline write failed: %s", exc)

    def lag(self, snapshot: LagSnapshot) -> None:
        """A snapshot of the Mirror lag pane (from its thread): the background sampler rests meanwhile."""
        self._fed_at = time.monotonic()
        recorder = self._get()
        if recorder is not None:
            recorder.observe_lag(snapshot)

    def edge(
        self, node: str, connected: bool, why: str | None, statuses: Iterable[MirrorMakerStatus]
    ) -> None:
        """One poll of an edge node by the Edge pane (on the UI loop): its SSH state and its deployments'
        statuses (written by the writer thread)."""
        polled = list(statuses)
        self._hand_over(lambda: self._edge(node, connected, why, polled))

    def _edge(self, node: str, connected: bool, why: str | None, statuses: list[MirrorMakerStatus]) -> None:
        recorder = self._get()
        if recorder is not None:
            recorder.observe_ssh(node, connected, why)
            recorder.observe_mirrormaker(statuses)

    # -- the background lag sampler ------------------------------------------------------------------

    def start(self) -> None:
        """Start sampling the lag in the background (a thread worker on the app)."""
        if self._where()[0] is None:
            return
        self._app.run_worker(self._loop, name="timeline-lag", group=GROUP, thread=True, exit_on_error=False)

    def stop(self) -> None:
        """The app is closing: the sampler ends after the read under way, the writer after its queue."""
        self._stopping.set()
        self._queue.put(None)

    def _loop(self) -> None:
        worker = get_current_worker()
        try:
            while not (worker.is_cancelled or self._stopping.wait(BACKGROUND_LAG_S)):
                if time.monotonic() - self._fed_at < BACKGROUND_LAG_S:
                    continue  # the Mirror lag pane polls: its snapshots are recorded
                self._sample()
        finally:
            if self._source is not None:
                self._source.close()

    def _sample(self) -> None:
        from kdrtui.services.runbook.operate import view_plan

        plan, path = self._where()
        if plan is None or not plan.flows:
            return  # nothing mirrored (a hot standby): no lag to sample
        recorder = self._get()
        if recorder is None:
            return
        try:
            viewed, _error = view_plan(plan, path)
            if self._source is None or viewed != self._source_plan:
                if self._source is not None:
                    self._source.close()
                self._source, self._source_plan = None, viewed
                self._source = self._services.lag_source_factory(viewed)
            snapshot = self._source.refresh()
        except Exception as exc:  # a refresh that fails is the lag pane's to show; try again later
            LOGGER.info("console: timeline lag sample failed: %s", exc)
            return
        if not self._stopping.is_set():
            recorder.observe_lag(snapshot)
