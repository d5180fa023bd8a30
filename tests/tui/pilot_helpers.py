"""Waiting inside a running Textual app: on a condition, with a deadline (never a fixed sleep)."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import App
from textual.widgets import DataTable, RichLog, Static

from kdrtui.tui.screens.dialogs import TypedConfirmScreen
from kdrtui.tui.screens.lag import LagScreen
from kdrtui.tui.screens.provisioning import ProvisioningScreen


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


async def hide_and_show(pilot: Any, source: Any, key: str = "4") -> int:
    """Leave the pane for the Overview and check ``source`` is not refreshed meanwhile (at most once, a
    refresh that was already under way), then come back with ``key``; return the count while hidden."""
    await pilot.press("1")
    await pilot.pause(0.1)
    calls: int = source.calls
    await pilot.pause(0.3)
    assert source.calls <= calls + 1
    await pilot.press(key)
    return calls


async def open_lag(pilot: Any, app: App[Any], rows: int = 3) -> None:
    """Show the Mirror lag pane (key 4) and wait until its topic table has ``rows`` rows."""
    await pilot.press("4")
    await until(pilot, lambda: isinstance(app.screen, LagScreen))
    await until(pilot, lambda: data_table(app, "#lag-table").row_count == rows, what=f"{rows} rows")


async def show_failover(pilot: Any, ops: Any) -> None:
    """Show the Failover pane (key 5) and wait for its first GO forecast from ``ops`` (a
    :class:`tests.tui.fake_runs.FakeOperations`)."""
    await pilot.press("5")
    await until(
        pilot, lambda: ops.forecasts >= 1 and "GO" in shown_text(pilot.app, "#fo-forecast"), what="forecast"
    )
    await pilot.pause()


async def show_provisioning(pilot: Any) -> None:
    """Show the Provisioning pane (key 3) and wait for its dry run."""
    await pilot.press("3")

    def read() -> bool:
        screen = pilot.app.screen
        return isinstance(screen, ProvisioningScreen) and screen.dry_run_at is not None

    await until(pilot, read, what="dry run")
    await pilot.pause()


async def confirm_typed(pilot: Any, key: str, name: str) -> None:
    """Press ``key`` (a start behind a typed confirmation), then type ``name`` and Enter."""
    await pilot.press(key)
    await until(pilot, lambda: isinstance(pilot.app.screen, TypedConfirmScreen), what="confirmation")
    await pilot.press(*name, "enter")


def log_text(app: App[Any], log_id: str) -> str:
    """The lines a RichLog on the current screen holds, one per row."""
    return "\n".join(strip.text for strip in app.screen.query_one(log_id, RichLog).lines)


def toasts(app: App[Any]) -> list[str]:
    """The text of each notification on screen now, as it is drawn."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]


def shown_text(app: App[Any], widget_id: str) -> str:
    """What a Static on the current screen shows; ``""`` while it is hidden."""
    widget = app.screen.query_one(widget_id, Static)
    return str(widget.render()) if widget.display else ""


def data_table(app: App[Any], table_id: str) -> DataTable[Text]:
    """A DataTable on the current screen."""
    return app.screen.query_one(table_id, DataTable)


def row_keys(app: App[Any], table_id: str) -> list[str]:
    """The keys of a DataTable's rows, in the order shown."""
    return [str(r.key.value) for r in data_table(app, table_id).ordered_rows]


def row_cells(app: App[Any], key: str, table_id: str) -> list[str]:
    """The plain text of each cell of one row."""
    return [c.plain for c in data_table(app, table_id).get_row(key)]


_SVG_TEXT = re.compile(r'<text [^>]*?x="([\d.]+)"[^>]*?clip-path="url\(#[\w-]*?line-(\d+)\)">([^<]*)</text>')
"""One run of text in Rich's SVG export: x (12.2 per cell), row, characters (HTML-escaped)."""


def screen_lines(app: App[Any]) -> list[str]:
    """What the terminal shows now, one string per row (read from the app's own SVG screenshot)."""
    width, height = app.size
    rows = [[" "] * width for _ in range(height)]
    for x, line, chars in _SVG_TEXT.findall(app.export_screenshot()):
        column = round(float(x) / 12.2)
        for i, char in enumerate(html.unescape(chars).replace("\xa0", " ")):
            if int(line) < height and column + i < width:
                rows[int(line)][column + i] = char
    return ["".join(row).rstrip() for row in rows]
