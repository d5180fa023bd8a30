"""A Static that repaints line by line: what a slow SSH link gets is the line that changed, not the card.

``Static.update`` marks the whole widget dirty, so one changed figure in a ten-line card rewrote all ten
lines (and the border) to the terminal. :meth:`LineStatic.paint` compares the new lines with the shown
ones: nothing changed, nothing happens; the same number of lines, each one row (``text-wrap: nowrap``, or
fitting the width), only the rows that changed are marked dirty (Textual then writes only those);
otherwise a full update with layout.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import RenderResult
from textual.content import Content
from textual.geometry import Region
from textual.widgets import Static


class LineStatic(Static):
    """A Static whose content is a list of lines drawn with :meth:`paint`."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._lines: tuple[Content, ...] | None = None
        self._keys: tuple[str, ...] = ()
        self._painted: Content | None = None

    def render(self) -> RenderResult:
        return self._painted if self._painted is not None else super().render()

    def paint(self, lines: Sequence[Content]) -> list[int] | None:
        """Show ``lines``; returns the rows repainted ([] when nothing changed, None for a full update)."""
        # Content's == compares the text only; its markup carries the styles as well.
        keys = tuple(line.markup for line in lines)
        if keys == self._keys and self._lines is not None:
            return []
        old, self._lines, self._keys = self._keys, tuple(lines), keys
        content = Content("\n").join(lines)
        # A line is a row when none wraps: the widget does not wrap (``text-wrap: nowrap``), or each fits.
        width = self.size.width
        single = all("\n" not in line.plain for line in lines)
        unwrapped = self.styles.text_wrap == "nowrap" or all(line.cell_length <= width for line in lines)
        fits = width > 0 and single and unwrapped
        if old and len(old) == len(keys) and fits and self.is_mounted:
            self._painted = content
            changed = [y for y, (was, now) in enumerate(zip(old, keys, strict=True)) if was != now]
            self.refresh(*(Region(0, y, width, 1) for y in changed))
            return changed
        self._painted = None
        self.update(content)
        return None
