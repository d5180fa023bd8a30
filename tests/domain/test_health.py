"""Cluster reachability folded from observations, and the age formats (pure)."""

from __future__ import annotations

import itertools

import pytest

from kdrtui.domain.health import (
    ClusterObservation,
    ClusterView,
    Reachability,
    advance,
    coarse_age,
    coarse_compact_age,
    compact_age,
    format_age,
)


def ok(at: float, topics: int = 3) -> ClusterObservation:
    return ClusterObservation(observed_at=at, ok=True, brokers=1, topics=topics, controller_id=1)


def down(at: float) -> ClusterObservation:
    return ClusterObservation(observed_at=at, ok=False, error="Broker transport failure")


def test_unreachable_keeps_the_last_numbers_and_the_first_failure_time() -> None:
    view = advance(ClusterView("dr"), ok(100.0, topics=9))
    view = advance(view, down(105.0))
    view = advance(view, down(110.0))
    assert view.state is Reachability.UNREACHABLE
    assert view.unreachable_since == 105.0
    assert view.last_ok is not None and view.last_ok.topics == 9
    assert view.data_age(112.0) == 12.0
    assert view.last_error == "Broker transport failure"
    back = advance(view, ok(115.0, topics=10))
    assert back.state is Reachability.UP and back.unreachable_since is None and back.last_error is None


def test_never_reached_has_no_data_age() -> None:
    view = advance(ClusterView("dr"), down(5.0))
    assert view.state is Reachability.UNREACHABLE and view.data_age(9.0) is None


@pytest.mark.parametrize(
    ("seconds", "long", "short"),
    [
        (None, "-", "-"),
        (0.44, "0.4 s", "0.4s"),
        (12.7, "12 s", "12s"),
        (185, "3 min 5 s", "3m05s"),
        (7440, "2 h 4 min", "2h04m"),
        (266_400, "74 h 0 min", "3d02h"),
    ],
)
def test_age_formats(seconds: float | None, long: str, short: str) -> None:
    assert format_age(seconds) == long
    assert compact_age(seconds) == short


@pytest.mark.parametrize(
    ("seconds", "long", "short"),
    [
        (None, "-", "-"),
        (0.0, "< 5 s", "<5s"),
        (4.99, "< 5 s", "<5s"),
        (5.0, "5 s", "5s"),
        (9.9, "5 s", "5s"),
        (10.0, "10 s", "10s"),
        (59.9, "55 s", "55s"),
        (60.0, "1 min", "1m"),
        (185, "3 min", "3m"),
        (3599, "59 min", "59m"),
        (7440, "2 h 4 min", "2h04m"),
        (266_400, "74 h 0 min", "3d02h"),
    ],
)
def test_coarse_ages_read_fresh_then_step_by_5_s_then_by_the_minute(
    seconds: float | None, long: str, short: str
) -> None:
    assert coarse_age(seconds) == long
    assert coarse_compact_age(seconds) == short


def test_a_fresh_age_reads_the_same_across_refreshes_and_a_stalled_one_shows_within_5_s() -> None:
    # At the console's 2 s refresh, data 0-3 s old: one text, so the card is not repainted.
    assert {coarse_age(age) for age in (0.0, 0.1, 1.9, 2.0, 2.1, 3.9)} == {"< 5 s"}
    # A refresh that stopped: the age is visible at 5 s and changes at most every 5 s under a minute,
    # then every minute.
    texts = [coarse_age(age / 10) for age in range(0, 3_600 * 10, 7)]
    changes = sum(1 for a, b in itertools.pairwise(texts) if a != b)
    assert coarse_age(5.0) != coarse_age(4.9)
    assert changes == 11 + 59  # < 5 s -> 5 s ... 55 s, then 1 min ... 59 min


def test_coarse_age_thresholds() -> None:
    assert coarse_age(59.0, fresh=60) == "< 1 min" and coarse_age(61.0, fresh=60) == "1 min"
    assert coarse_compact_age(30.0, fresh=60) == "<1m"
    assert coarse_age(0.4, fresh=0) == "0 s" and coarse_compact_age(3.0, fresh=0) == "0s"
    assert coarse_age(-1.0, fresh=0) == "0 s"  # a clock step back never reads negative
