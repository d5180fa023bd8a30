"""When a scheduled (cold-standby) flow's MirrorMaker runs: the schedule maths (pure).

A ``[flows.schedule]`` starts a batch every ``every_minutes`` minutes, or at the minutes a 5-field cron
expression names, and each batch runs ``run_minutes`` minutes. Every time here is in UTC, and counted in
whole **minutes since the Unix epoch** (the *minute index*), so every tool agrees on the times:

- ``every_minutes = N``: batches start at the minutes that are multiples of N since 1970-01-01 00:00 UTC
  (every 60 minutes: on the hour; every 15: at :00, :15, :30, :45);
- ``cron``: the classic cron rules (minute hour day-of-month month day-of-week; numbers, ``*``, ranges
  ``a-b``, lists ``a,b``, steps ``*/n`` ``a-b/n`` ``a/n``; month and day names ``jan``..``dec``,
  ``sun``..``sat``; day of week 0 or 7 is Sunday). As in cron, when both day fields are restricted a day
  matching either counts; a day field that starts with ``*`` is unrestricted.

A batch's *window* is ``[start, start + run_minutes)``. Windows that overlap or touch (a cron firing again
before the last batch ended) merge into one: MirrorMaker keeps running.

The scheduler on an edge node does the same maths in awk (``schedule.awk``, shipped with
:mod:`kdrtui.services.mirrormaker.node_scripts` and fed by :func:`supervisor_settings`): tests check both
give the same times.

Test hook: ``KDRTUI_SCHEDULE_MINUTE_SECONDS`` (see :func:`minute_seconds`) makes a schedule minute last
that many real seconds (1 to 60), so a lab test can watch whole batches in a minute. Only for tests: a
real schedule's minute is 60 seconds.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

MINUTE_SECONDS_ENV = "KDRTUI_SCHEDULE_MINUTE_SECONDS"
"""Test hook: real seconds in one schedule minute (default 60)."""
MINUTES_PER_DAY = 1440
SEARCH_DAYS = 2932
"""How far a cron search looks ahead or back (8 years and a bit: 29 February comes every 4 to 8 years)."""
MERGE_LIMIT = 1000
"""At most this many overlapping windows are merged into one (the supervisor looks again at its end)."""
START_GRACE_S = 60.0
"""MirrorMaker's start-up time: a scheduled flow without heartbeats this soon after a window opened is
still starting, not stopped."""

_EPOCH = date(1970, 1, 1)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def minute_seconds(environ: Mapping[str, str]) -> int:
    """Real seconds in one schedule minute: 60, or ``KDRTUI_SCHEDULE_MINUTE_SECONDS`` (1-60) in tests."""
    text = environ.get(MINUTE_SECONDS_ENV, "").strip()
    if not text:
        return 60
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{MINUTE_SECONDS_ENV}={text!r} is not a whole number of seconds") from None
    if not 1 <= value <= 60:
        raise ValueError(f"{MINUTE_SECONDS_ENV}={value} must be 1 to 60 seconds (a test hook)")
    return value


# --- cron -------------------------------------------------------------------------------------------


class CronError(ValueError):
    """A cron expression that cannot be read; ``str()`` says which field and why."""


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed 5-field cron expression: the allowed values of each field."""

    text: str
    """The expression as written."""
    minutes: frozenset[int]
    """0-59."""
    hours: frozenset[int]
    """0-23."""
    days: frozenset[int]
    """Days of the month, 1-31."""
    months: frozenset[int]
    """1-12."""
    weekdays: frozenset[int]
    """0-6, Sunday = 0."""
    days_star: bool
    """The day-of-month field starts with ``*`` (unrestricted, for the either-day rule)."""
    weekdays_star: bool
    """The day-of-week field starts with ``*``."""

    def day_matches(self, day: date) -> bool:
        """Whether batches may start on ``day`` (month, and day of month / day of week)."""
        if day.month not in self.months:
            return False
        in_days = day.day in self.days
        in_weekdays = (day.weekday() + 1) % 7 in self.weekdays
        if self.days_star or self.weekdays_star:
            return in_days and in_weekdays
        return in_days or in_weekdays

    def matches(self, when: datetime) -> bool:
        """Whether a batch starts at the minute of ``when`` (UTC)."""
        return self.day_matches(when.date()) and when.hour in self.hours and when.minute in self.minutes

    def next_minute(self, minute: int) -> int | None:
        """The first matching minute index at or after ``minute`` (None: none within about 8 years)."""
        first_day, rest = divmod(minute, MINUTES_PER_DAY)
        hours = sorted(self.hours)
        minutes = sorted(self.minutes)
        for day in range(first_day, first_day + SEARCH_DAYS):
            if not self.day_matches(_EPOCH + timedelta(days=day)):
                continue
            floor = rest if day == first_day else 0
            for hour in hours:
                if (hour + 1) * 60 <= floor:
                    continue
                for m in minutes:
                    if hour * 60 + m >= floor:
                        return day * MINUTES_PER_DAY + hour * 60 + m
        return None

    def previous_minute(self, minute: int) -> int | None:
        """The last matching minute index at or before ``minute`` (None: none within about 8 years)."""
        last_day, rest = divmod(minute, MINUTES_PER_DAY)
        hours = sorted(self.hours, reverse=True)
        minutes = sorted(self.minutes, reverse=True)
        for day in range(last_day, last_day - SEARCH_DAYS, -1):
            if not self.day_matches(_EPOCH + timedelta(days=day)):
                continue
            ceiling = rest if day == last_day else MINUTES_PER_DAY - 1
            for hour in hours:
                if hour * 60 > ceiling:
                    continue
                for m in minutes:
                    if hour * 60 + m <= ceiling:
                        return day * MINUTES_PER_DAY + hour * 60 + m
        return None


_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)


def _value(text: str, what: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if names and text.lower() in names:
        return names.index(text.lower()) + (1 if what == "month" else 0)
    if not re.fullmatch(r"\d+", text):
        named = f" or a name ({names[0]}..{names[-1]})" if names else ""
        raise CronError(f"{what}: '{text}' is not a number{named}")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{what}: {value} is out of range {low}-{high}")
    return value


def _field(text: str, what: str, low: int, high: int, names: tuple[str, ...]) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"{what}: empty list item in '{text}'")
        span, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not re.fullmatch(r"\d+", step_text) or int(step_text) == 0:
                raise CronError(f"{what}: step '{step_text}' must be a whole number from 1")
            step = int(step_text)
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, _, b = span.partition("-")
            first, last = _value(a, what, low, high, names), _value(b, what, low, high, names)
            if first > last:
                raise CronError(f"{what}: range '{span}' runs backwards")
        else:
            first = _value(span, what, low, high, names)
            last = high if slash else first
        values.update(range(first, last + 1, step))
    return values


def parse_cron(text: str) -> Cron:
    """Read a 5-field cron expression (see the module doc); raise :class:`CronError` saying what is wrong."""
    fields = text.split()
    if len(fields) != 5:
        raise CronError(
            f"must be a cron expression of 5 fields (minute hour day month weekday), not {len(fields)}"
        )
    sets = [_field(f, *rule) for f, rule in zip(fields, _FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in sets[4])
    cron = Cron(
        text=" ".join(fields),
        minutes=frozenset(sets[0]),
        hours=frozenset(sets[1]),
        days=frozenset(sets[2]),
        months=frozenset(sets[3]),
        weekdays=weekdays,
        days_star=fields[2].startswith("*"),
        weekdays_star=fields[4].startswith("*"),
    )
    if cron.next_minute(0) is None:
        raise CronError(f"'{cron.text}' never matches a day (e.g. 30 February)")
    return cron


# --- the schedule -----------------------------------------------------------------------------------


class ScheduleLike(Protocol):
    """What :class:`Batches` reads from a plan's ``Schedule``."""

    @property
    def every_minutes(self) -> int | None: ...

    @property
    def run_minutes(self) -> int | None: ...

    @property
    def cron(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Window:
    """One run of MirrorMaker (overlapping batches merged), in epoch seconds."""

    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Batches:
    """A flow's schedule, ready for the maths. Times in and out are epoch seconds (UTC)."""

    run_minutes: int
    """How long each batch runs."""
    every_minutes: int | None = None
    """Batches start at multiples of this since the epoch (or use :attr:`cron`)."""
    cron: Cron | None = None
    """When batches start, instead of :attr:`every_minutes`."""
    minute_seconds: int = 60
    """Real seconds per schedule minute (60; less only in tests)."""

    @classmethod
    def of(cls, schedule: ScheduleLike, *, minute_seconds: int = 60) -> Batches:
        """From a plan's ``[flows.schedule]``."""
        if schedule.run_minutes is None:
            raise ValueError("a schedule needs run_minutes")
        cron = parse_cron(schedule.cron) if schedule.cron is not None else None
        if cron is None and schedule.every_minutes is None:
            raise ValueError("a schedule needs every_minutes or cron")
        every = schedule.every_minutes if cron is None else None
        return cls(schedule.run_minutes, every, cron, minute_seconds)

    # -- in minute indexes -------------------------------------------------------------------------

    def _next(self, minute: int) -> int | None:
        """First start minute at or after ``minute``."""
        if self.cron is not None:
            return self.cron.next_minute(minute)
        assert self.every_minutes is not None
        return -(-minute // self.every_minutes) * self.every_minutes

    def _previous(self, minute: int) -> int | None:
        """Last start minute at or before ``minute``."""
        if self.cron is not None:
            return self.cron.previous_minute(minute)
        assert self.every_minutes is not None
        return minute // self.every_minutes * self.every_minutes

    def _minute(self, when: float) -> int:
        """The minute index ``when`` falls in."""
        return int(when // self.minute_seconds)

    def _seconds(self, minute: int) -> float:
        return float(minute * self.minute_seconds)

    # -- in epoch seconds --------------------------------------------------------------------------

    @property
    def run_seconds(self) -> float:
        """Length of one batch."""
        return float(self.run_minutes * self.minute_seconds)

    def next_start(self, after: float) -> float | None:
        """The first batch start strictly after ``after`` (None: the cron never fires again)."""
        minute = self._next(self._minute(after) + 1)
        return None if minute is None else self._seconds(minute)

    def previous_start(self, at: float) -> float | None:
        """The last batch start at or before ``at``."""
        minute = self._previous(self._minute(at))
        return None if minute is None else self._seconds(minute)

    def window_at(self, now: float) -> Window | None:
        """The run window ``now`` is in (overlapping windows merged), or None between runs.

        Its start is the earliest batch start whose window covers ``now``.
        """
        current = self._minute(now)
        first = self._next(current - self.run_minutes + 1)
        if first is None or first > current:
            return None
        start, end = first, first + self.run_minutes
        for _ in range(MERGE_LIMIT):
            following = self._next(start + 1)
            if following is None or following > end:
                break
            start, end = following, following + self.run_minutes
        return Window(self._seconds(first), self._seconds(end))

    def running(self, now: float) -> bool:
        """Whether ``now`` is inside a run window."""
        return self.window_at(now) is not None

    def next_run(self, now: float) -> float | None:
        """When the next batch starts: after the current window when one is open, else the next start."""
        window = self.window_at(now)
        if window is None:
            return self.next_start(now)
        minute = self._next(self._minute(window.end))
        return None if minute is None else self._seconds(minute)

    def last_window_end(self, now: float) -> float | None:
        """The end of the latest window that closed at or before ``now`` (None: none found)."""
        start = self.previous_start(now)
        for _ in range(MERGE_LIMIT):
            if start is None:
                return None
            window = self.window_at(start)
            assert window is not None  # a batch start is inside its own window
            if window.end <= now:
                return window.end
            start = self.previous_start(window.start - 1)
        return None

    def period_seconds(self, now: float) -> float:
        """The current cycle: the time between the last start at or before ``now`` and the next one."""
        if self.every_minutes is not None:
            return float(self.every_minutes * self.minute_seconds)
        previous = self.previous_start(now)
        following = self.next_start(now)
        if previous is None or following is None:
            return float(MINUTES_PER_DAY * self.minute_seconds)
        return following - previous

    def lag_thresholds(self, now: float) -> tuple[float, float]:
        """(warn, crit) lag seconds for a scheduled flow: the cycle plus a run, and twice that.

        Between runs the target is expected to fall behind by up to a cycle; a lag older than a cycle
        plus a run means a batch did not catch up (or did not run).
        """
        warn = self.period_seconds(now) + self.run_seconds
        return warn, 2 * warn

    def describe(self) -> str:
        """``every 60 min for 15 min`` or ``cron '0 2 * * *' for 30 min``."""
        what = f"every {self.every_minutes} min" if self.cron is None else f"cron '{self.cron.text}'"
        return f"{what} for {self.run_minutes} min"


# --- the scheduler's copy of the maths ---------------------------------------------------------------


def supervisor_settings(batches: Batches) -> dict[str, str]:
    """Variables for the scheduler's ``schedule.awk`` (``awk -v name=value``), as kdrtui writes them to the
    node."""
    cron = batches.cron

    def listed(values: frozenset[int] | None) -> str:
        return ",".join(str(v) for v in sorted(values or ()))

    return {
        "minute_seconds": str(batches.minute_seconds),
        "run_minutes": str(batches.run_minutes),
        "every_minutes": str(batches.every_minutes or 0),
        "cron_minutes": listed(cron.minutes if cron else None),
        "cron_hours": listed(cron.hours if cron else None),
        "cron_days": listed(cron.days if cron else None),
        "cron_months": listed(cron.months if cron else None),
        "cron_weekdays": listed(cron.weekdays if cron else None),
        "cron_days_star": "1" if cron and cron.days_star else "0",
        "cron_weekdays_star": "1" if cron and cron.weekdays_star else "0",
    }


def format_utc(when: float, now: float) -> str:
    """``14:00`` (UTC) for a time within 20 hours of ``now``, else ``Tue 14:00`` or ``2026-12-01 14:00``."""
    moment = datetime.fromtimestamp(when, UTC)
    if abs(when - now) < 20 * 3600:
        return moment.strftime("%H:%M")
    if abs(when - now) < 6 * 86400:
        return moment.strftime("%a %H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")


def shortest_gap_minutes(cron: Cron) -> int:
    """A lower bound of the minutes between two starts of ``cron`` (as if every day matched)."""
    starts = sorted(h * 60 + m for h in cron.hours for m in cron.minutes)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    gaps.append(starts[0] + MINUTES_PER_DAY - starts[-1])
    return min(gaps)
