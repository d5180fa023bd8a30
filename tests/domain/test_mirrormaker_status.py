"""The MirrorMaker status probe: its parsing (pure) and the shell snippet run for real with /bin/sh."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kdrtui.domain.mirrormaker import MmState, parse_probe
from kdrtui.services.mirrormaker.node_scripts import status_probe


def probe(run_dir: Path) -> str:
    return subprocess.run(
        ["/bin/sh", "-c", status_probe(str(run_dir))], capture_output=True, text=True, check=True
    ).stdout


def test_not_deployed_when_the_run_dir_has_no_supervisor(tmp_path: Path) -> None:
    status = parse_probe("n1", "mm2-dr", probe(tmp_path / "absent"))
    assert status.state is MmState.NOT_DEPLOYED


def test_running_when_the_pid_is_a_live_mirrormaker(tmp_path: Path) -> None:
    (tmp_path / "supervise.sh").write_text("#!/bin/sh\n")
    # A live process whose command line names MirrorMaker, as the JVM's does.
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "MirrorMaker"])
    try:
        (tmp_path / "mm.pid").write_text(f"{proc.pid}\n")
        (tmp_path / "started_at").write_text("1000\n")
        (tmp_path / "mm.log").write_text("line 1\nline 2\n")
        status = parse_probe("n1", "mm2-dr", probe(tmp_path))
        assert status.state is MmState.RUNNING
        assert status.pid == proc.pid
        assert status.uptime_s is not None and status.uptime_s > 1000
        assert status.log_tail == ("line 1", "line 2")
    finally:
        proc.kill()
        proc.wait()


def test_a_live_pid_that_is_not_mirrormaker_is_not_running(tmp_path: Path) -> None:
    (tmp_path / "supervise.sh").write_text("#!/bin/sh\n")
    (tmp_path / "mm.pid").write_text(f"{os.getpid()}\n")  # pytest: alive, but not MirrorMaker
    assert parse_probe("n1", "d", probe(tmp_path)).state is MmState.STOPPED


def test_crashed_when_it_exited_non_zero_without_being_asked(tmp_path: Path) -> None:
    (tmp_path / "supervise.sh").write_text("#!/bin/sh\n")
    (tmp_path / "exit_code").write_text("1\n")
    (tmp_path / "mm.log").write_text("ERROR boom\n")
    status = parse_probe("n1", "d", probe(tmp_path))
    assert status.state is MmState.CRASHED
    assert status.exit_code == 1
    assert status.log_tail[-1] == "ERROR boom"


def test_sigterm_exit_after_a_stop_request_is_a_clean_stop(tmp_path: Path) -> None:
    (tmp_path / "supervise.sh").write_text("#!/bin/sh\n")
    (tmp_path / "exit_code").write_text("143\n")
    (tmp_path / "stop_requested").write_text("")
    status = parse_probe("n1", "d", probe(tmp_path))
    assert status.state is MmState.STOPPED and status.stopped_by_operator


def test_sigterm_exit_nobody_asked_for_is_a_crash(tmp_path: Path) -> None:
    (tmp_path / "supervise.sh").write_text("#!/bin/sh\n")
    (tmp_path / "exit_code").write_text("143\n")
    assert parse_probe("n1", "d", probe(tmp_path)).state is MmState.CRASHED


def test_run_dir_with_spaces_and_quotes_is_quoted(tmp_path: Path) -> None:
    odd = tmp_path / "it's a dir"
    odd.mkdir()
    (odd / "supervise.sh").write_text("#!/bin/sh\n")
    (odd / "exit_code").write_text("0\n")
    assert parse_probe("n1", "d", probe(odd)).state is MmState.STOPPED
