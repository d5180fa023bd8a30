"""A game-day scenario: its name, what it proves, what lab it needs, and the function that runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kdrtui.services.gameday.context import GamedayContext

NEEDS = frozenset({"wan", "three-brokers", "active-active"})
"""What a scenario may need of the lab."""

NEEDS_OPTION = {
    "wan": "kdrtui lab up --wan-latency-ms 35",
    "three-brokers": "kdrtui lab up --brokers 3",
    "active-active": "kdrtui lab up --topology active-active",
}
"""The ``kdrtui lab up`` option that provides each need (``--brokers`` changes only after ``kdrtui lab down
--purge``; the WAN needs Go where ``kdrtui lab fetch`` builds the proxy)."""


@dataclass(frozen=True)
class Scenario:
    """One scripted incident."""

    name: str
    """``mm-crash``, ``broker-loss``...: what ``kdrtui gameday run`` takes."""
    summary: str
    """What happens, in one sentence."""
    proves: str
    """What passing shows, in one or two sentences (the report and the README say it)."""
    needs: frozenset[str]
    """Subset of :data:`NEEDS`."""
    long: bool
    """True: run by ``make gameday``, not by the default suite."""
    run: Callable[[GamedayContext], None]
    """Runs the scenario on a context (blocking); raises to end the run in error."""

    def __post_init__(self) -> None:
        unknown = self.needs - NEEDS
        if unknown:
            raise ValueError(f"scenario {self.name}: unknown needs {sorted(unknown)}; known: {sorted(NEEDS)}")
