"""librdkafka's repeated log lines (a dead broker retried every second) are thinned out."""

from __future__ import annotations

import logging
import random
import string

import pytest

from kdrtui.services.kafka.config import RepeatFilter, kafka_logger


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("kdrtui.kafka", logging.ERROR, __file__, 1, message, (), None)


def test_one_copy_per_period_then_a_count_of_the_rest() -> None:
    clock = Clock()
    repeat = RepeatFilter(every_s=60, clock=clock)
    line = "FAIL [kdrtui#consumer-{n}]: Connect to ipv4#127.0.0.1:29192 failed (after {n}ms in state CONNECT)"
    passed = []
    for n in range(130):
        clock.now += 1
        rec = record(line.format(n=n))
        if repeat.filter(rec):
            passed.append(rec.getMessage())
    assert len(passed) == 3
    assert passed[0].endswith("(after 0ms in state CONNECT)")
    assert passed[1].endswith("(and 59 more like it in the last 60 s)")
    assert passed[2].endswith("(and 59 more like it in the last 60 s)")


def test_different_lines_are_not_held_back() -> None:
    repeat = RepeatFilter(every_s=60, clock=Clock())
    assert repeat.filter(record("broker 1 down")) and repeat.filter(record("topic x: unknown partition"))


def test_the_kafka_logger_has_it(caplog: pytest.LogCaptureFixture) -> None:
    logger = kafka_logger()
    assert sum(isinstance(f, RepeatFilter) for f in logger.filters) == 1
    kafka_logger()
    assert sum(isinstance(f, RepeatFilter) for f in logger.filters) == 1
    tag = "".join(random.choices(string.ascii_letters, k=16))  # the filter is process-wide
    with caplog.at_level(logging.ERROR, logger="kdrtui.kafka"):
        for port in range(5):
            logger.error("%s: Connect to ipv4#127.0.0.1:%d failed", tag, 41000 + port)
    assert len([r for r in caplog.records if tag in r.getMessage()]) == 1
