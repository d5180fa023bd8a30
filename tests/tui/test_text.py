"""Names shortened to fit (``kdrtui.tui.text``): pure functions, no app."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.padding import Padding

from kdrtui.tui.text import MiddleEllipsisText, fit_line, fit_names, middle_ellipsis


@pytest.mark.parametrize(
    ("name", "width", "shown"),
    [
        ("orders", 6, "orders"),
        ("orders-eu-west-archive", 12, "orders…chive"),
        ("orders-eu-west-archive", 2, "o…"),
        ("orders-eu-west-archive", 1, "…"),
        ("orders-eu-west-archive", 0, ""),
        ("日本語のトピック名です", 9, "日本…です"),  # double-width characters never overflow
    ],
)
def test_middle_ellipsis_keeps_the_start_and_the_end(name: str, width: int, shown: str) -> None:
    assert middle_ellipsis(name, width) == shown
    assert cell_len(shown) <= width


def test_names_sharing_a_long_prefix_stay_apart() -> None:
    prefix = "x" * 290
    assert middle_ellipsis(f"{prefix}-orders", 14) != middle_ellipsis(f"{prefix}-payments", 14)


def test_fit_names_shortens_the_long_names_and_keeps_the_template_and_short_ones() -> None:
    title = fit_names(60, "{} → {} ({}): partitions", "a" * 300, "primary." + "a" * 300, "primary->dr")
    assert cell_len(title) <= 60
    assert title.endswith(" (primary->dr): partitions") and title.count("…") == 2


def test_fit_line_shortens_the_long_word_and_keeps_the_rest_whole() -> None:
    line = f"  group {'g' * 300} on orders: checkpoint 3 s old"
    fitted = fit_line(line, 60)
    assert cell_len(fitted) == 60
    assert fitted.startswith("  group ggg") and fitted.endswith("g on orders: checkpoint 3 s old")
    assert fit_line("short enough", 60) == "short enough"


def test_a_middle_ellipsis_cell_shortens_itself_to_the_width_it_is_drawn_in() -> None:
    console = Console(width=80)
    cell = MiddleEllipsisText("x" * 50 + "-payments", no_wrap=True, overflow="ellipsis")
    for width, expected in ((20, " xxxxxxxxx…payments "), (12, " xxxxx…ents ")):
        lines = console.render_lines(Padding(cell, (0, 1)), console.options.update_width(width))
        assert ["".join(segment.text for segment in line) for line in lines] == [expected]
