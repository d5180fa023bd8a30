"""Cluster reachability folded from observations, and the age formats (pure)."""

from __future__ import annotations

import pytest

from kdrtui.domain.health import (
    ClusterObservation,
    ClusterView,
    Reachability,
    advance,
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
