"""The README's pictures of the console: ``scripts/screenshots.py`` takes one per pane of the mode bar,
every picture the README links exists, and no picture is left over from a pane that is gone.

Cheap (no lab): the pictures themselves are taken on the lab by ``make screenshots``.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from kdrtui.tui.widgets.mode_bar import MODE_TABS

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "screenshots.py"
README = ROOT / "README.md"
IMAGES = ROOT / "docs" / "images"
LINK = re.compile(r"\]\(\s*(docs/images/[^)\s]+\.svg)\s*(?:\"[^\"]*\")?\)")
"""A markdown image or link to a picture under docs/images (``![Overview](docs/images/overview.svg)``)."""


@pytest.fixture(scope="module")
def script() -> ModuleType:
    """``scripts/screenshots.py`` as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("screenshots_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def readme_pictures(text: str) -> list[str]:
    """The ``docs/images/*.svg`` paths a README links, in order."""
    return LINK.findall(text)


def test_the_script_takes_a_picture_of_every_pane_of_the_mode_bar(script: ModuleType) -> None:
    panes = script.panes()
    assert [(p.key, p.mode, p.label) for p in panes] == list(MODE_TABS)
    assert [p.image for p in panes] == [f"docs/images/{mode}.svg" for _, mode, _ in MODE_TABS]
    # Every pane it knows how to wait for is still a pane (a renamed mode would fall back silently).
    assert set(script.READY) <= {mode for _, mode, _ in MODE_TABS}


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


def test_the_pictures_are_read_back_as_the_terminal_showed_them(script: ModuleType) -> None:
    # Rich's SVG: each run of text at x = 12.2 per cell, clipped to its row.
    svg = (
        '<svg><text class="r1" x="0" y="20" textLength="24.4" clip-path="url(#term-line-0)">ab</text>'
        '<text class="r2" x="36.6" y="20" textLength="24.4" clip-path="url(#term-line-0)">c&#160;d</text>'
        '<text class="r1" x="12.2" y="44" textLength="12.2" clip-path="url(#term-line-1)">&lt;</text></svg>'
    )
    assert script.svg_lines(svg, 10, 3) == ["ab c d", " <", ""]
    assert script.svg_text(svg) == "abc d<"
