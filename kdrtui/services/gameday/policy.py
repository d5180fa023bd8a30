"""The automated failover policy in a game day: the lab's plan given an ``[automation]`` table for the run,
``kdrtui watch`` running as its own process (as a systemd unit would run it), and what it published and
recorded read back — so the automation scenarios check the real watcher against the real lab.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

from kdrtui.services.automation.state import AutoFailover, PublishedState, read_last_failover, read_state
from kdrtui.services.gameday.context import GamedayContext
from kdrtui.services.gameday.operator import RunbookAnswer
from kdrtui.services.runbook.store import RunbookStore


def policy_table(**keys: Any) -> str:
    """An ``[automation]`` table's TOML text."""
    lines = ["", "[automation]"]
    for key, value in keys.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, list):
            text = "[" + ", ".join(f'"{v}"' for v in value) + "]"
        else:
            text = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


class PolicyRun:
    """The policy for one game day: the plan's table, the watcher process, its pages."""

    def __init__(self, ctx: GamedayContext, **keys: Any) -> None:
        self.ctx = ctx
        self.store = RunbookStore(ctx.plan.plan.name, ctx.plan_path)
        self.pages = Path(tempfile.mkstemp(prefix="kdrtui-gameday-pages-", suffix=".log")[1])
        keys.setdefault("enabled", True)
        keys.setdefault("alert_command", f"cat >> {self.pages}; echo >> {self.pages}")
        self.keys = keys
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix="kdrtui-gameday-watch-", suffix=".log")[1])
        self._original: str | None = None

    # -- the plan ------------------------------------------------------------------------------------

    def install(self) -> None:
        """Give the lab's plan the table (restored as it was when the run ends)."""
        text = self.ctx.plan_path.read_text(encoding="utf-8")
        if "automation" in tomllib.loads(text):
            raise RuntimeError(f"the lab's plan {self.ctx.plan_path} has an [automation] table already")
        self._original = text
        self.ctx.on_restore("the lab's plan without the [automation] table", self.uninstall)
        self.ctx.plan_path.write_text(text + policy_table(**self.keys), encoding="utf-8")
        shown = ", ".join(f"{k} {v}" for k, v in self.keys.items() if k != "alert_command")
        self.ctx.mark(f"policy: [automation] {shown}", "setup")
        # Nothing of an earlier run's watcher may count in this one.
        for name in ("automation.json", "automation-failover.json"):
            with contextlib.suppress(FileNotFoundError):
                (self.store.dir / name).unlink()

    def uninstall(self) -> None:
        self.stop()
        if self._original is not None:
            self.ctx.plan_path.write_text(self._original, encoding="utf-8")
            self._original = None

    # -- the watcher ---------------------------------------------------------------------------------

    def start(self, *extra: str, region: str | None = None) -> None:
        """``kdrtui watch --plan <lab plan> [extra]`` in a process of its own (``region``: where this
        machine stands, ``KDRTUI_REGION``); waits for its first published evaluation."""
        env = {**os.environ}
        if region:
            env["KDRTUI_REGION"] = region
        command = [sys.executable, "-m", "kdrtui", "watch", "--plan", str(self.ctx.plan_path), *extra]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        self.ctx.on_restore("kdrtui watch stopped", self.stop)
        where = f" (KDRTUI_REGION={region})" if region else ""
        self.ctx.mark(f"kdrtui watch started{where}: {' '.join(extra) or 'no options'}", "setup")
        self.ctx.wait_until(
            lambda: self._alive() and self.state() is not None, 90, "kdrtui watch's first evaluation"
        )
        state = self.state()
        assert state is not None
        self.ctx.mark(f"kdrtui watch: {state.state}: {state.text}")

    def _alive(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"kdrtui watch exited {self.proc.returncode}: {self.tail()}")
        return True

    def tail(self, lines: int = 8) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    # -- what it published ---------------------------------------------------------------------------

    def state(self) -> PublishedState | None:
        return read_state(self.store.dir)

    def wait_state(self, state: str, timeout: float, what: str) -> None:
        """Until the watcher publishes ``state`` (``holding``, ``armed``...); the watcher dying ends it."""
        self.ctx.wait_until(
            lambda: self._alive() and (s := self.state()) is not None and s.state == state, timeout, what
        )

    def last_failover(self) -> AutoFailover | None:
        return read_last_failover(self.store.dir)

    def timed_events(self) -> list[tuple[float, str]]:
        """The policy's timeline events of this run, oldest first, each with its run seconds."""
        from kdrtui.domain.timeline import EventKind
        from kdrtui.services.timeline.store import TimelineStore

        store = TimelineStore.for_plan(self.ctx.plan.plan.name, self.ctx.plan_path)
        try:
            found = store.events(since=self.ctx.started_at, kinds=[EventKind.AUTOMATION], raw=True)
        finally:
            store.close()
        return [(self.run_seconds(e.at), e.text) for e in sorted(found, key=lambda e: e.at)]

    def run_seconds(self, epoch: float) -> float:
        """An epoch time (what the watcher writes) as the run's seconds (what its timeline shows)."""
        return epoch + self.ctx.now() - time.time()

    def events(self) -> list[str]:
        """The policy's timeline events of this run, oldest first."""
        return [text for _t, text in self.timed_events()]

    def first_event(self, starts: str) -> float | None:
        """Run seconds of the first event of this run whose text starts with ``starts`` (None: none)."""
        return next((t for t, text in self.timed_events() if text.startswith(starts)), None)

    def paged(self) -> list[str]:
        """What the alert command was given, one JSON body per page."""
        try:
            return [line for line in self.pages.read_text().splitlines() if line.strip()]
        except OSError:
            return []

    def states_seen(self) -> list[str]:
        """The states the policy went through (from its ``a -> b`` events)."""
        seen: list[str] = []
        for text in self.events():
            head = text.split(" (", 1)[0]
            if " -> " in head and not head.startswith(("automatic", "close call")):
                seen.append(head.split(" -> ", 1)[1].strip())
        return seen

    def wait_failover(self, ctx: GamedayContext, timeout: float) -> RunbookAnswer:
        """Wait for the watcher's automatic failover to end; its answer as the runbook's."""
        ctx.wait_until(
            lambda: (
                self._alive() and (last := self.last_failover()) is not None and last.outcome != "running"
            ),
            timeout,
            "kdrtui watch's automatic failover",
            interval=0.5,
        )
        last = self.last_failover()
        assert last is not None
        begun = self.run_seconds(last.started_at)
        ended = self.run_seconds(last.ended_at or time.time())
        ctx.mark(f"automatic failover {last.outcome} ({last.name}) in {ended - begun:.1f} s", "runbook")
        return RunbookAnswer(
            operation="failover",
            outcome=last.outcome,
            returncode=0 if last.outcome == "completed" else 1,
            started=begun,
            ended=ended,
            report=dict(last.report or {}),
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
