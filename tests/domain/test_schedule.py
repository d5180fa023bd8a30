"""The schedule maths of cold-standby flows: cron parsing, batch windows, next and last runs, and the
supervisor's awk copy of the same maths."""

from __future__ import annotations

import random
import shutil
import subprocess
from datetime import UTC, datetime

import pytest

from kdrtui.domain.plan import Schedule
from kdrtui.domain.schedule import (
    MINUTE_SECONDS_ENV,
    Batches,
    CronError,
    Window,
    format_utc,
    minute_seconds,
    parse_cron,
    shortest_gap_minutes,
    supervisor_settings,
)
from kdrtui.services.mirrormaker.node_scripts import schedule_awk


def ts(text: str) -> float:
    """Epoch seconds of an ISO time in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def iso(when: float | None) -> str | None:
    return None if when is None else datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M:%S")


def every(n: int, run: int, seconds: int = 60) -> Batches:
    return Batches.of(Schedule(every_minutes=n, run_minutes=run), minute_seconds=seconds)


def cron(text: str, run: int, seconds: int = 60) -> Batches:
    return Batches.of(Schedule(cron=text, run_minutes=run), minute_seconds=seconds)


# --- cron parsing -----------------------------------------------------------------------------------


def test_cron_fields_numbers_stars_ranges_lists_and_steps() -> None:
    c = parse_cron("*/15 9-17 1,15 * mon-fri")
    assert c.minutes == {0, 15, 30, 45}
    assert c.hours == set(range(9, 18))
    assert c.days == {1, 15}
    assert c.months == set(range(1, 13))
    assert c.weekdays == {1, 2, 3, 4, 5}
    assert not c.days_star and not c.weekdays_star


def test_cron_names_steps_in_ranges_and_sunday_as_seven() -> None:
    c = parse_cron("5/20 0-12/6 * JAN,jul-Sep sun,7")
    assert c.minutes == {5, 25, 45}
    assert c.hours == {0, 6, 12}
    assert c.months == {1, 7, 8, 9}
    assert c.weekdays == {0}
    assert c.days_star and not c.weekdays_star


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("* * * *", "5 fields"),
        ("60 * * * *", "minute: 60 is out of range 0-59"),
        ("* 24 * * *", "hour: 24"),
        ("* * 0 * *", "day of month: 0"),
        ("* * * 13 *", "month: 13"),
        ("* * * * 8", "day of week: 8"),
        ("*/0 * * * *", "step '0'"),
        ("5-1 * * * *", "runs backwards"),
        ("1,,2 * * * *", "empty list item"),
        ("* * * foo *", r"'foo' is not a number or a name \(jan\.\.dec\)"),
        ("* * * * mon-xyz", "'xyz'"),
        ("0 0 30 2 *", "never matches"),
        ("0 0 31 4,6,9,11 *", "never matches"),
    ],
)
def test_bad_cron_expressions_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        parse_cron(text)


def test_day_of_month_and_day_of_week_restricted_means_either() -> None:
    # Cron's rule: both restricted -> either matches; one starts with * -> both must.
    either = parse_cron("0 0 13 * fri")
    assert either.matches(datetime(2026, 3, 13, tzinfo=UTC))  # a Friday the 13th
    assert either.matches(datetime(2026, 3, 6, tzinfo=UTC))  # a Friday
    assert either.matches(datetime(2026, 4, 13, tzinfo=UTC))  # a Monday the 13th
    assert not either.matches(datetime(2026, 4, 14, tzinfo=UTC))
    star = parse_cron("0 0 */2 * fri")  # day of month starts with *: both must match
    assert star.matches(datetime(2026, 3, 13, tzinfo=UTC))  # odd day, Friday
    assert not star.matches(datetime(2026, 3, 6, tzinfo=UTC))  # even day, Friday
    assert not star.matches(datetime(2026, 3, 12, tzinfo=UTC))  # even day, Thursday


def test_plan_refuses_a_bad_cron_and_overlapping_batches() -> None:
    with pytest.raises(ValueError, match="minute: 99"):
        Schedule(cron="99 * * * *", run_minutes=5)
    with pytest.raises(ValueError, match=r"shortest time between two starts .* \(15 min\)"):
        Schedule(cron="0,15,45 * * * *", run_minutes=15)
    assert Schedule(cron="0 2 * * mon,wed", run_minutes=60).cron == "0 2 * * mon,wed"
    assert shortest_gap_minutes(parse_cron("0 23 * * *")) == 1440
    assert shortest_gap_minutes(parse_cron("30 0,23 * * *")) == 60


def brute_next(batches: Batches, minute: int, horizon: int = 8 * 1440) -> int | None:
    assert batches.cron is not None
    for m in range(minute, minute + horizon):
        if batches.cron.matches(datetime.fromtimestamp(m * 60, UTC)):
            return m
    return None


@pytest.mark.parametrize(
    "text",
    ["*/7 * * * *", "0 */5 * * *", "15,45 9-17 * * 1-5", "0 0 1,15 * 0", "59 23 * * *", "0 12 * * sat,sun"],
)
def test_cron_search_agrees_with_checking_every_minute(text: str) -> None:
    batches = cron(text, 1)
    rng = random.Random(text)
    for _ in range(12):
        minute = rng.randrange(29_000_000, 29_600_000)
        want = brute_next(batches, minute)
        if want is None:
            continue
        assert batches.cron is not None
        assert batches.cron.next_minute(minute) == want
        assert batches.cron.previous_minute(want) == want
        previous = batches.cron.previous_minute(want - 1)
        assert previous is not None and previous < want
        assert brute_next(batches, previous + 1) == want


def test_leap_day_is_found_years_ahead() -> None:
    c = parse_cron("0 0 29 2 *")
    after = int(ts("2097-03-01T00:00:00") // 60)
    found = c.next_minute(after)
    assert iso(None if found is None else found * 60) == "2104-02-29 00:00:00"  # 2100 is no leap year


# --- windows ----------------------------------------------------------------------------------------


def test_every_minutes_starts_at_multiples_since_the_epoch() -> None:
    b = every(60, 15)
    assert iso(b.next_start(ts("2026-11-25T13:20:00"))) == "2026-11-25 14:00:00"
    assert iso(b.next_start(ts("2026-11-25T14:00:00"))) == "2026-11-25 15:00:00"  # strictly after
    assert iso(b.previous_start(ts("2026-11-25T14:00:00"))) == "2026-11-25 14:00:00"
    ninety = every(90, 10)
    # 90-minute batches: day boundaries do not reset the pattern (1970-01-01 00:00 + k * 90 min).
    assert iso(ninety.next_start(ts("2026-11-25T23:50:00"))) == "2026-11-26 00:00:00"
    assert iso(ninety.next_start(ts("2026-11-26T00:00:00"))) == "2026-11-26 01:30:00"
    week = every(10080, 60)
    weekly = week.next_start(ts("2026-11-25T00:00:00")) or 0
    assert datetime.fromtimestamp(weekly, UTC).strftime("%a") == "Thu"  # 1970-01-01 was a Thursday


def test_window_running_next_and_last_for_every_minutes() -> None:
    b = every(60, 15)
    inside = ts("2026-11-25T14:05:00")
    assert b.window_at(inside) == Window(ts("2026-11-25T14:00:00"), ts("2026-11-25T14:15:00"))
    assert b.running(inside)
    assert iso(b.next_run(inside)) == "2026-11-25 15:00:00"
    assert iso(b.last_window_end(inside)) == "2026-11-25 13:15:00"
    idle = ts("2026-11-25T14:15:00")  # the end is not in the window
    assert b.window_at(idle) is None and not b.running(idle)
    assert iso(b.next_run(idle)) == "2026-11-25 15:00:00"
    assert iso(b.last_window_end(idle)) == "2026-11-25 14:15:00"
    assert b.running(ts("2026-11-25T14:14:59"))
    assert b.running(ts("2026-11-25T14:00:00"))
    assert not b.running(ts("2026-11-25T13:59:59"))


def test_window_for_cron() -> None:
    b = cron("30 2 * * mon-fri", 45)
    friday_night = ts("2026-11-27T03:00:00")  # a Friday, inside 02:30-03:15
    assert b.window_at(friday_night) == Window(ts("2026-11-27T02:30:00"), ts("2026-11-27T03:15:00"))
    assert iso(b.next_run(friday_night)) == "2026-11-30 02:30:00"  # Monday
    saturday = ts("2026-11-28T12:00:00")
    assert b.window_at(saturday) is None
    assert iso(b.next_run(saturday)) == "2026-11-30 02:30:00"
    assert iso(b.last_window_end(saturday)) == "2026-11-27 03:15:00"
    assert b.period_seconds(saturday) == 3 * 86400
    assert b.describe() == "cron '30 2 * * mon-fri' for 45 min"


def test_overlapping_cron_windows_merge() -> None:
    # Not allowed by the plan (it refuses overlaps), but the maths still keeps MirrorMaker running.
    b = Batches(run_minutes=20, cron=parse_cron("0,10,40 * * * *"))
    w = b.window_at(ts("2026-11-25T14:05:00"))
    assert w == Window(ts("2026-11-25T14:00:00"), ts("2026-11-25T14:30:00"))
    assert iso(b.next_run(ts("2026-11-25T14:05:00"))) == "2026-11-25 14:40:00"
    # 13:40-14:00 touches the open window, so it is part of it: the last closed one is 13:00-13:30.
    assert iso(b.last_window_end(ts("2026-11-25T14:05:00"))) == "2026-11-25 13:30:00"


def test_thresholds_follow_the_schedule() -> None:
    assert every(60, 15).lag_thresholds(ts("2026-11-25T14:05:00")) == (75 * 60, 150 * 60)
    assert cron("0 */6 * * *", 30).lag_thresholds(ts("2026-11-25T14:05:00")) == (390 * 60, 780 * 60)


def test_scaled_minutes_for_tests() -> None:
    assert minute_seconds({}) == 60
    assert minute_seconds({MINUTE_SECONDS_ENV: "5"}) == 5
    for bad in ("0", "61", "x"):
        with pytest.raises(ValueError, match=MINUTE_SECONDS_ENV):
            minute_seconds({MINUTE_SECONDS_ENV: bad})
    b = every(4, 2, seconds=5)  # a batch of 10 s every 20 s
    assert b.next_start(1_000_001) == 1_000_020
    assert b.window_at(1_000_005) == Window(1_000_000, 1_000_010)
    assert b.window_at(1_000_010) is None
    assert b.lag_thresholds(0) == (30, 60)
    c = cron("7 * * * *", 30, seconds=1)  # a "minute" of 1 s: the 7th second of each 60
    assert c.next_start(120) == 127 and c.window_at(130) == Window(127, 157)


def test_format_utc() -> None:
    now = ts("2026-11-25T13:20:00")
    assert format_utc(ts("2026-11-25T14:00:00"), now) == "14:00"
    assert format_utc(ts("2026-11-27T14:00:00"), now) == "Fri 14:00"
    assert format_utc(ts("2026-12-25T14:00:00"), now) == "2026-12-25 14:00"


# --- the supervisor's awk copy ----------------------------------------------------------------------

AWK = shutil.which("awk")


def awk_answer(batches: Batches, now: float) -> tuple[int, int, int]:
    assert AWK is not None
    args = [AWK]
    for name, value in {**supervisor_settings(batches), "now": str(int(now))}.items():
        args += ["-v", f"{name}={value}"]
    out = subprocess.run([*args, schedule_awk()], capture_output=True, text=True, check=True).stdout
    start, end, following = (int(x) for x in out.split())
    return start, end, following


def python_answer(batches: Batches, now: float) -> tuple[int, int, int]:
    window = batches.window_at(now)
    following = batches.next_run(now)
    return (
        -1 if window is None else int(window.start),
        -1 if window is None else int(window.end),
        -1 if following is None else int(following),
    )


@pytest.mark.skipif(AWK is None, reason="no awk")
@pytest.mark.parametrize(
    "batches",
    [
        every(60, 15),
        every(7, 3),
        every(10080, 120),
        every(4, 2, seconds=5),
        cron("0 2 * * *", 30),
        cron("*/20 8-18 * * 1-5", 10),
        cron("0 0 13 * fri", 60),
        cron("0 0 */3 feb,mar sun", 60),
        cron("7 * * * *", 30, seconds=1),
        cron("0 0 29 2 *", 60),
    ],
    ids=lambda b: f"{b.describe()} x{b.minute_seconds}s",
)
def test_awk_gives_the_same_times_as_python(batches: Batches) -> None:
    rng = random.Random(batches.describe())
    moments = [ts("2026-11-25T14:05:00"), ts("2028-02-29T00:10:00"), ts("2026-12-31T23:59:59")]
    moments += [rng.randrange(1_700_000_000, 1_900_000_000) for _ in range(25)]
    if batches.every_minutes == 60:
        moments += [ts("2026-11-25T14:00:00"), ts("2026-11-25T14:15:00"), ts("2026-11-25T14:14:59")]
    for now in moments:
        assert awk_answer(batches, now) == python_answer(batches, now), iso(now)
