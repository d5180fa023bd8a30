"""Text the panes draw themselves: theme colours for Rich ``Text``, and names shortened to fit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.cells import cell_len, get_character_cell_size
from rich.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from rich.console import Console, ConsoleOptions
    from rich.segment import Segment
    from textual.app import App

ELLIPSIS = "…"
"""What stands for the characters a shortened name leaves out."""


def theme_colour(app: App[object], name: str) -> str:
    """The Rich style of theme colour ``name`` (``success``, ``warning``, ``error``…): ``""`` for no colour,
    the dimmed foreground for ``text-muted``, the foreground for a name the theme lacks."""
    if not name:
        return ""
    theme = app.current_theme
    if name == "text-muted":
        return f"dim {theme.foreground or ''}".strip()
    return str(getattr(theme, name, None) or theme.foreground or "")


def _take(chars: Iterable[str], cells: int) -> str:
    """The leading characters of ``chars`` that fit in ``cells`` terminal cells."""
    taken: list[str] = []
    used = 0
    for char in chars:
        size = get_character_cell_size(char)
        if used + size > cells:
            break
        taken.append(char)
        used += size
    return "".join(taken)


def middle_ellipsis(name: str, width: int) -> str:
    """``name`` in at most ``width`` terminal cells: its start and its end kept, the middle replaced by
    ``…`` — so topics or groups that share a long prefix (or suffix) still look different.

    ``middle_ellipsis("orders-eu-west-archive", 12)`` is ``"orders…chive"``.
    """
    if cell_len(name) <= width:
        return name
    if width <= 1:
        return ELLIPSIS[: max(width, 0)]
    room = width - 1
    head = _take(name, (room + 1) // 2)
    tail = _take(reversed(name), room - cell_len(head))[::-1]
    return f"{head}{ELLIPSIS}{tail}"


def fit_names(width: int, template: str, *names: str, least: int = 12) -> str:
    """``template.format(*names)`` in at most ``width`` cells, by shortening the names (with
    :func:`middle_ellipsis`), the longest first; the template's own text is kept whole.

    Each name keeps at least ``least`` cells (or its whole self), so a template longer than ``width``
    can still overflow: draw the result with an ellipsis at the end as well.
    """
    fixed = cell_len(template.format(*("" for _ in names)))
    budget = max(width - fixed, least * len(names))
    sizes = {i: cell_len(name) for i, name in enumerate(names)}
    allowed: dict[int, int] = {}
    for count, i in enumerate(sorted(sizes, key=sizes.__getitem__)):
        share = budget // (len(names) - count)
        allowed[i] = min(sizes[i], max(share, least))
        budget -= allowed[i]
    return template.format(*(middle_ellipsis(name, allowed[i]) for i, name in enumerate(names)))


def fit_line(line: str, width: int, least: int = 12) -> str:
    """``line`` in at most ``width`` cells, by shortening its longest words (a topic or group name) with
    :func:`middle_ellipsis` down to ``least`` cells each, so the words around them stay whole; a line of
    many long words is then shortened in the middle as a whole."""
    excess = cell_len(line) - width
    if excess <= 0:
        return line
    words = line.split(" ")
    for index in sorted(range(len(words)), key=lambda i: -cell_len(words[i])):
        size = cell_len(words[index])
        if excess <= 0 or size <= least:
            break
        cut = min(excess, size - least)
        words[index] = middle_ellipsis(words[index], size - cut)
        excess -= cut
    return middle_ellipsis(" ".join(words), width)


class MiddleEllipsisText(Text):
    """A one-line ``Text`` that shortens itself to the width it is drawn in with :func:`middle_ellipsis`
    (table cells whose column width changes, e.g. the topic column of a wide terminal)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        width = options.max_width
        if self.cell_len <= width:
            yield from super().__rich_console__(console, options)
            return
        short = self.copy()
        short.plain = middle_ellipsis(self.plain, width)
        yield from Text.__rich_console__(short, console, options)
