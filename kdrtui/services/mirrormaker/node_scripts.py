"""The shell and awk programs kdrtui runs on edge nodes, shipped as package data in ``scripts/``.

Two kinds, both checked by shellcheck (``make lint``):

- the scripts written into a run directory (``supervise.sh``, ``schedule.sh``, ``schedule.awk``): read as
  they are, byte for byte, since drift compares them with the node's copies (:func:`run_dir_scripts`);
- the commands run over SSH (``status.sh``, ``preflight.sh``, ``systemd.sh``, ``stop.sh``, ``kill.sh``,
  ``alive.sh``, ``secrets.sh``):
  :func:`command` puts their values in front as ``name=value`` lines, each value shell-quoted
  (:func:`shlex.quote`), and drops comment and blank lines, since every byte crosses the SSH link. The
  script itself is never edited, so no value can change what it does.
"""

from __future__ import annotations

import functools
import shlex
from importlib.resources import files

from kdrtui.domain.mirrormaker_deployment import RunDirScripts

SCRIPTS = files("kdrtui.services.mirrormaker") / "scripts"
"""Where the scripts are (inside the installed package)."""


@functools.cache
def script(name: str) -> str:
    """The text of ``scripts/<name>``."""
    return SCRIPTS.joinpath(name).read_text(encoding="utf-8")


def supervisor_script() -> str:
    """``supervise.sh``: the POSIX sh script that supervises one MirrorMaker in its run directory."""
    return script("supervise.sh")


def scheduler_script() -> str:
    """``schedule.sh``: the POSIX sh script that runs MirrorMaker in scheduled batches (cold standby)."""
    return script("schedule.sh")


def schedule_awk() -> str:
    """``schedule.awk``: kdrtui's schedule maths (:class:`kdrtui.domain.schedule.Batches`) in POSIX awk."""
    return script("schedule.awk")


def run_dir_scripts() -> RunDirScripts:
    """The scripts every run directory gets (for
    :func:`kdrtui.domain.mirrormaker_deployment.render_deployment`)."""
    return RunDirScripts(supervisor_script(), scheduler_script(), schedule_awk())


def command(name: str, **values: str | int) -> str:
    """Script ``name`` as one command line for a remote shell: ``name=value`` lines first (each value
    shell-quoted), then the script without its comment and blank lines."""
    head = []
    for key, value in values.items():
        if not key.isidentifier():
            raise ValueError(f"{key!r} is not a shell variable name")
        head.append(f"{key}={shlex.quote(str(value))}")
    body = [line for line in script(name).splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return "\n".join([*head, *body])


def status_probe(run_dir: str, log_lines: int = 8, *, libs: str = "") -> str:
    """The command that reports a deployment's state files, liveness, Kafka release and log tail
    (:func:`kdrtui.domain.mirrormaker.parse_probe` reads its output). The release is read from the running
    JVM's classpath, else from ``libs`` (the jars the deployment would run from)."""
    return command("status.sh", d=run_dir, lines=int(log_lines), libs=libs)


def secrets_probe(secrets_dir: str) -> str:
    """The command that reports a secrets directory's mode and each file's mode and sha256 digest
    (:func:`kdrtui.domain.mirrormaker_drift.parse_secrets_probe` reads its output)."""
    return command("secrets.sh", d=secrets_dir)


def preflight_script(kafka_home: str) -> str:
    """The command that reports the node's Java and whether ``kafka_home`` holds Kafka's jars
    (:func:`kdrtui.services.mirrormaker.manager.preflight_problem` reads its output)."""
    return command("preflight.sh", home=kafka_home)


def systemd_probe() -> str:
    """The command that says how systemd can be used on the node: ``root``, ``sudo``, ``nosudo`` or
    ``none``."""
    return command("systemd.sh")


def stop_command(run_dir: str) -> str:
    """The command that asks a deployment started without systemd to stop (SIGTERM, scheduler first)."""
    return command("stop.sh", run=run_dir)


def alive_command(run_dir: str, pid: int) -> str:
    """The command that prints ``alive`` while ``pid`` runs and (where ``/proc`` tells) its command line
    names ``run_dir``: a pid the deployment's process left behind and another process was given since is
    not it (``alive.sh``; ``stop.sh`` and ``kill.sh`` signal only such a process, by the same test)."""
    return command("alive.sh", run=run_dir, pid=int(pid))


def kill_command(run_dir: str, pid: int | None) -> str:
    """The command that SIGKILLs MirrorMaker ``pid`` (when known), its scheduler and its supervisor."""
    return command("kill.sh", run=run_dir, pid=int(pid) if pid else "")
