"""Fixtures of the lab tests that run failovers: a test's own runbook state, MirrorMaker stopped after it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdrtui.domain.plan import Plan
from kdrtui.lab.lab import Lab
from tests.lab_helpers import stop_both_directions


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The runbook state of this test only (journals, state.json, audit.log), for this process and every
    ``kdrtui`` it starts."""
    where = tmp_path / "state"
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(where))
    return where


@pytest.fixture
def mirrormakers_stopped(lab: Lab) -> Iterator[list[Plan]]:
    """Plans whose MirrorMaker deployments (both directions) are stopped after the test."""
    plans: list[Plan] = []
    yield plans
    for plan in plans:
        asyncio.run(stop_both_directions(plan))
