"""The lab's background traffic generators (``kdrtui lab traffic [--cluster C] --background``): started
detached as ``python -m kdrtui.commands.lab traffic ... --daemon``, found again through its pid file, its
arguments, counters and log in the lab directory.

Each cluster has its own generator and files, so traffic can be written on both sides at once (an
active-active lab): ``primary``'s keep the historical names (``traffic.pid``, ``traffic.log``,
``traffic.json``, ``traffic-stats.json``), another cluster's carry its alias (``traffic-dr.pid``...).

The generator itself is :class:`kdrtui.lab.traffic.TrafficGenerator`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kdrtui
from kdrtui.lab import process
from kdrtui.lab.traffic import TrafficError, TrafficStats

#: What identifies the background generator in ``/proc/<pid>/cmdline``.
_MARKERS = ("kdrtui.commands.lab", "traffic")

DEFAULT_CLUSTER = "primary"
"""The cluster whose generator's files keep the names they had before there was one per cluster."""


@dataclass(frozen=True)
class TrafficStatus:
    """The background traffic generator of one lab."""

    running: bool
    pid: int | None
    log: Path
    #: The arguments it was started with (topics, rate, ...), from its info file.
    args: dict[str, Any] | None
    #: Its latest counters (see :class:`TrafficStats`), refreshed every few seconds.
    stats: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form used by ``kdrtui lab status --json``."""
        return {
            "running": self.running,
            "pid": self.pid,
            "log": str(self.log),
            "args": self.args,
            "stats": self.stats,
        }


class TrafficProcess:
    """The detached traffic generator of ``cluster`` in the lab in ``home`` (pid, info, stats and log
    files)."""

    def __init__(self, home: Path, cluster: str = DEFAULT_CLUSTER) -> None:
        self.home = home
        self.cluster = cluster
        self._stem = "traffic" if cluster == DEFAULT_CLUSTER else f"traffic-{cluster}"

    @property
    def pid_file(self) -> Path:
        """``traffic.pid`` (``traffic-<cluster>.pid``): written by the starter, removed by the generator
        when it exits."""
        return self.home / f"{self._stem}.pid"

    @property
    def log_file(self) -> Path:
        """The generator's progress lines and errors."""
        return self.home / f"{self._stem}.log"

    @property
    def info_file(self) -> Path:
        """The arguments the generator was started with."""
        return self.home / f"{self._stem}.json"

    @property
    def stats_file(self) -> Path:
        """The generator's latest :class:`TrafficStats`, rewritten every progress interval."""
        return self.home / f"{self._stem}-stats.json"

    @property
    def files(self) -> tuple[Path, ...]:
        """The files it leaves behind (the log, arguments and counters), for ``lab down --purge``."""
        return (self.log_file, self.info_file, self.stats_file)

    def running_pid(self) -> int | None:
        """The generator's pid if it is running."""
        pid = process.read_pid(self.pid_file)
        if pid is not None and process.is_ours(pid, _MARKERS):
            return pid
        return None

    def status(self) -> TrafficStatus:
        """A snapshot (never raises on missing or half-written files)."""
        pid = self.running_pid()
        return TrafficStatus(
            running=pid is not None,
            pid=pid,
            log=self.log_file,
            args=_read_json(self.info_file),
            stats=_read_json(self.stats_file),
        )

    def start(self, cli_args: Sequence[str], *, args_info: dict[str, Any], timeout: float = 60.0) -> int:
        """Start ``python -m kdrtui.commands.lab traffic <cli_args> --daemon`` detached.

        Waits until the generator reports that it is running (its topics exist), so a generator that
        cannot reach the broker fails here with its log rather than silently in the background.
        """
        if (pid := self.running_pid()) is not None:
            raise TrafficError(
                f"traffic on {self.cluster} is already running (pid {pid}); "
                f"stop it with `kdrtui lab traffic --cluster {self.cluster} --stop`"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        for path in (self.stats_file, self.pid_file):
            path.unlink(missing_ok=True)
        _write_json(self.info_file, {**args_info, "started_at": time.time()})
        env = dict(os.environ)
        env["KDRTUI_LAB_DIR"] = str(self.home)  # the generator must see this lab, whatever the caller's env
        # The generator runs from the lab directory: let it import this very kdrtui, installed or not.
        source_root = str(Path(kdrtui.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH")) if p)
        argv = [sys.executable, "-m", "kdrtui.commands.lab", "traffic", *cli_args, "--daemon"]
        with open(self.log_file, "a", encoding="utf-8") as log:
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} kdrtui starting the traffic generator\n")
        pid = process.spawn_detached(argv, log=self.log_file, cwd=self.home, env=env)
        process.write_pid(self.pid_file, pid)
        deadline = time.monotonic() + timeout
        while True:
            stats = _read_json(self.stats_file)
            if stats is not None and stats.get("state") in ("running", "stopped"):
                return pid
            if not process.is_alive(pid):
                self.pid_file.unlink(missing_ok=True)
                raise TrafficError(
                    f"the traffic generator exited during start-up; {self.log_file}:\n"
                    + process.tail(self.log_file, 15)
                )
            if time.monotonic() > deadline:
                process.terminate(pid, 10)
                self.pid_file.unlink(missing_ok=True)
                raise TrafficError(
                    f"the traffic generator did not start within {timeout:.0f} s; see {self.log_file}"
                )
            time.sleep(0.1)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM the generator (it flushes, commits and exits), SIGKILL after ``timeout`` s."""
        pid = self.running_pid()
        if pid is not None:
            process.terminate(pid, timeout)
        self.pid_file.unlink(missing_ok=True)
        return pid

    def write_stats(self, stats: TrafficStats) -> None:
        """Called by the generator itself (``--daemon``) to publish its counters."""
        _write_json(self.stats_file, stats.to_dict())

    def release(self, pid: int) -> None:
        """Called by the generator as it exits: remove the pid file if it still names ``pid``."""
        if process.read_pid(self.pid_file) == pid:
            self.pid_file.unlink(missing_ok=True)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
