"""The Overview card of a cluster that answers but misses a broker or has unwritable partitions
(scripted probes; UI behaviour only)."""

from __future__ import annotations

from kdrtui.domain.health import Reachability
from kdrtui.tui.widgets.cluster_card import ClusterCard
from tests.tui.fakes import ScriptedProbes, fixed_app, sample_plan
from tests.tui.pilot_helpers import until


async def test_a_missing_broker_shows_degraded_with_the_replica_counts_at_80x24() -> None:
    probes = ScriptedProbes()
    probes.health["dr"] = {
        "brokers": 2,
        "brokers_expected": 3,
        "expected_source": "plan",
        "under_replicated": 14,
    }
    app = fixed_app(sample_plan(), probes=probes)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.cluster_views["dr"].state is Reachability.DEGRADED, what="dr degraded")
        await until(
            pilot, lambda: "DEGRADED" in str(app.screen.query_one("#cluster-dr", ClusterCard).render())
        )
        card = app.screen.query_one("#cluster-dr", ClusterCard)
        text = str(card.render())
        assert "▲ DEGRADED" in text
        assert "brokers    2/3 · controller 1" in text
        assert "partitions URP 14 · offline 0" in text
        assert "< min ISR  0" in text
        assert card.has_class("degraded") and not card.has_class("up")
        assert card.region.width <= 40  # two cards side by side at 80 columns, nothing cut
        assert all(len(line) <= card.content_region.width for line in text.splitlines())
        primary = app.screen.query_one("#cluster-primary", ClusterCard)
        assert "● UP" in str(primary.render()) and primary.has_class("up")


async def test_partitions_under_min_isr_are_degraded_and_an_unknown_count_is_a_question_mark() -> None:
    probes = ScriptedProbes()
    probes.health["dr"] = {"under_replicated": 5, "under_min_isr": 5, "unwritable_count": 5}
    probes.health["primary"] = {"under_replicated": 2, "under_min_isr": None}
    app = fixed_app(sample_plan(), probes=probes)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.cluster_views["dr"].state is Reachability.DEGRADED, what="dr degraded")
        await until(
            pilot, lambda: "< min ISR  5" in str(app.screen.query_one("#cluster-dr", ClusterCard).render())
        )
        primary = str(app.screen.query_one("#cluster-primary", ClusterCard).render())
        assert "● UP" in primary and "< min ISR  ?" in primary
