"""The lab WAN's settings, its shared state (``<lab>/wan/state.json``) and the toxics that make it.

:class:`kdrtui.lab.wan.LabWan` and the detached healer that ends a timed partition
(``python -m kdrtui.lab.wan_link heal-at WAN_DIR EPOCH``) both change the WAN through :class:`WanLink`,
one at a time under a file lock, so every process sees the same WAN.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdrtui.lab import toxiproxy
from kdrtui.lab.lab_processes import LabError

#: How long a connection the ``loss`` toxic black-holed lasts without traffic before Toxiproxy closes it
LOSS_STALL_MS = 5000
#: Bounds of what the WAN takes.
MAX_LATENCY_MS = 60_000
MIN_BANDWIDTH_KBPS = 8


@dataclass(frozen=True)
class WanSettings:
    """What shapes the link: latency each way (± jitter), bandwidth (None: unlimited), loss."""

    latency_ms: int = 0
    jitter_ms: int = 0
    bandwidth_kbps: int | None = None
    loss_pct: float = 0.0

    def check(self) -> WanSettings:
        """This, or a :class:`LabError` naming the field that is out of range."""
        if not 0 <= self.latency_ms <= MAX_LATENCY_MS:
            raise LabError(f"WAN latency must be 0-{MAX_LATENCY_MS} ms, not {self.latency_ms}")
        if not 0 <= self.jitter_ms <= self.latency_ms:
            raise LabError(
                f"WAN jitter must be 0-{self.latency_ms} ms (at most the latency), not {self.jitter_ms}"
            )
        if self.bandwidth_kbps is not None and self.bandwidth_kbps < MIN_BANDWIDTH_KBPS:
            raise LabError(
                f"WAN bandwidth must be at least {MIN_BANDWIDTH_KBPS} kbit/s, not {self.bandwidth_kbps}"
            )
        if not 0.0 <= self.loss_pct <= 100.0:
            raise LabError(f"WAN loss must be 0-100 %, not {self.loss_pct:g}")
        return self


@dataclass(frozen=True)
class WanState:
    """The WAN right now (``lab status``'s ``wan``)."""

    enabled: bool
    running: bool
    pid: int | None
    latency_ms: int
    jitter_ms: int
    #: kbit/s; None: unlimited.
    bandwidth_kbps: int | None
    loss_pct: float
    partitioned: bool
    #: When a timed partition heals by itself (epoch seconds); None: no partition, or until ``heal()``.
    partition_until: float | None
    #: Toxiproxy's API port, and the proxies' addresses per cluster (what clients of the other region use).
    api_port: int | None = None
    remote_bootstrap: dict[str, str] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)


def wanted_toxics(settings: WanSettings, partitioned: bool) -> dict[str, dict[str, Any]]:
    """The toxics every proxy carries for ``settings`` (and a partition), by name.

    - ``latency_up``/``latency_down``: ``latency_ms`` ± ``jitter_ms`` on each direction (so a request
      and its response take 2 x latency more);
    - ``bandwidth_up``/``bandwidth_down``: Toxiproxy's rate is whole KB/s: ``bandwidth_kbps // 8``;
    - ``loss``: a ``timeout`` toxic on the client-to-broker stream with toxicity ``loss_pct / 100``: that
      share of the connections (each draws once, when it opens or when the toxics change) has its
      requests dropped, and Toxiproxy closes it after :data:`LOSS_STALL_MS` without traffic;
    - ``partition_up``/``partition_down``: ``timeout`` toxics with timeout 0 on both streams: data in
      either direction is dropped and nothing is closed (a black hole, not a reset); removing them
      closes the connections they held, so clients reconnect at once after the heal.
    """
    toxics: dict[str, dict[str, Any]] = {}

    def add(name: str, kind: str, stream: str, attributes: dict[str, Any], toxicity: float = 1.0) -> None:
        toxics[name] = {
            "name": name,
            "type": kind,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": attributes,
        }

    if settings.latency_ms or settings.jitter_ms:
        for stream in ("upstream", "downstream"):
            add(
                f"latency_{stream[:-6]}",
                "latency",
                stream,
                {"latency": settings.latency_ms, "jitter": settings.jitter_ms},
            )
    if settings.bandwidth_kbps is not None:
        for stream in ("upstream", "downstream"):
            add(f"bandwidth_{stream[:-6]}", "bandwidth", stream, {"rate": settings.bandwidth_kbps // 8})
    if settings.loss_pct > 0:
        add("loss", "timeout", "upstream", {"timeout": LOSS_STALL_MS}, toxicity=settings.loss_pct / 100)
    if partitioned:
        for stream in ("upstream", "downstream"):
            add(f"partition_{stream[:-6]}", "timeout", stream, {"timeout": 0})
    return toxics


class WanLink:
    """The WAN's shared state (``state.json``, under a lock) and the toxics on Toxiproxy's proxies: what
    :class:`LabWan` and the detached healer both change."""

    def __init__(
        self, home: Path, api_port: int, names: list[str], initial: WanSettings | None = None
    ) -> None:
        self.home = home
        self.api_port = api_port
        self.names = names
        self.initial = initial or WanSettings()

    @property
    def state_file(self) -> Path:
        return self.home / "state.json"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the WAN's lock (one change at a time, across processes)."""
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def current(self) -> tuple[WanSettings, bool, float | None]:
        """The settings, whether partitioned, and until when (from ``state.json``; ``initial`` without)."""
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict):
            return self.initial, False, None
        bandwidth = data.get("bandwidth_kbps")
        settings = WanSettings(
            latency_ms=int(data.get("latency_ms", 0)),
            jitter_ms=int(data.get("jitter_ms", 0)),
            bandwidth_kbps=int(bandwidth) if bandwidth is not None else None,
            loss_pct=float(data.get("loss_pct", 0.0)),
        )
        until = data.get("partition_until")
        return settings, bool(data.get("partitioned")), float(until) if until is not None else None

    def write(self, settings: WanSettings, partitioned: bool, until: float | None) -> None:
        """Record the WAN's state atomically."""
        data = {
            **dataclasses.asdict(settings),
            "partitioned": partitioned,
            "partition_until": until,
            "api_port": self.api_port,
            "proxies": self.names,
        }
        tmp = self.state_file.with_name("state.json.tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.state_file)

    def apply(self, settings: WanSettings, partitioned: bool) -> None:
        """Make every proxy carry exactly :func:`wanted_toxics` (changed ones removed and added again)."""
        api = toxiproxy.ToxiproxyApi(self.api_port)
        wanted = wanted_toxics(settings, partitioned)
        try:
            for name in self.names:
                have = {t["name"]: t for t in api.toxics(name)}
                for toxic_name, toxic in have.items():
                    want = wanted.get(toxic_name)
                    if want is None or not _same(toxic, want):
                        api.remove_toxic(name, toxic_name)
                for toxic_name, want in wanted.items():
                    if toxic_name not in have or not _same(have[toxic_name], want):
                        api.add_toxic(name, want)
        except toxiproxy.ToxiproxyError as exc:
            raise LabError(f"wan: {exc}") from None

    def heal(self, only_until: float | None = None) -> bool:
        """End the partition (only the one ending at ``only_until`` when given); True if it did."""
        with self.locked():
            settings, partitioned, until = self.current()
            if not partitioned or (only_until is not None and until != only_until):
                return False
            self.apply(settings, False)
            self.write(settings, False, None)
            return True


def _same(have: dict[str, Any], want: dict[str, Any]) -> bool:
    return (
        have.get("type") == want["type"]
        and have.get("stream") == want["stream"]
        and abs(float(have.get("toxicity", 1.0)) - want["toxicity"]) < 1e-6
        and all(have.get("attributes", {}).get(k) == v for k, v in want["attributes"].items())
    )


def _heal_at(home: Path, until: float) -> int:
    """The detached healer: sleep until ``until``, then end the partition if it is still that one."""
    state = json.loads((home / "state.json").read_text(encoding="utf-8"))
    while (left := until - time.time()) > 0:
        time.sleep(min(left, 1.0))
    link = WanLink(home, int(state["api_port"]), [str(name) for name in state.get("proxies", [])])
    healed = link.heal(only_until=until)
    print(f"{time.strftime('%H:%M:%S')} partition until {until}: {'healed' if healed else 'already over'}")
    return 0


if __name__ == "__main__":  # python -m kdrtui.lab.wan_link heal-at <wan dir> <epoch>
    if len(sys.argv) == 4 and sys.argv[1] == "heal-at":
        sys.exit(_heal_at(Path(sys.argv[2]), float(sys.argv[3])))
    sys.exit(f"usage: {sys.argv[0]} heal-at WAN_DIR EPOCH")
