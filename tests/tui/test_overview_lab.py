"""The Overview pane against the real two-cluster lab: live state, a killed broker, recovery."""

from __future__ import annotations

import pytest

from kdrtui.domain.health import Reachability
from kdrtui.lab.lab import Lab
from kdrtui.services.plan_files import load_plan
from kdrtui.tui.app import make_app
from kdrtui.tui.widgets.cluster_card import ClusterCard
from tests.tui.pilot_helpers import until

pytestmark = pytest.mark.lab


async def test_overview_follows_a_broker_killed_and_restarted(lab: Lab) -> None:
    plan = load_plan(lab.plan_path)
    app = make_app(plan, lab.plan_path, refresh_interval=1.0)
    async with app.run_test(size=(80, 24)) as pilot:
        both_up = lambda: all(v.state is Reachability.UP for v in app.cluster_views.values())  # noqa: E731
        await until(pilot, both_up, timeout=30)
        await pilot.pause()
        dr_card = app.screen.query_one("#cluster-dr", ClusterCard)
        text = str(dr_card.render())
        assert "● UP" in text and lab.bootstrap("dr") in text and "brokers    1" in text
        assert "brokers    1/1 · controller KRaft" in text

        lab.kill("dr")
        took = await until(
            pilot, lambda: app.cluster_views["dr"].state is Reachability.UNREACHABLE, timeout=10
        )
        await pilot.pause()
        text = str(dr_card.render())
        assert "✖ UNREACHABLE" in text and "(stale)" in text, text
        assert app.cluster_views["primary"].state is Reachability.UP
        # Still responsive while dr is down: keys switch panes at once.
        await pilot.press("4")
        assert app.current_mode == "lag"
        await pilot.press("1")
        assert app.current_mode == "overview"
        print(f"dr seen unreachable {took:.1f} s after the kill")

        lab.up()
        await until(pilot, lambda: app.cluster_views["dr"].state is Reachability.UP, timeout=30)
        await pilot.pause()
        assert "(stale)" not in str(app.screen.query_one("#cluster-dr", ClusterCard).render())
