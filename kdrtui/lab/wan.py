"""The WAN between the lab's regions: a Toxiproxy in front of every broker, for clients of the other region.

``kdrtui lab up --wan-latency-ms 35`` gives each broker a second listener ``WAN`` (same security
protocol as its client listener) whose advertised address is a Toxiproxy proxy's: a client that
bootstraps from a cluster's *remote* addresses (the plan's ``remote_bootstrap_servers``: MirrorMaker on
the other region's edge node, the console with ``KDRTUI_REGION`` set to the other region) is told the
proxies' addresses by the metadata, so all its traffic crosses the WAN; local clients keep using the
client listener and never do.

Ports, from each cluster's client port ``P`` (broker ``n`` at ``P + 2(n-1)``)::

    P + 30 + 2(n-1)    broker n's WAN listener (the proxy's upstream)
    P + 31 + 2(n-1)    the proxy (what the WAN listener advertises; remote_bootstrap_servers)
    P(primary) + 40    Toxiproxy's HTTP API

Faults (toxics on every proxy, see :func:`wanted_toxics`): latency each way (+ jitter), bandwidth,
``loss`` (a share of the connections black-holed; Toxiproxy has no packet loss), and ``partition`` (a
black hole both ways). The WAN's state lives in ``<lab>/wan/state.json`` so every process (``lab
status``, a detached healer ending a timed partition) sees the same WAN.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kdrtui.lab import process, toxiproxy
from kdrtui.lab.broker import ClusterSpec
from kdrtui.lab.lab_processes import LabError
from kdrtui.lab.ports import LOCALHOST, check_port, port_in_use
from kdrtui.lab.wan_link import WanLink, WanSettings, WanState

__all__ = ["LabWan", "WanSettings", "WanState", "lab_wan", "wan_ports"]

#: Broker n's WAN listener is at its cluster's port + this + 2(n-1); the proxy in front of it one above.
WAN_OFFSET = 30
#: Toxiproxy's API listens at primary's port + this.
API_OFFSET = 40
#: How long ``start`` waits for Toxiproxy's API and proxies.
START_TIMEOUT_S = 15.0

Report = Callable[[str], None]


def wan_ports(spec: ClusterSpec) -> list[tuple[int, int, int]]:
    """``(node, WAN listener port, proxy port)`` for each broker of the cluster ``spec``."""
    base = spec.port + WAN_OFFSET
    return [(n, base + 2 * (n - 1), base + 2 * (n - 1) + 1) for n in range(1, spec.brokers + 1)]


class LabWan:
    """The lab's WAN (``Lab.wan``): one Toxiproxy server, a proxy per broker, its faults.

    ``enabled`` is False for a lab brought up without a WAN: then :meth:`state` says so and every fault
    raises :class:`LabError`. All methods are synchronous and quick.
    """

    def __init__(
        self,
        home: Path,
        specs: dict[str, ClusterSpec],
        *,
        enabled: bool,
        initial: WanSettings | None = None,
        asked: bool = False,
    ) -> None:
        #: The WAN's directory: ``<lab>/wan``.
        self.home = home
        self.specs = specs
        self.enabled = enabled
        #: What ``lab up`` set (``reset()`` goes back to it).
        self.initial = (initial or WanSettings()).check()
        #: ``initial`` was given now (``lab up --wan-latency-ms``): a running WAN takes it too.
        self.asked = asked
        first = next(iter(specs.values()))
        self.api_port = first.port + API_OFFSET
        if enabled:
            for port in self.ports:
                check_port(port)
            self._check_collisions()
        #: The shared state and the proxies' toxics.
        self.link = WanLink(home, self.api_port, [p["name"] for p in self.proxy_table()], self.initial)

    # Layout ----------------------------------------------------------------------------------------

    def _check_collisions(self) -> None:
        kafka = {p for spec in self.specs.values() for p in spec.ports}
        for port in self.ports:
            if port in kafka:
                raise ValueError(
                    f"the WAN's port {port} is also a Kafka port: choose cluster ports at least "
                    f"{API_OFFSET + 6} apart"
                )

    @property
    def ports(self) -> list[int]:
        """Every port the WAN uses: WAN listeners, proxies, the API."""
        found = [p for spec in self.specs.values() for _n, lis, prx in wan_ports(spec) for p in (lis, prx)]
        return [*found, self.api_port]

    def attach(self, specs: dict[str, ClusterSpec]) -> dict[str, ClusterSpec]:
        """``specs`` with their brokers' WAN listener (``ClusterSpec.wan_port``) when the WAN is enabled."""
        if not self.enabled:
            return specs
        return {alias: dataclasses.replace(s, wan_port=s.port + WAN_OFFSET) for alias, s in specs.items()}

    def remote_bootstrap(self, alias: str) -> str:
        """The proxies' addresses of ``alias``, comma-separated: how the other region reaches it."""
        return ",".join(f"{LOCALHOST}:{proxy}" for _n, _l, proxy in wan_ports(self.specs[alias]))

    def with_remote_bootstrap(self, plan: dict[str, Any]) -> dict[str, Any]:
        """The lab's plan with each cluster's ``remote_bootstrap_servers`` when the WAN is enabled."""
        if self.enabled:
            for alias, table in plan.get("clusters", {}).items():
                if alias in self.specs:
                    table["remote_bootstrap_servers"] = self.remote_bootstrap(alias).split(",")
        return plan

    def proxy_table(self) -> list[dict[str, Any]]:
        """Toxiproxy's ``-config`` file: one proxy per broker (``primary-1`` ...)."""
        return [
            {
                "name": f"{alias}-{node}",
                "listen": f"{LOCALHOST}:{proxy}",
                "upstream": f"{LOCALHOST}:{listener}",
                "enabled": True,
            }
            for alias, spec in self.specs.items()
            for node, listener, proxy in wan_ports(spec)
        ]

    def to_saved(self) -> dict[str, Any]:
        """``lab.json``'s ``wan``."""
        return {"enabled": self.enabled, "api_port": self.api_port, **dataclasses.asdict(self.initial)}

    # Files -----------------------------------------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.link.state_file

    @property
    def pid_file(self) -> Path:
        return self.home / "toxiproxy.pid"

    @property
    def config_file(self) -> Path:
        return self.home / "proxies.json"

    @property
    def log_file(self) -> Path:
        return self.home / "toxiproxy.log"

    @property
    def healer_pid_file(self) -> Path:
        return self.home / "healer.pid"

    # Process ---------------------------------------------------------------------------------------

    def _markers(self) -> list[str]:
        return [str(toxiproxy.binary()), str(self.config_file.resolve())]

    def running_pid(self) -> int | None:
        """Toxiproxy's pid if its pid file names it alive (its command line has this lab's config)."""
        pid = process.read_pid(self.pid_file)
        return pid if pid is not None and process.is_ours(pid, self._markers()) else None

    def missing(self) -> tuple[str, ...]:
        """``("wan",)`` when the lab has a WAN and its proxy does not run."""
        return ("wan",) if self.enabled and self.running_pid() is None else ()

    def prepare(self, saved: dict[str, Any], clusters_running: bool) -> None:
        """Before ``up`` starts anything: refuse a WAN change under running brokers (their listeners are
        fixed at start), and make sure Toxiproxy is built (building it with Go if need be).

        Raises:
            LabError: the brokers run with(out) a WAN listener and the WAN was asked off (on).
            PrerequisiteError: no Toxiproxy and no Go to build it.
        """
        was = bool(_saved_wan(saved).get("enabled", False))
        if was != self.enabled and clusters_running:
            how = "without a WAN" if not was else "with a WAN"
            raise LabError(
                f"the lab's brokers run {how}; run `kdrtui lab down` first to "
                + ("add one (--wan-latency-ms MS)" if self.enabled else "remove it (--no-wan)")
            )
        if self.enabled:
            toxiproxy.require_built("--wan-latency-ms")

    def start(self, report: Report | None = None) -> tuple[str, ...]:
        """Start Toxiproxy (unless it runs) with a proxy per broker, and apply the WAN's state; a note.

        A new ``lab up`` starts from what it was given (``initial``): latency, bandwidth, no loss and no
        partition. A running proxy is reused with its faults as they are, but for the latency and bandwidth
        this ``lab up`` asked for.

        Raises:
            LabError: a proxy's port is taken, or Toxiproxy did not start (with its log's end).
        """
        if not self.enabled:
            return ()
        say = report or (lambda _msg: None)
        self.home.mkdir(parents=True, exist_ok=True)
        with self.link.locked():
            if self.running_pid() is not None and toxiproxy.ToxiproxyApi(self.api_port).answers():
                settings, partitioned, until = self.link.current()
                if self.asked:
                    settings = dataclasses.replace(
                        settings,
                        latency_ms=self.initial.latency_ms,
                        bandwidth_kbps=self.initial.bandwidth_kbps,
                    )
                    settings = dataclasses.replace(
                        settings, jitter_ms=min(settings.jitter_ms, settings.latency_ms)
                    )
                self.link.apply(settings, partitioned)
                self.link.write(settings, partitioned, until)
                return ("reused",)
            self.pid_file.unlink(missing_ok=True)
            for port in [p for p in self.ports if p not in self._listener_ports()]:
                if port_in_use(port):
                    raise LabError(
                        f"wan: port {port} on {LOCALHOST} is already in use; stop what holds it or choose "
                        "other cluster ports (the WAN uses each cluster's port + 30 to + 35, "
                        "and primary's + 40)"
                    )
            self.config_file.write_text(json.dumps(self.proxy_table(), indent=2) + "\n", encoding="utf-8")
            started = time.monotonic()
            say(f"wan: starting Toxiproxy {toxiproxy.VERSION} (API on {LOCALHOST}:{self.api_port})")
            argv = [
                str(toxiproxy.binary()),
                "-host",
                LOCALHOST,
                "-port",
                str(self.api_port),
                "-config",
                str(self.config_file.resolve()),
            ]
            try:
                pid = process.spawn_detached(argv, log=self.log_file, cwd=self.home)
            except OSError as exc:
                raise LabError(f"wan: could not start Toxiproxy: {exc}") from exc
            process.write_pid(self.pid_file, pid)
            api = toxiproxy.ToxiproxyApi(self.api_port)
            deadline = time.monotonic() + START_TIMEOUT_S
            while not (api.answers() and len(api.proxies()) == len(self.proxy_table())):
                if not process.is_alive(pid) or time.monotonic() > deadline:
                    process.kill(pid)
                    self.pid_file.unlink(missing_ok=True)
                    raise LabError(
                        f"wan: Toxiproxy (pid {pid}) did not come up with its proxies; see {self.log_file}:\n"
                        + process.tail(self.log_file, 10)
                    )
                time.sleep(0.05)
            self.link.write(self.initial, False, None)
            self.link.apply(self.initial, False)
        return (f"started in {time.monotonic() - started:.1f} s",)

    def _listener_ports(self) -> set[int]:
        # The brokers' WAN listeners are theirs (and already bound when the brokers run).
        return {lis for spec in self.specs.values() for _n, lis, _p in wan_ports(spec)}

    def stop(self, report: Report | None = None) -> None:
        """Stop Toxiproxy and a pending healer (a lab without a WAN: nothing)."""
        say = report or (lambda _msg: None)
        self._stop_healer()
        pid = self.running_pid()
        if pid is not None:
            clean = process.terminate(pid, 10.0)
            say(f"wan: Toxiproxy {'stopped' if clean else 'killed'} (pid {pid})")
        elif self.enabled:
            say("wan: was not running")
        self.pid_file.unlink(missing_ok=True)
        if not self.state_file.exists():
            return  # never started (a lab without a WAN): leave no wan/ directory behind
        with self.link.locked():
            settings, _partitioned, _until = self.link.current()
            self.link.write(settings, False, None)

    def purge(self) -> None:
        """Delete the WAN's directory (``lab down --purge``)."""
        shutil.rmtree(self.home, ignore_errors=True)

    # Faults ----------------------------------------------------------------------------------------

    def _require(self) -> toxiproxy.ToxiproxyApi:
        if not self.enabled:
            raise LabError("the lab has no WAN: bring it up with `kdrtui lab up --wan-latency-ms MS`")
        if self.running_pid() is None:
            raise LabError("the lab's WAN proxy (Toxiproxy) is not running: `kdrtui lab up` starts it")
        return toxiproxy.ToxiproxyApi(self.api_port)

    def _change(self, **changes: Any) -> None:
        self._require()
        with self.link.locked():
            settings, partitioned, until = self.link.current()
            settings = dataclasses.replace(settings, **changes).check()
            self.link.apply(settings, partitioned)
            self.link.write(settings, partitioned, until)

    def set_latency(self, ms: int, jitter_ms: int = 0) -> None:
        """Latency each way (± jitter, uniform) on every proxy, from now on."""
        self._change(latency_ms=int(ms), jitter_ms=int(jitter_ms))

    def set_bandwidth(self, kbps: int | None) -> None:
        """Bandwidth each way in kbit/s (Toxiproxy's unit is KB/s: ``kbps // 8``); None: unlimited."""
        self._change(bandwidth_kbps=None if kbps is None else int(kbps))

    def set_loss(self, pct: float) -> None:
        """Black-hole ``pct`` % of the connections across the WAN (see :func:`wanted_toxics`); 0: none."""
        self._change(loss_pct=float(pct))

    def partition(self, seconds: float | None = None) -> None:
        """Cut the link both ways now (a black hole); return at once.

        With ``seconds``, a detached healer ends the partition at the deadline even if the caller exits
        (a newer partition or a ``heal()`` first makes it a no-op); None: until :meth:`heal`.
        """
        self._require()
        if seconds is not None and seconds <= 0:
            raise LabError(f"a WAN partition's --seconds must be above 0, not {seconds:g}")
        self._stop_healer()
        with self.link.locked():
            settings, _partitioned, _until = self.link.current()
            until = round(time.time() + seconds, 3) if seconds is not None else None
            self.link.apply(settings, True)
            self.link.write(settings, True, until)
        if until is not None:
            argv = [
                sys.executable,
                "-m",
                "kdrtui.lab.wan_link",
                "heal-at",
                str(self.home.resolve()),
                repr(until),
            ]
            try:
                pid = process.spawn_detached(argv, log=self.home / "healer.log", cwd=self.home)
            except OSError as exc:
                raise LabError(f"wan: could not start the partition's healer: {exc}") from exc
            process.write_pid(self.healer_pid_file, pid)

    def heal(self) -> bool:
        """End a partition (latency, bandwidth and loss stay as set); True if there was one."""
        self._require()
        self._stop_healer()
        return self.link.heal()

    def reset(self) -> None:
        """Back to what ``lab up`` set: its latency and bandwidth, no loss, no partition."""
        self._require()
        self._stop_healer()
        with self.link.locked():
            self.link.apply(self.initial, False)
            self.link.write(self.initial, False, None)

    def restore(self) -> bool:
        """For ``lab fault restore``: heal a partition if the WAN runs and has one; True if it did."""
        if not self.enabled or self.running_pid() is None:
            return False
        return self.heal()

    def _stop_healer(self) -> None:
        pid = process.read_pid(self.healer_pid_file)
        if (
            pid is not None
            and pid != os.getpid()
            and process.is_ours(pid, ["kdrtui.lab.wan_link", "heal-at"])
        ):
            process.kill(pid)
        self.healer_pid_file.unlink(missing_ok=True)

    def state(self) -> WanState:
        """The WAN now, as ``lab status`` shows it."""
        pid = self.running_pid() if self.enabled else None
        settings, partitioned, until = self.link.current() if self.enabled else (WanSettings(), False, None)
        return WanState(
            enabled=self.enabled,
            running=pid is not None,
            pid=pid,
            latency_ms=settings.latency_ms,
            jitter_ms=settings.jitter_ms,
            bandwidth_kbps=None if settings.bandwidth_kbps is None else settings.bandwidth_kbps // 8 * 8,
            loss_pct=settings.loss_pct,
            partitioned=partitioned and pid is not None,
            partition_until=until if partitioned and pid is not None else None,
            api_port=self.api_port if self.enabled else None,
            remote_bootstrap={a: self.remote_bootstrap(a) for a in self.specs} if self.enabled else {},
        )


def _saved_wan(saved: dict[str, Any]) -> dict[str, Any]:
    found = saved.get("wan")
    return found if isinstance(found, dict) else {}


def lab_wan(
    home: Path,
    specs: dict[str, ClusterSpec],
    saved: dict[str, Any],
    asked: tuple[bool | None, int | None, int | None] = (None, None, None),
) -> LabWan:
    """The :class:`LabWan` of the lab in ``home``.

    ``asked`` is ``lab up``'s (``--wan``/``--no-wan``, ``--wan-latency-ms``, ``--wan-bandwidth-kbps``):
    a latency or bandwidth implies a WAN; nothing asked: as ``lab.json`` (``saved``) remembers it, else none.
    """
    enabled, latency_ms, bandwidth_kbps = asked
    was = _saved_wan(saved)
    given = latency_ms is not None or bandwidth_kbps is not None
    if enabled is False and given:
        raise ValueError("--no-wan cannot go with --wan-latency-ms or --wan-bandwidth-kbps")
    on = enabled if enabled is not None else (given or bool(was.get("enabled", False)))
    if given:
        initial = WanSettings(latency_ms=latency_ms or 0, bandwidth_kbps=bandwidth_kbps)
    else:
        bandwidth = was.get("bandwidth_kbps")
        initial = WanSettings(
            latency_ms=int(was.get("latency_ms", 0)),
            jitter_ms=int(was.get("jitter_ms", 0)),
            bandwidth_kbps=int(bandwidth) if bandwidth is not None else None,
        )
    return LabWan(home / "wan", specs, enabled=on, initial=initial, asked=given)
