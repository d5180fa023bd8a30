"""The incident timeline's database: one SQLite file per plan, beside its runbook journals.

``<state dir>/runbooks/<plan>-<hash>/timeline.sqlite`` (the :class:`RunbookStore` directory) holds

- ``events``: one row per :class:`~kdrtui.domain.timeline.Event` (indexed by time, and by flow and time);
- ``lag_minutes``: one row per flow and UTC minute, every process's samples folded in by one UPSERT
  (worst and last lag, sample count, worst health).

Several kdrtui processes write at once (the console, ``status --watch``, the exporter, a failover): the
database runs in WAL mode (readers never block the writer), every connection waits up to
:data:`BUSY_TIMEOUT_MS` for the write lock, and every write is one short ``BEGIN IMMEDIATE`` transaction
(it takes the write lock up front, so two writers never deadlock upgrading a read lock).

Rows older than the retention (default 14 days; ``KDRTUI_TIMELINE_RETENTION_DAYS`` overrides it) are
dropped when a store opens and then at most once an hour by the process writing. Secrets never get here:
events carry names, states, counts and times only.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kdrtui.domain.timeline import Event, EventKind, LagMinute, dedupe, health_rank, minute_of
from kdrtui.services.runbook.plan_dir import plan_dir

LOGGER = logging.getLogger("kdrtui.timeline")

FILE_NAME = "timeline.sqlite"
"""The database's name in the plan's runbook directory."""
DEFAULT_RETENTION_DAYS = 14.0
"""How long events and lag rows are kept by default."""
RETENTION_ENV = "KDRTUI_TIMELINE_RETENTION_DAYS"
"""Environment variable that sets the retention in days (a positive number)."""
BUSY_TIMEOUT_MS = 10_000
"""How long a writer waits for another process's write transaction before giving up."""
PRUNE_EVERY_S = 3600.0
"""How often a long-running writer drops expired rows."""
SCHEMA_VERSION = 1
"""``PRAGMA user_version`` of the schema below."""

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        text TEXT NOT NULL,
        severity TEXT NOT NULL DEFAULT 'info',
        flow TEXT,
        source TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX IF NOT EXISTS events_at ON events (at)",
    "CREATE INDEX IF NOT EXISTS events_flow_at ON events (flow, at)",
    """CREATE TABLE IF NOT EXISTS lag_minutes (
        flow TEXT NOT NULL,
        minute REAL NOT NULL,
        max_records INTEGER NOT NULL,
        max_seconds REAL NOT NULL,
        last_records INTEGER NOT NULL,
        last_seconds REAL NOT NULL,
        last_at REAL NOT NULL,
        samples INTEGER NOT NULL,
        health TEXT NOT NULL,
        health_rank INTEGER NOT NULL,
        PRIMARY KEY (flow, minute)
    )""",
    "CREATE INDEX IF NOT EXISTS lag_minutes_minute ON lag_minutes (minute)",
)

_UPSERT_LAG = """
INSERT INTO lag_minutes (flow, minute, max_records, max_seconds, last_records, last_seconds, last_at,
                         samples, health, health_rank)
VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
ON CONFLICT (flow, minute) DO UPDATE SET
    max_records = max(max_records, excluded.max_records),
    max_seconds = max(max_seconds, excluded.max_seconds),
    last_records = CASE WHEN excluded.last_at >= last_at THEN excluded.last_records ELSE last_records END,
    last_seconds = CASE WHEN excluded.last_at >= last_at THEN excluded.last_seconds ELSE last_seconds END,
    last_at = max(last_at, excluded.last_at),
    samples = samples + 1,
    health = CASE WHEN excluded.health_rank > health_rank THEN excluded.health ELSE health END,
    health_rank = max(health_rank, excluded.health_rank)
"""


class TimelineUnavailable(Exception):
    """The timeline database cannot be opened or written (the caller carries on without it)."""

    def __init__(self, path: Path, why: str) -> None:
        self.path = path
        self.why = why
        super().__init__(f"timeline unavailable ({path}): {why}")


def configured_retention_days() -> float:
    """The retention from ``KDRTUI_TIMELINE_RETENTION_DAYS``, else :data:`DEFAULT_RETENTION_DAYS`.

    Raises:
        ValueError: the variable is set to something that is not a positive number.
    """
    raw = os.environ.get(RETENTION_ENV, "").strip()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    try:
        days = float(raw)
    except ValueError:
        raise ValueError(f"{RETENTION_ENV}: must be a number of days, not {raw[:40]!r}") from None
    if not days > 0 or days != days or days == float("inf"):
        raise ValueError(f"{RETENTION_ENV}: must be a positive number of days, not {raw[:40]!r}")
    return days


class TimelineStore:
    """A plan's timeline database; safe to share between threads of one process and between processes."""

    def __init__(
        self,
        path: Path,
        *,
        retention_days: float = DEFAULT_RETENTION_DAYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        """The SQLite file."""
        self.retention_days = retention_days
        """Rows older than this many days are dropped by :meth:`prune`."""
        self._clock = clock
        self._lock = threading.Lock()
        self._pruned_at = 0.0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            self._db = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise TimelineUnavailable(path, str(exc)) from None
        try:
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"journal mode is {mode}, not wal")
            self._db.execute("PRAGMA synchronous = NORMAL")
            with self._write() as db:
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.prune()
        except (sqlite3.Error, TimelineUnavailable) as exc:
            self._db.close()
            raise TimelineUnavailable(path, getattr(exc, "why", str(exc))) from None

    @classmethod
    def for_plan(
        cls,
        plan_name: str,
        plan_path: Path | None,
        *,
        root: Path | None = None,
        retention_days: float | None = None,
    ) -> TimelineStore:
        """The plan's store, ``<RunbookStore(plan).dir>/timeline.sqlite``; the retention from
        ``KDRTUI_TIMELINE_RETENTION_DAYS`` (else 14 days) when not given.

        Raises:
            TimelineUnavailable: it cannot be opened (or the retention variable is not a positive number).
        """
        path = plan_dir(plan_name, plan_path, root) / FILE_NAME
        if retention_days is None:
            try:
                retention_days = configured_retention_days()
            except ValueError as exc:
                raise TimelineUnavailable(path, str(exc)) from None
        return cls(path, retention_days=retention_days)

    # -- writing -------------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction, the write lock taken up front (``BEGIN IMMEDIATE``)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def record(self, events: Iterable[Event]) -> None:
        """Append ``events`` (one transaction).

        Raises:
            TimelineUnavailable: the write failed (the database is locked for longer than the busy
                timeout, the disk is full...).
        """
        rows = [(e.at, str(e.kind), e.subject, e.text, e.severity, e.flow, e.source) for e in events]
        if not rows:
            return
        try:
            with self._write() as db:
                db.executemany(
                    "INSERT INTO events (at, kind, subject, text, severity, flow, source) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
        except sqlite3.Error as exc:
            raise TimelineUnavailable(self.path, str(exc)) from None
        self._maybe_prune()

    def record_lag(self, at: float, flow: str, records: int, seconds: float, health: str) -> None:
        """Fold one lag sample of ``flow`` taken at ``at`` into its minute's row.

        Raises:
            TimelineUnavailable: the write failed.
        """
        args = (flow, minute_of(at), records, seconds, records, seconds, at, health, health_rank(health))
        try:
            with self._write() as db:
                db.execute(_UPSERT_LAG, args)
        except sqlite3.Error as exc:
            raise TimelineUnavailable(self.path, str(exc)) from None
        self._maybe_prune()

    def prune(self) -> int:
        """Drop events and lag rows older than the retention; returns how many rows went."""
        cutoff = self._clock() - self.retention_days * 86400.0
        try:
            with self._write() as db:
                dropped = db.execute("DELETE FROM events WHERE at < ?", (cutoff,)).rowcount
                dropped += db.execute("DELETE FROM lag_minutes WHERE minute < ?", (cutoff,)).rowcount
        except sqlite3.Error as exc:
            raise TimelineUnavailable(self.path, str(exc)) from None
        self._pruned_at = self._clock()
        return int(dropped)

    def _maybe_prune(self) -> None:
        if self._clock() - self._pruned_at >= PRUNE_EVERY_S:
            self.prune()

    # -- reading -------------------------------------------------------------------------------------

    def _read(self, sql: str, args: Collection[object]) -> list[tuple[object, ...]]:
        try:
            with self._lock:
                return list(self._db.execute(sql, tuple(args)).fetchall())
        except sqlite3.Error as exc:
            raise TimelineUnavailable(self.path, str(exc)) from None

    def events(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        flow: str | None = None,
        kinds: Collection[EventKind] | None = None,
        limit: int | None = None,
        raw: bool = False,
    ) -> list[Event]:
        """Events newest first, each change once (:func:`~kdrtui.domain.timeline.dedupe`: several
        processes recording the same change); ``raw`` gives every row as recorded."""
        where: list[str] = []
        args: list[object] = []
        if since is not None:
            where.append("at >= ?")
            args.append(since)
        if until is not None:
            where.append("at <= ?")
            args.append(until)
        if flow is not None:
            where.append("flow = ?")
            args.append(flow)
        if kinds is not None:
            names = sorted({str(k) for k in kinds})
            if not names:
                return []
            where.append(f"kind IN ({', '.join('?' * len(names))})")
            args.extend(names)
        sql = "SELECT at, kind, subject, text, severity, flow, source FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY at DESC, id DESC"
        rows = self._read(sql, args)
        events = [event for event in map(_event, rows) if event is not None]
        if not raw:
            events = dedupe(events)
        return events if limit is None else events[:limit]

    def lag_minutes(self, flow: str, since: float, until: float | None = None) -> list[LagMinute]:
        """``flow``'s per-minute rows from the minute ``since`` falls in, oldest first."""
        sql = (
            "SELECT minute, flow, max_records, max_seconds, last_records, last_seconds, samples, health "
            "FROM lag_minutes WHERE flow = ? AND minute >= ?"
        )
        args: list[object] = [flow, minute_of(since)]
        if until is not None:
            sql += " AND minute <= ?"
            args.append(until)
        rows = self._read(sql + " ORDER BY minute", args)
        return [
            LagMinute(
                minute=float(r[0]),  # type: ignore[arg-type]
                flow=str(r[1]),
                max_records=int(r[2]),  # type: ignore[call-overload]
                max_seconds=float(r[3]),  # type: ignore[arg-type]
                last_records=int(r[4]),  # type: ignore[call-overload]
                last_seconds=float(r[5]),  # type: ignore[arg-type]
                samples=int(r[6]),  # type: ignore[call-overload]
                health=str(r[7]),
            )
            for r in rows
        ]

    def flows(self) -> list[str]:
        """Every flow that has lag rows or events, sorted."""
        rows = self._read(
            "SELECT flow FROM lag_minutes UNION SELECT flow FROM events WHERE flow IS NOT NULL ORDER BY 1", ()
        )
        return [str(r[0]) for r in rows]

    def close(self) -> None:
        """Close the connection (the store is not used again)."""
        with self._lock:
            self._db.close()


def _event(row: tuple[object, ...]) -> Event | None:
    """The event of one row; None for a kind this version does not know (a newer kdrtui wrote it)."""
    at, kind, subject, text, severity, flow, source = row
    try:
        event_kind = EventKind(str(kind))
    except ValueError:
        return None
    return Event(
        at=float(at),  # type: ignore[arg-type]
        kind=event_kind,
        subject=str(subject),
        text=str(text),
        severity=str(severity),
        flow=None if flow is None else str(flow),
        source=str(source),
    )
