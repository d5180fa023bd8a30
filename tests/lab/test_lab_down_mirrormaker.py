"""`lab down` also stops a MirrorMaker that `kdrtui mm start` left on the lab's edge node."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kdrtui.lab.lab import Lab
from kdrtui.lab.process import is_alive


def test_down_stops_mirrormaker_left_in_the_edge_work_dir(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "lab", primary_port=21192, dr_port=22192)
    run_dir = lab.edge.work_dir / "mm" / "mm2-dr"
    run_dir.mkdir(parents=True)
    # Stands in for the JVM: a live process whose command line names its run directory, as the JVM's does.
    jvm = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", str(run_dir)])
    unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        (run_dir / "mm.pid").write_text(f"{jvm.pid}\n")
        (run_dir / "supervisor.pid").write_text(f"{unrelated.pid}\n")  # a reused pid: not ours
        said: list[str] = []
        lab.down(report=said.append)
        jvm.wait(timeout=10)
        assert f"MirrorMaker mm2-dr: stopped (pid {jvm.pid})" in said
        assert (run_dir / "stop_requested").exists()
        assert is_alive(unrelated.pid), "a process that is not the lab's MirrorMaker is left alone"
    finally:
        for proc in (jvm, unrelated):
            proc.kill()
            proc.wait()
