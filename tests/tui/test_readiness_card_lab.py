"""The Overview's Readiness card against the three-broker lab: the real ``kdrtui check`` in the card's worker
finds a mirror short of partitions, and the Overview stays responsive meanwhile."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka.config import client_config
from kdrtui.services.plan_files import load_plan
from kdrtui.tui.app import make_app
from kdrtui.tui.factories import readiness_check
from kdrtui.tui.widgets.readiness_card import ReadinessCard
from tests.lab_helpers import lab_plan_variant
from tests.tui.pilot_helpers import until

pytestmark = pytest.mark.lab


async def test_the_card_shows_what_kdrtui_check_finds_on_the_lab(
    lab3: Lab, tmp_path: Path, unique_name: str
) -> None:
    for alias, name, partitions in ((PRIMARY, unique_name, 3), (DR, f"{PRIMARY}.{unique_name}", 2)):
        admin = AdminClient(client_config(lab3.bootstrap(alias)))
        admin.create_topics([NewTopic(name, num_partitions=partitions)])[name].result(timeout=30)
    base = load_plan(lab3.plan_path)
    info = base.plan.model_copy(update={"name": f"card-{unique_name}"[:64]})
    pattern = re.escape(unique_name) + ".*"
    path = lab_plan_variant(lab3, tmp_path, flow={"topics": [pattern], "groups": [pattern]}, plan=info)
    app = make_app(load_plan(path), path, refresh_interval=1.0, readiness_check=readiness_check)
    async with app.run_test(size=(80, 24)) as pilot:

        def shown() -> str:
            return str(app.screen.query_one(ReadinessCard).render())

        # A topic just created may not be in every broker's metadata yet: check again (c) until it is.
        deadline = time.monotonic() + 60
        while "2 partition(s)" not in shown():
            assert time.monotonic() < deadline, shown()
            await until(pilot, lambda: "checking" not in shown(), timeout=30, what="the first check ends")
            await pilot.press("c")
            await pilot.pause(0.5)
        lines = shown().splitlines()
        assert lines[0].startswith("✖ NOT READY · 1 blocking · 0 warn · ")
        assert lines[1].startswith(f"✖ {DR}: {PRIMARY}.{unique_name}: 2 partition(s)")
        card = app.screen.query_one(ReadinessCard)
        assert card.has_class("blocking") and card.region.bottom <= 23
        await pilot.press("4")  # the panes still switch at once
        assert app.current_mode == "lag"
