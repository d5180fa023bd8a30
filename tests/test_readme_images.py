"""The README's pictures of the console: ``scripts/screenshots.py`` (its panes in
``scripts/screenshot_panes.py``) takes one per pane of the mode bar, every picture the README links
exists, and no picture is left over from a pane that is gone.

Cheap (no lab): the pictures themselves are taken on the lab by ``make screenshots``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kdrtui.tui.widgets.mode_bar import MODE_TABS
from scripts import screenshot_panes

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
IMAGES = ROOT / "docs" / "images"
LINK = re.compile(r"\]\(\s*(docs/images/[^)\s]+\.svg)\s*(?:\"[^\"]*\")?\)")
"""A markdown image or link to a picture under docs/images (``![Overview](docs/images/overview.svg)``)."""


def readme_pictures(text: str) -> list[str]:
    """The ``docs/images/*.svg`` paths a README links, in order."""
    return LINK.findall(text)


def test_the_script_takes_a_picture_of_every_pane_of_the_mode_bar() -> None:
    panes = screenshot_panes.panes()
    assert [(p.key, p.mode, p.label) for p in panes] == list(MODE_TABS)
    assert [p.image for p in panes] == [f"docs/images/{mode}.svg" for _, mode, _ in MODE_TABS]
    # Every pane it knows how to wait for is still a pane (a renamed mode would fall back silently).
    assert set(screenshot_panes.READY) <= {mode for _, mode, _ in MODE_TABS}


def test_every_picture_the_readme_links_exists() -> None:
    linked = readme_pictures(README.read_text(encoding="utf-8"))
    missing = [path for path in linked if not (ROOT / path).is_file()]
    assert not missing, f"README.md links pictures that do not exist (make screenshots): {missing}"
    for path in linked:
        assert (ROOT / path).read_text(encoding="utf-8").lstrip().startswith("<svg"), path


def test_no_picture_is_left_from_a_pane_that_is_gone() -> None:
    modes = {mode for _, mode, _ in MODE_TABS}
    stale = sorted(p.name for p in IMAGES.glob("*.svg") if p.stem not in modes) if IMAGES.is_dir() else []
    assert not stale, f"docs/images has pictures of no pane: {stale}"


def test_the_readme_links_are_found() -> None:
    text = (
        "![Overview](docs/images/overview.svg)\n"
        '![Mirror lag]( docs/images/lag.svg "the lag pane")\n'
        "[the picture](docs/images/edge.svg) and ![elsewhere](images/x.svg) and ![png](docs/images/a.png)"
    )
    assert readme_pictures(text) == [
        "docs/images/overview.svg",
        "docs/images/lag.svg",
        "docs/images/edge.svg",
    ]


def test_the_pictures_are_read_back_as_the_terminal_showed_them() -> None:
    # Rich's SVG: each run of text at x = 12.2 per cell, clipped to its row.
    svg = (
        '<svg><text class="r1" x="0" y="20" textLength="24.4" clip-path="url(#term-line-0)">ab</text>'
        '<text class="r2" x="36.6" y="20" textLength="24.4" clip-path="url(#term-line-0)">c&#160;d</text>'
        '<text class="r1" x="12.2" y="44" textLength="12.2" clip-path="url(#term-line-1)">&lt;</text></svg>'
    )
    assert screenshot_panes.svg_lines(svg, 10, 3) == ["ab c d", " <", ""]
    assert screenshot_panes.svg_text(svg) == "abc d<"


def test_a_picture_showing_a_secret_is_deleted_and_fails_the_run(tmp_path: Path) -> None:
    from scripts import screenshots

    picture = tmp_path / "overview.svg"
    svg = '<svg><text x="0" y="20" clip-path="url(#t-line-0)">login&#160;s3cr3t-pw!</text></svg>'
    picture.write_text(svg, encoding="utf-8")
    screenshots.check_secrets(picture, svg, ["other-secret"])  # nothing of it shown: kept
    assert picture.exists()
    with pytest.raises(SystemExit, match=re.escape("overview.svg showed s3c…; deleted it")):
        screenshots.check_secrets(picture, svg, ["s3cr3t-pw!"])
    assert not picture.exists()


LAG_SCREEN = """\
 1 Overview 2 Wizard 3 Provision 4 Mirror lag 5 Failover 6 Edge 7 Timeline
 active: primary · RPO if you fail over now: 6 records / 0.4s
 primary→dr heartbeat 0.0s · lag 6 rec · worst 0.4s · OK
 topic           prt  src end  repl     lag     lag s   in/s   trend   health
{rows}
/ Filter o Sort g Groups esc Back r Refresh ? Help q Quit           ▏^p palette"""


def lag_screen(*cells: tuple[str, str, str]) -> str:
    """The Mirror lag pane's text with one row per traffic topic: (in/s, trend, health)."""
    rows = [
        f" {topic}          3      131      129       2    0.4s    {rate}  {trend}  {health}"
        for topic, (rate, trend, health) in zip(screenshot_panes.TRAFFIC_TOPICS, cells, strict=False)
    ]
    return LAG_SCREEN.format(rows="\n".join(rows))


def test_the_mirror_lag_picture_waits_for_every_topic_mirrored_with_a_trend() -> None:
    lag = screenshot_panes.READY["lag"]
    good = ("5.0", "▆▆▇▇█▁", "OK")
    assert lag(None, lag_screen(good, good, good, good), 0.0) is None
    assert "orders-3" in str(lag(None, lag_screen(good, good, good), 0.0))
    assert "in/s" in str(lag(None, lag_screen(good, good, ("0", "▆▆▇▇", "OK"), good), 0.0))
    assert "trend" in str(lag(None, lag_screen(good, good, ("5.0", "▁", "OK"), good), 0.0))
    assert "OK" in str(lag(None, lag_screen(good, ("5.0", "▆▆▇▇", "STOPPED"), good, good), 0.0))
    assert "'?'" in str(lag(None, lag_screen(good, good, good, ("?", "▆▆▇▇", "OK")), 0.0))
