"""The console on the SASL_SSL lab: the Overview, Mirror lag and Edge panes work as on the PLAINTEXT lab; a
wrong password, a wrong CA, a PLAINTEXT plan or an unreadable password is said on the cluster's card (and
in the lag pane's banner) as ``kdrtui status`` says it; last, no password in the console's log file, the
session's state or the lab's logs."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from logging.handlers import RotatingFileHandler
from pathlib import Path

import pytest
from textual.widgets import DataTable

from kdrtui.domain.health import Reachability
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.logging_setup import log_to_file
from kdrtui.services.plan_files import load_plan
from kdrtui.tui.app import KdrApp, make_app
from kdrtui.tui.screens.edge import EdgeScreen
from kdrtui.tui.screens.lag import LagScreen
from kdrtui.tui.widgets.cluster_card import ClusterCard
from tests.kafka_helpers import create_topic, produce_numbered
from tests.secret_scan import lab_files, lab_passwords, leaks, tree
from tests.secured_plans import wrong_plans
from tests.tui.pilot_helpers import shown_text, until

pytestmark = pytest.mark.lab

EDGE_ROW = "dr-edge-1/mm2-dr"
WRONG_PASSWORDS: list[str] = []
"""The wrong passwords this module's plans named."""


@pytest.fixture(scope="module")
def console_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The console's log file, as ``kdrtui console`` writes it (librdkafka's lines included), for this
    module's tests; the handler goes when the module is done."""
    root = logging.getLogger()
    level = root.level
    path = log_to_file(tmp_path_factory.mktemp("console-log") / "kdrtui.log")
    yield path
    for handler in [h for h in root.handlers if isinstance(h, RotatingFileHandler)]:
        if Path(handler.baseFilename) == path:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def card(app: KdrApp, alias: str) -> str:
    """What ``alias``'s card on the Overview shows."""
    return str(app.screen.query_one(f"#cluster-{alias}", ClusterCard).render())


def lag_row(app: KdrApp, topic: str) -> list[str] | None:
    """The cells of ``topic``'s row in the Mirror lag pane, or None."""
    table = app.screen.query_one("#lag-table", DataTable)
    for key in table.rows:
        cells = [str(cell) for cell in table.get_row(key)]
        if cells and cells[0] == topic:
            return cells
    return None


def edge_cell(app: KdrApp, column: str) -> str:
    """A cell of the lab's MirrorMaker row in the Edge pane ("" until the row is there)."""
    table = app.screen.query_one("#edge-table", DataTable)
    return str(table.get_cell(EDGE_ROW, column)) if EDGE_ROW in table.rows else ""


async def test_overview_lag_and_edge_panes_over_sasl_ssl(
    secured_lab: Lab, unique_name: str, console_log: Path
) -> None:
    plan = load_plan(secured_lab.plan_path)
    create_topic(secured_lab.bootstrap(PRIMARY), unique_name, partitions=2)
    produce_numbered(secured_lab.bootstrap(PRIMARY), unique_name, 30)
    app = make_app(plan, secured_lab.plan_path, refresh_interval=1.0, lag_interval=0.5)
    async with app.run_test(size=(120, 40)) as pilot:
        both_up = lambda: all(v.state is Reachability.UP for v in app.cluster_views.values())  # noqa: E731
        await until(pilot, both_up, timeout=30, what="both clusters UP")
        await pilot.pause()
        for alias in (PRIMARY, DR):
            text = card(app, alias)
            assert "● UP" in text and secured_lab.bootstrap(alias) in text and "brokers    1" in text, text

        await pilot.press("4")
        assert isinstance(app.screen, LagScreen)

        def numbers() -> bool:
            cells = lag_row(app, unique_name)
            return cells is not None and not cells[-1].endswith("?")

        await until(pilot, numbers, timeout=30, what=f"{unique_name}'s lag")
        assert shown_text(app, "#lag-banner") == "", "both clusters answer"

        await pilot.press("6")
        assert isinstance(app.screen, EdgeScreen)
        await until(pilot, lambda: edge_cell(app, "state") != "", timeout=30, what="the MirrorMaker row")
        assert "connected" in edge_cell(app, "ssh")
        assert any(s in edge_cell(app, "state") for s in ("not deployed", "stopped", "running"))


async def says_why(path: Path, reasons: dict[tuple[Path, str], str], *, lag_pane: bool) -> None:
    """The console on the wrong plan at ``path``: each card says its cluster's reason (and the lag pane's
    banner primary's, with ``lag_pane``)."""
    app = make_app(load_plan(path), path, refresh_interval=1.0, lag_interval=0.5)
    async with app.run_test(size=(120, 40)) as pilot:

        def said() -> bool:
            views = app.cluster_views.values()
            return all(v.state is Reachability.UNREACHABLE and v.last_error for v in views)

        await until(pilot, said, timeout=20, what="both clusters UNREACHABLE with a reason")
        await pilot.pause()
        for alias in (PRIMARY, DR):
            reason = reasons[(path, alias)]
            assert (app.cluster_views[alias].last_error or "").startswith(reason)
            assert reason in card(app, alias).replace("\n", " ")
        if lag_pane:
            await pilot.press("4")
            primary = reasons[(path, PRIMARY)]
            await until(pilot, lambda: primary in shown_text(app, "#lag-banner"), timeout=20)


async def test_the_card_says_why_for_each_wrong_setting(
    secured_lab: Lab, tmp_path: Path, console_log: Path
) -> None:
    wrong = wrong_plans(secured_lab, tmp_path)
    WRONG_PASSWORDS.append(wrong.wrong_password)
    assert wrong.unset not in os.environ
    try:
        await says_why(wrong.credentials, wrong.reasons, lag_pane=True)
        await says_why(wrong.protocol, wrong.reasons, lag_pane=False)
    finally:
        load_plan(secured_lab.plan_path)  # this process's clients connect as the lab's plan says again


def test_no_password_in_the_console_log_state_or_lab_logs(secured_lab: Lab, console_log: Path) -> None:
    """Last: the console's log file (librdkafka's lines about the failed logins included), the session's
    state and the lab's logs hold no password, the wrong ones included."""
    if not WRONG_PASSWORDS:
        pytest.skip("checks what the module's other tests left behind: run the whole module")
    assert console_log.stat().st_size > 0
    passwords = [*lab_passwords(secured_lab), *WRONG_PASSWORDS]
    files = [console_log, *lab_files(secured_lab), *tree(Path(os.environ["KDRTUI_STATE_DIR"]))]
    assert leaks(passwords, files) == []
