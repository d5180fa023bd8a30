"""Waiting inside a running Textual app: on a condition, with a deadline (never a fixed sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable


async def until(
    pilot: object, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
) -> float:
    """Let the app run until ``predicate`` holds; return the seconds it took; fail after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not met within {timeout} s")
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    return time.monotonic() - started
