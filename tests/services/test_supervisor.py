"""The MirrorMaker supervisor script, run for real with /bin/sh (dash here) and bash in POSIX mode.

The supervised "MirrorMaker" is a small Python process whose command line names the run directory, as
the real java command line does (the supervisor checks that before trusting a pid it finds on disk).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kdrtui.services.mirrormaker.node_scripts import supervisor_script

WaitUntil = Callable[..., float]

SHELLS = [pytest.param(["/bin/sh"], id="sh")]
if shutil.which("bash"):
    SHELLS.append(pytest.param(["bash", "--posix"], id="bash-posix"))


class Supervised:
    """A run directory with the supervisor script, and every process started in it (killed at the end)."""

    def __init__(self, run_dir: Path, shell: list[str]) -> None:
        self.run_dir = run_dir
        self.shell = shell
        self.started: list[subprocess.Popen[bytes]] = []
        run_dir.mkdir(parents=True)
        (run_dir / "supervise.sh").write_text(supervisor_script(), encoding="utf-8")

    def sleeper(self, *, ignore_term: bool = False, ready: str = "ready") -> list[str]:
        """A long-running child whose command line contains the run directory; it touches ``ready``."""
        code = (
            "import pathlib, signal, sys, time\n"
            + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if ignore_term else "")
            + "print('child says hello', flush=True)\n"
            + "pathlib.Path(sys.argv[1], sys.argv[2]).touch()\n"
            + "time.sleep(300)\n"
        )
        return [sys.executable, "-c", code, str(self.run_dir), ready]

    def start(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """``sh supervise.sh RUN_DIR -- argv...`` in its own session, as the manager starts it."""
        proc = subprocess.Popen(
            [*self.shell, str(self.run_dir / "supervise.sh"), str(self.run_dir), "--", *argv],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.started.append(proc)
        return proc

    def read(self, name: str) -> str | None:
        try:
            return (self.run_dir / name).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def pid(self, name: str) -> int | None:
        text = self.read(name)
        return int(text) if text else None

    def log(self) -> str:
        return self.read("mm.log") or ""

    def cleanup(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                # Each supervisor leads its own session and process group (start_new_session).
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill -0; it is not running.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture(params=SHELLS)
def sup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Supervised]:
    supervised = Supervised(tmp_path / "mm" / "mm2-dr", request.param)
    try:
        yield supervised
    finally:
        supervised.cleanup()


def test_runs_the_command_and_writes_its_state_files(sup: Supervised, wait_until: WaitUntil) -> None:
    before = int(time.time())
    proc = sup.start(*sup.sleeper())
    wait_until(lambda: (sup.run_dir / "ready").exists(), timeout=20, message="child started")
    wait_until(lambda: "started pid" in sup.log(), timeout=5, message="start noted")
    assert sup.pid("supervisor.pid") == proc.pid
    assert sup.read("lock/pid") == str(proc.pid)
    child = sup.pid("mm.pid")
    assert alive(child)
    assert before <= int(sup.read("started_at") or 0) <= int(time.time())
    assert sup.read("exit_code") is None and sup.read("exited_at") is None
    # The child's stdout is appended to mm.log, after the supervisor's own note.
    wait_until(lambda: "child says hello" in sup.log(), timeout=5, message="child output in mm.log")
    assert f"kdrtui-supervisor[{proc.pid}]: started pid {child}" in sup.log()


def test_a_second_start_refuses_and_leaves_one_child(sup: Supervised, wait_until: WaitUntil) -> None:
    first = sup.start(*sup.sleeper())
    wait_until(lambda: (sup.run_dir / "ready").exists(), timeout=20, message="child started")
    child = sup.pid("mm.pid")
    second = sup.start(*sup.sleeper(ready="ready2"))
    assert second.wait(timeout=20) == 75
    assert first.poll() is None and alive(child)
    assert sup.pid("mm.pid") == child and sup.pid("supervisor.pid") == first.pid
    assert not (sup.run_dir / "ready2").exists()
    assert f"not starting: supervisor {first.pid} already runs here" in sup.log()


def test_concurrent_starts_run_exactly_one(sup: Supervised, wait_until: WaitUntil) -> None:
    procs = [sup.start(*sup.sleeper(ready=f"ready{n}")) for n in range(5)]
    wait_until(lambda: sum(p.poll() is not None for p in procs) == 4, timeout=30, message="4 refused")
    assert sorted(p.returncode for p in procs if p.returncode is not None) == [75] * 4
    (winner,) = [p for p in procs if p.poll() is None]
    wait_until(lambda: sup.pid("mm.pid") is not None, timeout=20, message="mm.pid written")
    assert sup.pid("supervisor.pid") == winner.pid
    assert len(list(sup.run_dir.glob("ready*"))) <= 1


def test_sigterm_stops_the_child_and_records_the_exit(sup: Supervised, wait_until: WaitUntil) -> None:
    proc = sup.start(*sup.sleeper())
    wait_until(lambda: (sup.run_dir / "ready").exists(), timeout=20, message="child started")
    child = sup.pid("mm.pid")
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=20) == 143
    assert not alive(child)
    assert sup.read("exit_code") == "143"
    assert int(sup.read("exited_at") or 0) >= int(sup.read("started_at") or 0)
    for gone in ("mm.pid", "supervisor.pid", "lock"):
        assert not (sup.run_dir / gone).exists(), gone
    log = sup.log()
    assert "received SIGTERM" in log and f"pid {child} exited with code 143" in log


def test_sigint_is_forwarded_as_sigterm(sup: Supervised, wait_until: WaitUntil) -> None:
    proc = sup.start(*sup.sleeper())
    wait_until(lambda: (sup.run_dir / "ready").exists(), timeout=20, message="child started")
    child = sup.pid("mm.pid")
    os.kill(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=20) == 143
    assert not alive(child) and sup.read("exit_code") == "143"


def test_a_crash_records_its_exit_code(sup: Supervised) -> None:
    proc = sup.start("sh", "-c", "echo 'boom' >&2; exit 3")
    assert proc.wait(timeout=20) == 3
    assert sup.read("exit_code") == "3"
    assert sup.read("exited_at") is not None
    assert not (sup.run_dir / "mm.pid").exists() and not (sup.run_dir / "lock").exists()
    assert "boom" in sup.log() and "exited with code 3" in sup.log()


def test_a_missing_command_is_exit_127(sup: Supervised) -> None:
    proc = sup.start("/nonexistent/java", "-version")
    assert proc.wait(timeout=20) == 127
    assert sup.read("exit_code") == "127"


def test_a_child_killed_by_a_signal_records_128_plus_n(sup: Supervised, wait_until: WaitUntil) -> None:
    proc = sup.start(*sup.sleeper())
    wait_until(lambda: (sup.run_dir / "ready").exists(), timeout=20, message="child started")
    child = sup.pid("mm.pid")
    assert child is not None
    os.kill(child, signal.SIGKILL)  # the OOM killer, say
    assert proc.wait(timeout=20) == 137
    assert sup.read("exit_code") == "137"


def test_a_child_ignoring_sigterm_is_killed_after_the_grace(sup: Supervised, wait_until: WaitUntil) -> None:
    proc = sup.start(*sup.sleeper(ignore_term=True), env={"KDRTUI_STOP_GRACE": "1"})
    wait_until(lambda: (sup.run_dir / "ready").exists(), timeout=20, message="child started")
    child = sup.pid("mm.pid")
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=20) == 137
    assert not alive(child)
    assert "ignored SIGTERM for 1 s; sending SIGKILL" in sup.log()


def test_a_stale_lock_is_taken_over(sup: Supervised, wait_until: WaitUntil) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    (sup.run_dir / "lock").mkdir()
    (sup.run_dir / "lock" / "pid").write_text(f"{dead.pid}\n")
    (sup.run_dir / "exit_code").write_text("1\n")  # from the run that crashed
    proc = sup.start(*sup.sleeper())
    wait_until(lambda: (sup.run_dir / "ready").exists(), timeout=20, message="child started")
    assert sup.read("lock/pid") == str(proc.pid)
    assert sup.read("exit_code") is None
    assert f"removed the stale lock of supervisor {dead.pid}" in sup.log()


def test_a_lock_held_by_an_unrelated_process_is_stale(sup: Supervised, wait_until: WaitUntil) -> None:
    # pid 1 is alive but is not a supervisor of this run directory (a pid reused after a reboot).
    (sup.run_dir / "lock").mkdir()
    (sup.run_dir / "lock" / "pid").write_text("1\n")
    proc = sup.start(*sup.sleeper())
    wait_until(lambda: (sup.run_dir / "ready").exists(), timeout=20, message="child started")
    assert sup.read("lock/pid") == str(proc.pid)


def test_an_empty_lock_is_stale_after_a_few_seconds(sup: Supervised, wait_until: WaitUntil) -> None:
    (sup.run_dir / "lock").mkdir()  # its supervisor died between mkdir and writing its pid
    proc = sup.start(*sup.sleeper())
    wait_until(lambda: (sup.run_dir / "ready").exists(), timeout=20, message="child started")
    assert sup.read("lock/pid") == str(proc.pid)


def test_an_orphaned_mirrormaker_blocks_a_new_start(sup: Supervised, wait_until: WaitUntil) -> None:
    # The supervisor was killed with SIGKILL: its lock is stale but MirrorMaker itself still runs.
    orphan = subprocess.Popen(sup.sleeper(ready="orphan-ready"), start_new_session=True)
    sup.started.append(orphan)
    wait_until(lambda: (sup.run_dir / "orphan-ready").exists(), timeout=20, message="orphan started")
    (sup.run_dir / "mm.pid").write_text(f"{orphan.pid}\n")
    proc = sup.start(*sup.sleeper())
    assert proc.wait(timeout=20) == 75
    assert orphan.poll() is None
    assert not (sup.run_dir / "ready").exists()
    assert f"MirrorMaker pid {orphan.pid} still runs here without a supervisor" in sup.log()
    assert not (sup.run_dir / "lock").exists()


def test_restart_after_a_stop_clears_the_last_exit(sup: Supervised, wait_until: WaitUntil) -> None:
    assert sup.start("sh", "-c", "exit 3").wait(timeout=20) == 3
    proc = sup.start(*sup.sleeper())
    wait_until(lambda: (sup.run_dir / "ready").exists(), timeout=20, message="child started")
    assert sup.read("exit_code") is None and sup.read("exited_at") is None
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=20) == 143


def test_bad_usage(sup: Supervised) -> None:
    proc = subprocess.Popen(
        [*sup.shell, str(sup.run_dir / "supervise.sh"), str(sup.run_dir), "java"],
        stderr=subprocess.PIPE,
    )
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 64 and b"usage: sh supervise.sh RUN_DIR -- COMMAND" in err
    missing = sup.run_dir.parent / "nope"
    proc = subprocess.Popen([*sup.shell, str(sup.run_dir / "supervise.sh"), str(missing), "--", "true"])
    assert proc.wait(timeout=10) == 66
