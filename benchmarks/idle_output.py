"""Bytes per second the console writes to its terminal while nothing changes, per pane, on the lab.

    .venv/bin/python benchmarks/idle_output.py [--seconds 30] [--settle 15] [--panes 1,4] [--use-lab]

What an on-call engineer pays on a slow SSH link for a console left open: with MirrorMaker running and no
traffic, every byte the console writes is a repaint of something that did not change. Starts a lab of its
own (a temporary KDRTUI_LAB_DIR and KDRTUI_STATE_DIR, free ports from 24592 up: the developer's lab is left
alone) with a few topics (``idle-<n>``, ``--topics`` x 3 partitions, 10 records each, written once and
mirrored before the count starts), starts MirrorMaker, then runs the real console (``python -m kdrtui
--plan lab``) in a pseudo-terminal of ``--size`` (80x24, TERM=xterm-256color). For each pane in
``--panes`` it presses the pane's key, lets it settle for ``--settle`` s, then counts the bytes written to
the terminal for ``--seconds``. Prints one row per pane (bytes, bytes per second, the busiest second,
against the 1 KB/s target, which holds for the Overview and the Mirror lag pane; other panes are shown for
information), then ``worst of 1, 4: X B/s`` and ``target met`` or ``target MISSED`` (exit 1).
``--use-lab`` uses the lab the environment points at instead (it must be up; its MirrorMaker is started
when stopped and left running). ``--dump DIR`` keeps what each pane's count saw (``pane-<key>.out``, the
raw escape sequences), to see what repaints.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1024
"""Bytes per second the console may write while nothing changes."""
TARGET_PANES = ("1", "4")
"""The panes the target holds for (issue 18): Overview and Mirror lag. The Edge pane follows MirrorMaker's
log, which MirrorMaker writes to every few seconds even when nothing is mirrored."""
PARTITIONS = 3
"""Partitions of each idle topic."""


def kdrtui(env: dict[str, str], *args: str, timeout: float = 300.0) -> str:
    """Run ``kdrtui ARGS`` in ``env``; its output, or RuntimeError with it when it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "kdrtui", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"kdrtui {' '.join(args)} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return done.stdout


def free_port(first: int, taken: set[int]) -> int:
    """The first port from ``first`` that nothing listens on and (with the next one: a broker's
    controller) is not in ``taken``."""
    from kdrtui.lab.ports import port_in_use

    for port in range(first, first + 400, 2):
        if not {port, port + 1} & taken and not port_in_use(port) and not port_in_use(port + 1):
            taken.update({port, port + 1})
            return port
    raise RuntimeError(f"no free port from {first}")


def fill_topics(bootstrap: str, target: str, topics: int) -> None:
    """Create ``idle-<n>`` on primary when missing, write 10 records into each partition once, and wait
    until MirrorMaker has mirrored them all to ``primary.idle-<n>`` on dr (the lag then stays 0)."""
    from confluent_kafka import Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

    from kdrtui.services.kafka.config import client_config

    names = [f"idle-{n}" for n in range(topics)]
    admin = AdminClient(client_config(bootstrap))
    missing = [n for n in names if n not in admin.list_topics(timeout=15).topics]
    if missing:
        for future in admin.create_topics([NewTopic(n, PARTITIONS, 1) for n in missing]).values():
            future.result(30)
        producer = Producer(client_config(bootstrap))
        for name in missing:
            for partition in range(PARTITIONS):
                for i in range(10):
                    producer.produce(name, value=f"idle {i}".encode(), partition=partition)
        if producer.flush(30):
            raise RuntimeError("could not write the idle topics' records")
    wanted = topics * PARTITIONS * 10
    dr = AdminClient(client_config(target))
    deadline = time.monotonic() + 180
    while True:
        asked = {
            TopicPartition(f"primary.{n}", p): OffsetSpec.latest() for n in names for p in range(PARTITIONS)
        }
        mirrored = 0
        for future in dr.list_offsets(asked, request_timeout=5).values():
            try:
                mirrored += future.result().offset
            except Exception:  # not created on dr yet
                continue
        if mirrored >= wanted:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"MirrorMaker mirrored {mirrored} of {wanted} idle records in 180 s")
        time.sleep(1)


class Terminal:
    """The console running in a pseudo-terminal; a thread drains it and notes when each byte came."""

    def __init__(self, env: dict[str, str], columns: int, rows: int) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.master = master
        self.writes: list[tuple[float, bytes]] = []
        """(monotonic time, what was written) of every read from the terminal."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kdrtui", "--plan", "lab"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(rows)},
            cwd=ROOT,
            start_new_session=True,
            # The terminal becomes the console's controlling terminal, as under a real login.
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if not ready:
                if self.process.poll() is not None:
                    return
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the console exited
                return
            if not data:
                return
            self.writes.append((time.monotonic(), data))

    def press(self, key: str) -> None:
        os.write(self.master, key.encode())

    def written(self, start: float, end: float) -> list[tuple[float, bytes]]:
        return [(t, data) for t, data in list(self.writes) if start <= t < end]

    def close(self) -> None:
        if self.process.poll() is None:
            self.press("q")
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                self.process.wait(10)
        self._reader.join(5)
        os.close(self.master)


def measure(
    terminal: Terminal, key: str, settle: float, seconds: float, dump: Path | None
) -> tuple[int, int]:
    """Show pane ``key``, wait ``settle`` s, count for ``seconds``: (bytes, the busiest second's bytes).
    With ``dump``, what was counted goes to ``dump/pane-<key>.out`` (to see what repaints)."""
    terminal.press(key)
    time.sleep(settle)
    if terminal.process.poll() is not None:
        raise RuntimeError(f"the console exited ({terminal.process.returncode})")
    start = time.monotonic()
    time.sleep(seconds)
    writes = terminal.written(start, start + seconds)
    per_second = [0] * (int(seconds) + 1)
    for t, data in writes:
        per_second[int(t - start)] += len(data)
    if dump is not None:
        dump.mkdir(parents=True, exist_ok=True)
        (dump / f"pane-{key}.out").write_bytes(b"".join(data for _, data in writes))
    return sum(per_second), max(per_second)


def run(args: argparse.Namespace, env: dict[str, str]) -> int:
    from kdrtui.lab.lab import DR, PRIMARY, Lab

    os.environ.update(env)  # Lab() reads KDRTUI_LAB_DIR
    lab = Lab()
    kdrtui(env, "mm", "start", "--plan", "lab")  # a running one is left alone
    fill_topics(lab.bootstrap(PRIMARY), lab.bootstrap(DR), args.topics)
    from kdrtui.tui.widgets.mode_bar import MODE_TABS

    panes = {key: label for key, _, label in MODE_TABS}
    columns, rows = (int(v) for v in args.size.split("x"))
    print(
        f"console at {columns}x{rows}, MirrorMaker running, no traffic, {args.topics} idle topics; "
        f"{args.settle:g} s to settle, then {args.seconds:g} s per pane",
        flush=True,
    )
    terminal = Terminal(env, columns, rows)
    worst = 0.0
    try:
        time.sleep(args.startup)  # the first refreshes of every cluster
        print(f"{'pane':<14}{'bytes':>9}{'B/s':>9}{'busiest s':>11}  target {TARGET} B/s", flush=True)
        for key in args.panes.split(","):
            total, busiest = measure(terminal, key, args.settle, args.seconds, args.dump)
            rate = total / args.seconds
            if key in TARGET_PANES:
                worst = max(worst, rate)
                verdict = "ok" if rate <= TARGET else "OVER"
            else:
                verdict = "(no target)"
            name = f"{key} {panes.get(key, '?')}"
            print(f"{name:<14}{total:>9,}{rate:>9,.0f}{busiest:>11,}  {verdict}", flush=True)
    finally:
        terminal.close()
    met = worst <= TARGET
    print(f"worst of {', '.join(TARGET_PANES)}: {worst:,.0f} B/s; target {'met' if met else 'MISSED'}")
    return 0 if met else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds counted per pane")
    parser.add_argument(
        "--settle",
        type=float,
        default=15.0,
        help="seconds after a pane's key, not counted (the lag sparklines fill in 12 s)",
    )
    parser.add_argument("--startup", type=float, default=10.0, help="seconds after start, not counted")
    parser.add_argument(
        "--panes", default="1,4", help="pane keys, in order (1 Overview, 4 Mirror lag, 6 Edge, 7 Timeline...)"
    )
    parser.add_argument("--size", default="80x24", help="terminal COLUMNSxROWS")
    parser.add_argument("--topics", type=int, default=4, help="idle topics on primary (3 partitions each)")
    parser.add_argument("--dump", type=Path, metavar="DIR", help="write what each pane's count saw here")
    parser.add_argument("--use-lab", action="store_true", help="use the environment's lab (it must be up)")
    args = parser.parse_args()

    env = dict(os.environ)
    if args.use_lab:
        from kdrtui.lab.lab import Lab

        if not Lab().status(topics=False).all_up:
            print("The lab is not up. Start it with `.venv/bin/kdrtui lab up`, then rerun.")
            return 2
        return run(args, env)
    home = Path(tempfile.mkdtemp(prefix="kdrtui-idle-"))
    env.update(KDRTUI_LAB_DIR=str(home / "lab"), KDRTUI_STATE_DIR=str(home / "state"))
    taken: set[int] = set()
    ports = [free_port(first, taken) for first in (24592, 25592, 26622)]
    try:
        kdrtui(
            env,
            "lab",
            "up",
            "--primary-port",
            str(ports[0]),
            "--dr-port",
            str(ports[1]),
            "--edge-port",
            str(ports[2]),
        )
        return run(args, env)
    finally:
        try:
            kdrtui(env, "mm", "stop", "--plan", "lab", timeout=120)
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
        kdrtui(env, "lab", "down", "--purge", timeout=120)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
