"""Detached processes the lab starts (brokers, the traffic generator) and how it recognises them.

The lab's processes must outlive the command that started them, so they are started in their own
session through a short-lived ``sh`` that backgrounds them and exits: the process is then nobody's
child in the calling Python process (no zombies to reap, no ResourceWarning from a forgotten Popen).
A pid file alone is not proof of life: the process may be gone, a zombie, or the pid reused by an
unrelated program, so a process only counts as ours if its command line carries a marker (the
broker's ``server.properties`` path, for instance).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_PROC = Path("/proc")

WITHHELD_ENV: tuple[str, ...] = ("KDRTUI_LAB_LOGIN_PASSWORD",)
"""Variables no lab process inherits: secrets none of them needs. The lab-azure plan's cluster login
password (``kdrtui.lab.azure.plan.LOGIN_PASSWORD_ENV``) is read by ``kdrtui provision`` alone; a broker,
an edge node (and every command run over its SSH), the emulator or the traffic generator holding it
would show it in ``/proc/<pid>/environ`` for as long as it runs."""


def lab_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) without :data:`WITHHELD_ENV`: the environment to
    start a lab process with."""
    source = os.environ if base is None else base
    return {name: value for name, value in source.items() if name not in WITHHELD_ENV}


# "$1" is the log file; the rest is the command. `&` makes sh fork and exec the command, so `$!` is
# the command's own pid, and sh exits at once.
_SPAWN_SCRIPT = 'log=$1; shift; "$@" </dev/null >>"$log" 2>&1 & echo $!'


def spawn_detached(
    argv: Sequence[str],
    *,
    log: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Start ``argv`` in a new session with stdout/stderr appended to ``log``; return its pid.

    It gets ``env`` (default: this process's environment) less :data:`WITHHELD_ENV`.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["sh", "-c", _SPAWN_SCRIPT, "sh", str(log), *argv],
        cwd=cwd,
        env=lab_env(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        start_new_session=True,
    )
    out = proc.stdout.strip()
    if proc.returncode != 0 or not out.isdigit():
        raise OSError(f"could not start {argv[0]}: {proc.stderr.strip() or out or proc.returncode}")
    return int(out)


def _state(pid: int) -> str | None:
    """The process state letter from ``/proc/<pid>/stat`` (``R``, ``S``, ``Z``...), None if gone."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return "?"
    # The command name is in parentheses and may itself contain spaces or parentheses.
    rest = stat[stat.rfind(")") + 2 :]
    return rest[:1] or "?"


def cmdline(pid: int) -> list[str] | None:
    """The argv of a live process, or None if it is gone (or a zombie, whose cmdline is empty)."""
    if _PROC.is_dir():
        try:
            raw = (_PROC / str(pid) / "cmdline").read_bytes()
        except OSError:
            return None
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part] or None
    # Without /proc (macOS), ask ps.
    out = subprocess.run(
        ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False
    ).stdout.strip()
    return out.split() if out else None


def is_alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process."""
    if pid <= 0:
        return False
    if _PROC.is_dir():
        state = _state(pid)
        return state is not None and state not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_ours(pid: int, markers: Sequence[str]) -> bool:
    """Whether ``pid`` is alive and its command line contains every one of ``markers``."""
    if not is_alive(pid):
        return False
    argv = cmdline(pid)
    if argv is None:
        return False
    joined = "\0".join(argv)
    return all(marker in joined for marker in markers)


def all_ours(markers: Sequence[str]) -> list[int]:
    """Every live process whose command line carries ``markers``."""
    if not _PROC.is_dir():
        return []
    return [int(e.name) for e in _PROC.iterdir() if e.name.isdigit() and is_ours(int(e.name), markers)]


def find_ours(markers: Sequence[str]) -> int | None:
    """A live process whose command line carries ``markers`` (one that lost its pid file), if any."""
    found = all_ours(markers)
    return found[0] if found else None


def kill_all_ours(markers: Sequence[str], timeout: float = 10.0) -> int:
    """SIGKILL every process whose command line carries ``markers``, again until none is left (one may
    fork while the others die); how many were killed."""
    killed: set[int] = set()
    deadline = time.monotonic() + timeout
    while (found := all_ours(markers)) and time.monotonic() < deadline:
        for pid in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        for pid in found:
            wait_gone(pid, max(0.0, deadline - time.monotonic()))
    return len(killed)


def read_pid(path: Path) -> int | None:
    """The pid in a pid file, None if there is no readable pid in it."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def write_pid(path: Path, pid: int) -> None:
    """Write a pid file atomically (a reader never sees it half-written)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{pid}\n", encoding="utf-8")
    os.replace(tmp, path)


def wait_gone(pid: int, timeout: float, interval: float = 0.05) -> bool:
    """Wait up to ``timeout`` seconds for ``pid`` to exit; True if it did."""
    deadline = time.monotonic() + timeout
    while is_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


def terminate(pid: int, timeout: float = 20.0) -> bool:
    """SIGTERM, wait up to ``timeout`` s, then SIGKILL. True if it stopped cleanly (no SIGKILL)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if wait_gone(pid, timeout):
        return True
    kill(pid)
    return False


def kill(pid: int, timeout: float = 10.0) -> None:
    """SIGKILL ``pid`` and wait until it is gone (so its ports are free again)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_gone(pid, timeout)


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file ("" if it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(data.rstrip().splitlines()[-lines:])
