"""The scripts kdrtui runs on edge nodes as package data: shipped in the wheel, loaded through
importlib.resources, and one-shot commands built from them with every value shell-quoted."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kdrtui.services.mirrormaker.node_scripts import (
    alive_command,
    command,
    scheduler_script,
    script,
    supervisor_script,
)

ROOT = Path(__file__).parents[2]
SCRIPTS = ROOT / "kdrtui" / "services" / "mirrormaker" / "scripts"


def test_the_wheel_ships_the_scripts_and_they_load_from_it(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("kdrtui-*.whl")
    names = sorted(p.name for p in SCRIPTS.iterdir())
    assert {"supervise.sh", "schedule.sh", "schedule.awk", "status.sh"} <= set(names)
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    assert {f"kdrtui/services/mirrormaker/scripts/{name}" for name in names} <= shipped
    assert "kdrtui/lab/azure/kafka-env.template" in shipped
    # Imported from the wheel itself (zipimport): the package data comes through importlib.resources,
    # not from this checkout.
    probe = (
        "import sys, kdrtui\n"
        "from kdrtui.services.mirrormaker.node_scripts import script\n"
        "assert kdrtui.__file__.startswith(sys.argv[1]), kdrtui.__file__\n"
        "for name in sys.argv[2:]:\n"
        "    sys.stdout.write(script(name) + '\\0')\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe, str(wheel), *names],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(wheel)},
        timeout=60,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    texts = loaded.stdout.split("\0")[:-1]
    assert texts == [(SCRIPTS / name).read_text(encoding="utf-8") for name in names]


def _function(script: str, name: str) -> str:
    match = re.search(rf"^{name}\(\) \{{\n.*?^\}}\n", script, re.MULTILINE | re.DOTALL)
    assert match is not None, name
    return match.group(0)


@pytest.mark.parametrize("name", ["put", "alive"])
def test_the_supervisor_and_the_scheduler_share_their_run_dir_functions(name: str) -> None:
    # Each script is whole on the node (no include): the functions both need are written in both.
    assert _function(supervisor_script(), name) == _function(scheduler_script(), name)


@pytest.mark.parametrize("name", ["kill.sh", "alive.sh"])
def test_stop_kill_and_alive_tell_the_run_dirs_process_the_same_way(name: str) -> None:
    # Each command is whole on the node (no include): the identity test is written in each, identically.
    assert _function(script(name), "ours") == _function(script("stop.sh"), "ours")


def test_a_command_quotes_its_values_and_leaves_out_comments() -> None:
    hostile = "/home/ops/it's here; rm -rf / $(reboot) `id`"
    first, *rest = command("stop.sh", run=hostile).splitlines()
    assigned = subprocess.run(
        ["/bin/sh", "-c", first + '\nprintf %s "$run"'], capture_output=True, text=True, check=True
    )
    assert assigned.stdout == hostile
    source = (SCRIPTS / "stop.sh").read_text(encoding="utf-8").splitlines()
    assert rest == [line for line in source if line.strip() and not line.lstrip().startswith("#")]
    with pytest.raises(ValueError, match="not a shell variable name"):
        command("stop.sh", **{"run; x": "y"})


def _sleeper(tmp_path: Path, run: Path | None) -> subprocess.Popen[bytes]:
    """A process whose command line names ``run`` (a deployment's own), or nothing of kdrtui's."""
    # Python, not `sh -c "sleep 60" ...`: a shell may exec its last command, and sleep's command line
    # would no longer name the run dir.
    argv = [sys.executable, "-c", "import time; time.sleep(60)", *([f"{run}/supervise.sh"] if run else [])]
    return subprocess.Popen(argv, cwd=tmp_path)


@pytest.mark.parametrize("name", ["stop.sh", "kill.sh"])
def test_stop_and_kill_signal_only_the_run_dirs_own_processes_never_a_reused_pid(
    tmp_path: Path, name: str
) -> None:
    # After a crash the pid files stay behind; the numbers in them can be given to any process since
    # (pid_max is 32768 on many kernels). A stop must not signal that process.
    run = tmp_path / "mm" / "primary-dr"
    run.mkdir(parents=True)
    stranger, sibling, own = (
        _sleeper(tmp_path, None),
        _sleeper(tmp_path, tmp_path / "mm" / "primary-dr-2"),  # another deployment's: a prefix of it
        _sleeper(tmp_path, run),
    )
    try:
        (run / "scheduler.pid").write_text(f"{stranger.pid}\n")
        (run / "mm.pid").write_text(f"{sibling.pid}\n")
        (run / "supervisor.pid").write_text(f"{own.pid}\n")
        values: dict[str, str | int] = {"run": str(run)}
        if name == "kill.sh":
            values["pid"] = sibling.pid
        done = subprocess.run(["/bin/sh", "-c", command(name, **values)], timeout=30, check=False)
        assert done.returncode == 0
        assert own.wait(timeout=10) in (-15, -9), "the run dir's own supervisor is signalled"
        assert stranger.poll() is None and sibling.poll() is None, "a reused pid is left alone"
    finally:
        for proc in (stranger, sibling, own):
            proc.kill()
            proc.wait(timeout=10)


def test_alive_is_the_run_dirs_process_not_whatever_has_its_pid_now(tmp_path: Path) -> None:
    run = tmp_path / "mm" / "primary-dr"
    stranger, own = _sleeper(tmp_path, None), _sleeper(tmp_path, run)
    try:

        def says(pid: int) -> str:
            out = subprocess.run(
                ["/bin/sh", "-c", alive_command(str(run), pid)], capture_output=True, text=True, timeout=30
            )
            return out.stdout.strip()

        assert says(own.pid) == "alive"
        assert says(stranger.pid) == ""
        own.kill()
        own.wait(timeout=10)
        assert says(own.pid) == ""
    finally:
        stranger.kill()
        stranger.wait(timeout=10)
