"""The console shell driven through Textual's Pilot, with a scripted probe (UI behaviour only)."""

from __future__ import annotations

import pytest
from textual.command import CommandList, CommandPalette

from kdrtui.domain.health import Reachability
from kdrtui.domain.lag import LagSnapshot
from kdrtui.tui.app import KdrApp, make_app
from kdrtui.tui.screens.dialogs import ConfirmScreen, HelpScreen, TooSmallScreen
from kdrtui.tui.screens.overview import OverviewScreen
from kdrtui.tui.themes import THEME_NAMES, ThemeError, load_theme
from kdrtui.tui.widgets.cluster_card import ClusterCard
from kdrtui.tui.widgets.mode_bar import MODE_TABS, SHORT_LABELS, TIGHT_LABELS
from tests.tui.fakes import FIXED_NOW, ScriptedLagSource, ScriptedProbes, sample_plan
from tests.tui.pilot_helpers import screen_lines, until


async def run_from_palette(pilot: object, app: KdrApp, words: str) -> None:
    """Open the command palette, type ``words``, wait until the top match is that command, run it."""
    await pilot.press("ctrl+p")  # type: ignore[attr-defined]
    await until(pilot, lambda: isinstance(app.screen, CommandPalette))
    await pilot.press(*words)  # type: ignore[attr-defined]

    def top_match_is_it() -> bool:
        options = app.screen.query_one(CommandList)
        top = str(options.get_option_at_index(0).prompt) if options.option_count else ""
        return top.lower().startswith(words)

    await until(pilot, top_match_is_it)
    await pilot.press("enter")  # type: ignore[attr-defined]


def build(probes: ScriptedProbes | None = None, **kw: object) -> KdrApp:
    return make_app(
        sample_plan(),
        None,
        probe_factory=probes or ScriptedProbes(),
        lag_source_factory=ScriptedLagSource(LagSnapshot(taken_at=FIXED_NOW, flows=())),
        clock=lambda: FIXED_NOW,
        refresh_interval=kw.pop("refresh_interval", 0.05),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def card_text(app: KdrApp, alias: str) -> str:
    return str(app.screen.query_one(f"#cluster-{alias}", ClusterCard).render())


async def test_overview_shows_each_cluster_live() -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: all(v.state is Reachability.UP for v in app.cluster_views.values()))
        await pilot.pause()
        primary = card_text(app, "primary")
        assert "● UP" in primary
        assert "10.0.0.11:9092,10.0.0.12:9092" in primary
        assert "brokers    2" in primary
        assert "topics     7" in primary
        assert "brokers    2/≥2 · controller 1" in primary
        assert "topics     9" in card_text(app, "dr")


async def test_unreachable_cluster_keeps_last_numbers_marked_stale_and_recovers() -> None:
    probes = ScriptedProbes()
    app = build(probes)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.cluster_views["dr"].state is Reachability.UP)
        probes.down.add("dr")
        await until(pilot, lambda: app.cluster_views["dr"].state is Reachability.UNREACHABLE)
        await pilot.pause()
        text = card_text(app, "dr")
        assert "✖ UNREACHABLE" in text and "since      " in text
        assert "topics     9 (stale)" in text
        assert "Broker transport failure" in text
        assert "● UP" in card_text(app, "primary")
        probes.down.clear()
        await until(pilot, lambda: app.cluster_views["dr"].state is Reachability.UP)
        await pilot.pause()
        assert "(stale)" not in card_text(app, "dr")


async def test_key_3_opens_provisioning_and_a_plan_without_azure_says_what_to_add() -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        assert app.current_mode == "provisioning"
        body = str(app.screen.query_one("#pv-empty").render())
        assert "no [azure] table" in body
        await pilot.press("1")
        assert isinstance(app.screen, OverviewScreen)


async def test_hidden_overview_is_not_redrawn_and_catches_up_when_shown() -> None:
    probes = ScriptedProbes()
    app = build(probes)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.cluster_views["dr"].state is Reachability.UP)
        await pilot.press("4")
        probes.down.add("dr")
        await until(pilot, lambda: app.cluster_views["dr"].state is Reachability.UNREACHABLE)
        await pilot.press("1")
        await pilot.pause()
        assert "UNREACHABLE" in card_text(app, "dr")


async def test_help_lists_every_key() -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = {key: what for combo, what in app.screen.keys for key in combo.split(", ")}
        for key in ("1", "2", "3", "4", "5", "6", "?", "q", "r", "^p"):
            assert key in keys, f"{key} missing from help: {keys}"
        assert keys["4"] == "Mirror lag"
        assert keys["r"] == "Refresh"
        # Two keys for one thing share a row.
        assert ("^q, q", "Quit") in app.screen.keys
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)


async def test_quit_asks_first_while_an_operation_runs() -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        app.begin_operation("failover", "failover primary → dr")
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        assert "failover primary → dr" in app.screen.question
        await pilot.press("n")
        assert isinstance(app.screen, OverviewScreen)
        assert app.is_running
        await pilot.press("q")
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running or app._exit_renderables is not None)
    assert app.return_code == 0


async def test_quit_without_operations_exits_at_once() -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
    assert app.return_code == 0


async def test_too_small_terminal_shows_a_notice_until_resized() -> None:
    app = build()
    async with app.run_test(size=(70, 20)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        notice = str(app.screen.query_one("#too-small-text").render())
        assert "at least 80x24" in notice and "70x20" in notice
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen))


async def test_read_only_shows_a_badge() -> None:
    app = build(read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "READ-ONLY" in str(app.screen.query_one("#mode-bar").render())
    app2 = build(read_only=False)
    async with app2.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "READ-ONLY" not in str(app2.screen.query_one("#mode-bar").render())


@pytest.mark.parametrize("width", [80, 81, 88, 89, 96, 120])
async def test_read_only_badge_is_on_screen_from_80_columns(width: int) -> None:
    app = build(read_only=True)
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.pause()
        bar = screen_lines(app)[0]
        assert bar.endswith("READ-ONLY") and len(bar) <= width
        # Every tab is still there; the brand goes first when the bar runs out of room, then the space
        # between the tabs, then the long labels (from 96 columns every label is whole, from 89 all but
        # Mirror lag's, below that the tightest ones).
        labels = {} if width >= 96 else SHORT_LABELS if width >= 89 else TIGHT_LABELS
        for key, mode, label in MODE_TABS:
            assert f"{key} {labels.get(mode, label)}" in bar
        assert ("kdrtui" in bar) is (width >= 112)


@pytest.mark.parametrize("width", [80, 84, 85, 93, 101])
async def test_every_tab_is_on_the_bar_from_80_columns(width: int) -> None:
    app = build()
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.pause()
        bar = screen_lines(app)[0]
        assert len(bar) <= width
        labels = {} if width >= 85 else SHORT_LABELS
        for key, mode, label in MODE_TABS:
            assert f"{key} {labels.get(mode, label)}" in bar
        assert ("kdrtui" in bar) is (width >= 101)


async def test_refresh_key_probes_at_once() -> None:
    probes = ScriptedProbes()
    app = build(probes, refresh_interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: probes.calls.get("primary", 0) == 1)
        await pilot.press("r")
        await until(pilot, lambda: probes.calls.get("primary", 0) >= 2)


async def test_no_plan_says_how_to_get_one() -> None:
    app = make_app(None, None, probe_factory=ScriptedProbes())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = str(app.screen.query_one("#no-plan").render())
        assert "No DR plan loaded" in text and "kdrtui lab up" in text


async def test_palette_offers_modes_and_themes() -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Go to Mirror lag" in titles
        assert {f"Theme: {n}" for n in THEME_NAMES} <= set(titles)
        app._set_theme("light")
        await pilot.pause()
        assert app.theme == "kdrtui-light"


def test_every_shipped_theme_loads_and_unknown_is_refused() -> None:
    for name in THEME_NAMES:
        theme = load_theme(name)
        assert theme.name == f"kdrtui-{name}"
        assert theme.primary and theme.background and theme.success and theme.error
    assert load_theme("light").dark is False
    with pytest.raises(ThemeError, match="unknown theme 'neon'"):
        load_theme("neon")
