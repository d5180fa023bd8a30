"""Every game-day scenario by name (``kdrtui gameday list``), each in a module of its own."""

from __future__ import annotations

import importlib

from kdrtui.services.gameday.scenario import Scenario

MODULES = (
    "region_loss",
    "wan_partition",
    "wan_degraded",
    "mm_crash",
    "broker_loss",
    "zombie_primary",
    "split_brain",
    "automation",
)
"""The scenario modules, in the order ``kdrtui gameday list`` shows them (a module not written yet is
skipped); each holds ``SCENARIO``, or ``SCENARIOS`` when it has several."""


def _load() -> dict[str, Scenario]:
    found: dict[str, Scenario] = {}
    for name in MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        for scenario in getattr(module, "SCENARIOS", None) or (module.SCENARIO,):
            found[scenario.name] = scenario
    return found


SCENARIOS: dict[str, Scenario] = _load()
"""Scenario name -> scenario."""
