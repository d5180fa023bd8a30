"""The live cluster monitor behind the Overview: one thread worker per cluster of the plan probes it, posts
what it saw (with the brokers the plan expects) as a :class:`~kdrtui.tui.messages.ClusterObserved` message
to the app, then waits for the refresh interval (or a wake: "refresh now", a new plan, the app closing)."""

from __future__ import annotations

import threading
from functools import partial

from textual.app import App
from textual.worker import get_current_worker

from kdrtui.domain.health import expect_from_plan
from kdrtui.domain.plan import Cluster, Plan
from kdrtui.tui.factories import ConsoleServices
from kdrtui.tui.messages import ClusterObserved

PROBE_GROUP = "probes"
"""The worker group of the probes (cancelled as one when the plan changes)."""


class ClusterProbes:
    """The probe workers of the app's plan; they run on the app, which receives what they saw."""

    def __init__(self, app: App[None], services: ConsoleServices) -> None:
        self._app = app
        self._services = services
        self._wake: dict[str, threading.Event] = {}
        self._stopping = threading.Event()

    def start(self, plan: Plan | None) -> None:
        """One probe worker per cluster of ``plan`` that has bootstrap servers."""
        if plan is None:
            return
        for alias, cluster in plan.clusters.items():
            bootstrap = ",".join(cluster.bootstrap_servers)
            if not bootstrap:
                continue
            self._wake[alias] = threading.Event()
            self._app.run_worker(
                partial(self._probe_loop, alias, bootstrap, cluster),
                name=f"probe:{alias}",
                group=PROBE_GROUP,
                thread=True,
                exit_on_error=False,
            )

    def restart(self, plan: Plan) -> None:
        """Stop the probes of the old plan and start those of ``plan``."""
        self._app.workers.cancel_group(self._app, PROBE_GROUP)
        self.wake()
        self._wake = {}
        self.start(plan)

    def wake(self) -> None:
        """Probe every cluster now instead of waiting for the next interval."""
        for event in self._wake.values():
            event.set()

    def stop(self) -> None:
        """The app is closing: every probe ends after the read under way."""
        self._stopping.set()
        self.wake()

    def _probe_loop(self, alias: str, bootstrap: str, cluster: Cluster) -> None:
        """Thread worker: probe one cluster, post what it saw, wait, repeat until cancelled."""
        worker = get_current_worker()
        wake = self._wake[alias]
        probe = self._services.probe_factory(alias, bootstrap)
        try:
            while not (worker.is_cancelled or self._stopping.is_set()):
                observation = expect_from_plan(probe.observe(), cluster)
                if worker.is_cancelled or self._stopping.is_set():
                    break
                self._app.post_message(ClusterObserved(alias, observation))
                wake.wait(self._services.refresh_interval)
                wake.clear()
        finally:
            probe.close()
