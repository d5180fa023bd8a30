"""``kdrtui exporter``'s engine: refreshes the status view on its own cadence in one thread, reads
MirrorMaker over SSH on a slower one in another, keeps the latest of each (:class:`Observed`), and hands
them to hooks (the timeline recorder) and to the Prometheus collector (:class:`StatusCollector`).

A scrape reads :meth:`Exporter.observed` and nothing else: it never triggers a refresh, and a slow
scraper cannot slow the refresh (it takes no lock the refresh waits on for long).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TypeVar

from prometheus_client import ProcessCollector
from prometheus_client.core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

from kdrtui.services.observe.collector import status_families
from kdrtui.services.observe.collector_edge import edge_families, exporter_families
from kdrtui.services.observe.last_failover import LastFailover
from kdrtui.services.observe.mirrormaker_read import MirrorMakerRead, MirrorMakerReader
from kdrtui.services.observe.observed import Observed
from kdrtui.services.observe.status_view import StatusReader, StatusView

log = logging.getLogger(__name__)
T = TypeVar("T")


class StatusCollector(Collector):
    """Collects every ``kdrtui_*`` family from ``observed()`` (called once per scrape)."""

    def __init__(self, observed: Callable[[], Observed], clock: Callable[[], float] = time.time) -> None:
        self._observed = observed
        self._clock = clock

    def describe(self) -> list[Metric]:
        """Nothing: registering must not collect (a scrape is the only reader)."""
        return []

    def collect(self) -> Iterator[Metric]:
        seen = self._observed()
        yield from exporter_families(seen, self._clock())
        if seen.body is not None:
            yield from status_families(seen.body, seen.clusters, per_partition=seen.per_partition)
        yield from edge_families(seen)


class Exporter:
    """The refresh and MirrorMaker loops, their latest results, the hooks and the metrics registry.

    Args:
        reader: takes the status views (owned: closed by :meth:`stop`).
        interval_s: refresh cadence.
        per_partition: export per-partition series too.
        mirrormaker: reads MirrorMaker over SSH (owned); None when the plan has no edge node.
        mirrormaker_interval_s: its cadence.
        failover: the newest failover or failback (read after each refresh).
    """

    def __init__(
        self,
        reader: StatusReader,
        *,
        interval_s: float,
        per_partition: bool = False,
        mirrormaker: MirrorMakerReader | None = None,
        mirrormaker_interval_s: float = 60.0,
        failover: Callable[[], LastFailover | None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.reader = reader
        self.interval_s = interval_s
        self.mirrormaker_interval_s = mirrormaker_interval_s
        self._mm = mirrormaker
        self._failover = failover
        self._clock = clock
        self.on_refresh: list[Callable[[StatusView], None]] = []
        """Called after each successful refresh with its view (in the refresh thread; a hook that raises
        is logged and the others still run)."""
        self.on_mirrormaker: list[Callable[[MirrorMakerRead], None]] = []
        """Called after each MirrorMaker read with its result (in the MirrorMaker thread)."""
        self._lock = threading.Lock()  # held only to replace _observed (both loops write it)
        self._observed = Observed(
            interval_s,
            clusters=tuple(sorted(reader.plan.clusters)),
            per_partition=per_partition,
            mirrormaker_interval_s=mirrormaker_interval_s if mirrormaker is not None else None,
        )
        self._json: tuple[int, str] | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(StatusCollector(self.observed, clock))
        ProcessCollector(registry=self.registry)  # process_*: the exporter's own CPU, memory, fds

    # -- what a scrape reads -------------------------------------------------------------------------

    def observed(self) -> Observed:
        """The latest figures (an immutable value)."""
        return self._observed

    def status_json(self) -> tuple[int, str] | None:
        """(refresh number, the ``kdrtui status --json`` line) of the refresh the metrics show; None
        before the first."""
        return self._json

    # -- the loops -----------------------------------------------------------------------------------

    def refresh_once(self, *, warm_up_s: float | None = None) -> StatusView | None:
        """One refresh: the view, the last failover, then the hooks. A failed refresh keeps the previous
        figures (they age: ``kdrtui_snapshot_age_seconds``) and is counted and said."""
        try:
            view = self.reader.refresh(warm_up_s=warm_up_s)
        except Exception as exc:
            log.exception("exporter: refresh failed")
            why = str(exc) or type(exc).__name__
            self._update(
                lambda o: replace(
                    o, refreshes=o.refreshes + 1, refresh_errors=o.refresh_errors + 1, last_error=why
                )
            )
            return None
        try:
            failover = self._failover()
        except Exception:  # journals unreadable: the lag figures still go out, the last failover as known
            log.exception("exporter: the last failover could not be read")
            failover = self._observed.failover
        body = view.to_dict()
        # The JSON first: whoever reads the metrics of refresh n finds its JSON already there.
        self._json = (self._observed.refreshes + 1, view.to_json())
        self._update(
            lambda o: replace(
                o,
                body=body,
                refreshed_at=view.snapshot.taken_at,
                refresh_duration_s=view.duration_s,
                refreshes=o.refreshes + 1,
                last_error=None,
                failover=failover,
            )
        )
        self._call(self.on_refresh, view)
        return view

    def read_mirrormaker_once(self) -> MirrorMakerRead | None:
        """One MirrorMaker read (every node bounded by its timeout), then the hooks."""
        if self._mm is None:
            return None
        try:
            read = self._mm.read()
        except Exception:
            log.exception("exporter: MirrorMaker read failed")
            return None
        self._update(lambda o: replace(o, mirrormaker=read, mirrormaker_reads=o.mirrormaker_reads + 1))
        self._call(self.on_mirrormaker, read)
        return read

    def _update(self, change: Callable[[Observed], Observed]) -> None:
        with self._lock:
            self._observed = change(self._observed)

    @staticmethod
    def _call(hooks: list[Callable[[T], None]], value: T) -> None:
        for hook in list(hooks):
            try:
                hook(value)
            except Exception:  # a hook (the timeline) never stops the exporter
                log.exception("exporter: hook %r failed", hook)

    def _every(self, interval_s: float, once: Callable[[], object]) -> None:
        """Run ``once`` every ``interval_s`` on a fixed schedule (a late run is not caught up twice)."""
        due = time.monotonic()
        while not self._stop.is_set():
            once()
            due += interval_s
            now = time.monotonic()
            if due < now:  # the run took longer than the interval: start the next one now
                due = now
            self._stop.wait(due - now)

    def start(self) -> None:
        """Start the loops (the first refresh warms up: rates and seconds need two reads)."""

        def refresh_loop() -> None:
            self.refresh_once(warm_up_s=min(1.0, self.interval_s))
            self._stop.wait(self.interval_s)
            self._every(self.interval_s, self.refresh_once)

        self._threads = [threading.Thread(target=refresh_loop, name="kdrtui-refresh", daemon=True)]
        if self._mm is not None:
            loop = threading.Thread(
                target=self._every,
                args=(self.mirrormaker_interval_s, self.read_mirrormaker_once),
                name="kdrtui-mirrormaker",
                daemon=True,
            )
            self._threads.append(loop)
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the loops (a refresh or read in progress ends first, within ``timeout_s``), then close the
        clients and the SSH sessions."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout_s)
        if self._mm is not None:
            self._mm.close()
        self.reader.close()
