"""One state-changing operation per plan at a time: an OS file lock in the plan's runbook directory.

Every operation that changes something (failover, failback, a rollback, provision, destroy, ``mm
start|stop|restart|deploy``, the console's keys for them) holds :class:`PlanLock` for its whole run. The
lock is ``flock(LOCK_EX)`` on ``<runbook dir>/operation.lock``: the kernel releases it when the process
dies, however it dies, so a crash never leaves a plan locked. While held, the file says who holds it
(pid, user, ``$SSH_CLIENT``, host, operation, since when); a second operation is refused at once with
that, never queued behind the first. Read-only commands never take it; :func:`lock_holder` only looks.

``flock`` locks belong to an open file description, so two opens in one process (the console's run and
its own look) conflict like two processes do.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCK_NAME = "operation.lock"
SETTLE_S = 1.0
"""How long an acquirer keeps trying when the holder has not said who it is yet (it is starting, or a
look by :func:`lock_holder` holds the file for a moment)."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a plan's lock, as the holder wrote it."""

    pid: int | None
    user: str
    ssh_client: str
    host: str
    operation: str
    since: float | None

    @classmethod
    def me(cls, operation: str) -> LockHolder:
        try:
            user = os.environ.get("USER") or getpass.getuser()
        except (KeyError, OSError):
            user = "?"
        return cls(
            pid=os.getpid(),
            user=user,
            ssh_client=os.environ.get("SSH_CLIENT", ""),
            host=socket.gethostname(),
            operation=operation,
            since=time.time(),
        )

    @classmethod
    def parse(cls, text: str) -> LockHolder | None:
        """The holder a lock file names, or None when it names none (empty, cut, not ours)."""
        try:
            raw: Any = json.loads(text)
        except ValueError:
            return None
        if not isinstance(raw, dict):
            return None
        pid, since = raw.get("pid"), raw.get("since")
        return cls(
            pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
            user=str(raw.get("user") or "?"),
            ssh_client=str(raw.get("ssh_client") or ""),
            host=str(raw.get("host") or ""),
            operation=str(raw.get("operation") or "?"),
            since=float(since) if isinstance(since, (int, float)) and not isinstance(since, bool) else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "user": self.user,
            "ssh_client": self.ssh_client,
            "host": self.host,
            "operation": self.operation,
            "since": self.since,
        }

    def describe(self, now: float | None = None) -> str:
        """``failover by alice (pid 4242 on jump-1, from 10.0.0.5 52144 22) since 12:03:04 UTC, 35 s ago``."""
        where = f"pid {self.pid if self.pid is not None else '?'}"
        if self.host:
            where += f" on {self.host}"
        if self.ssh_client:
            where += f", from {self.ssh_client}"
        text = f"{self.operation} by {self.user} ({where})"
        if self.since is not None:
            ago = max(0.0, (time.time() if now is None else now) - self.since)
            stamp = time.strftime("%H:%M:%S UTC", time.gmtime(self.since))
            text += f" since {stamp}, {ago:.0f} s ago"
        return text


class PlanLocked(RuntimeError):
    """Another operation holds the plan's lock."""

    def __init__(self, plan: str, holder: LockHolder | None, wanted: str) -> None:
        self.plan = plan
        self.holder = holder
        self.wanted = wanted
        who = holder.describe() if holder is not None else "another kdrtui process (it has not said who yet)"
        super().__init__(
            f"{wanted} refused: plan {plan} is busy with {who}; one operation per plan at a time: "
            "try again when it ends"
        )


class PlanLock:
    """The lock of one plan's runbook directory; hold it with :meth:`acquire` / :meth:`release` or
    ``with lock.held_for(operation):``."""

    def __init__(self, directory: Path, plan: str, name: str = LOCK_NAME) -> None:
        self.path = directory / name
        """``operation.lock``; another ``name`` is a lock of its own (``kdrtui watch``'s ``watch.lock``)."""
        self.plan = plan
        self._fd: int | None = None
        self.operation: str | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def acquire(self, operation: str) -> None:
        """Take the lock for ``operation`` or raise :class:`PlanLocked` at once (no waiting on a holder
        that said who it is; up to :data:`SETTLE_S` on one that has not yet)."""
        if self._fd is not None:
            raise RuntimeError(f"the lock of {self.plan} is already held here for {self.operation}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + SETTLE_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read_holder(fd)
                if holder is not None or time.monotonic() > deadline:
                    os.close(fd)
                    raise PlanLocked(self.plan, holder, operation) from None
                time.sleep(0.05)
        me = json.dumps(LockHolder.me(operation).to_dict(), sort_keys=True).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, me, 0)
        os.fsync(fd)
        self._fd, self.operation = fd, operation

    def release(self) -> None:
        """Say nobody holds it, then let it go (idempotent)."""
        fd, self._fd, self.operation = self._fd, None, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the last descriptor releases the flock

    @contextlib.contextmanager
    def held_for(self, operation: str) -> Iterator[PlanLock]:
        """``with lock.held_for("failover"):`` — acquired (or :class:`PlanLocked`), released at the end."""
        self.acquire(operation)
        try:
            yield self
        finally:
            self.release()

    def holder(self) -> LockHolder | None:
        """Who holds the lock now (None: nobody); only looks — never waits, never blocks an acquirer for
        longer than the look."""
        if self._fd is not None:
            return LockHolder.parse(os.pread(self._fd, 65536, 0).decode(errors="replace"))
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_holder(fd) or LockHolder(None, "?", "", "", "?", None)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def __del__(self) -> None:  # a forgotten lock is released with its object, as the kernel would
        with contextlib.suppress(Exception):
            self.release()


def _read_holder(fd: int) -> LockHolder | None:
    return LockHolder.parse(os.pread(fd, 65536, 0).decode(errors="replace"))
