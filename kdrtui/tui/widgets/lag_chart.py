"""The Timeline pane's lag-over-time chart: a block chart per flow, drawn from the per-minute lag summary.

Why a block chart of text and not a plotting widget (textual-plotext was tried, at 80x24 over a pty):

* **Bytes on a slow link.** :class:`LagChart` draws with Textual's line API and repaints only the rows
  whose text changed. Measured in a pseudo-terminal at 80x24 (xterm-256color), a 60-point chart whose
  newest point grows every 2 s: textual-plotext writes ~2.9 KB per update (its whole canvas, axes and
  ticks), the same block chart as one ``Static`` ~2.1 KB, this widget 220 B when one row changes and
  ~1.7 KB when a new peak rescales every row (~480 B/s against ~1,450 B/s). All three write nothing
  while nothing changes; the first paint of the screen was ~12 KB here, ~20 KB with plotext.
* **Fits 80x24.** Sixty columns of eighth-height blocks (``▁▂▃▄▅▆▇█``) stacked over five rows give 40
  levels in 7 + 60 columns, with a title line and an x axis: 7 rows. In the same 7 rows plotext keeps 3
  rows of braille for the data (its title, frame and tick labels take the rest), and its tick labels
  (``6266.7``) move whenever the data moves.
* **Gaps stay gaps.** A bucket without any sample is drawn as ``·`` on the baseline, never as a zero;
  plotext's line joins the points on either side of a gap.
* **Colour means health.** Each column takes the theme colour of the worst health in its bucket.
* **No extra dependency.** textual-plotext 1.0.1 (its latest release) no longer imports with plotext 6
  (``plotext._dict`` is gone); it would pin plotext below 6.

The last hour is 60 columns of one minute; the last day is 60 columns of 24 minutes (the worst minute of
each). Buckets are aligned to multiples of their width, so a quiet day chart moves only every 24 minutes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from kdrtui.domain.timeline import LagMinute, health_rank, minute_of
from kdrtui.tui.widgets.live_tables import compact

COLUMNS = 60
"""Columns of the chart (buckets), whatever the window."""
STEPS = {"hour": 60.0, "day": 1440.0}
"""Seconds each column covers, per window."""
WINDOW_TEXT = {"hour": "last hour", "day": "last 24 h"}
"""How each window is named on screen."""
UNITS = ("records", "seconds")
"""What the y axis counts (``u`` toggles)."""
LABEL_WIDTH = 6
"""Cells of the y axis labels."""
EIGHTHS = " ▁▂▃▄▅▆▇█"
"""Eighth-height blocks, nothing first."""
GAP = "·"
"""A bucket without any sample, on the baseline."""
HEALTH_COLOUR = {
    "OK": "success",
    "IDLE": "success",
    "WARN": "warning",
    "CRIT": "error",
    "STALLED": "error",
    "STOPPED": "error",
    "LOST": "secondary",
}
"""Theme colour of each health name (as the Mirror lag pane colours them)."""


@dataclass(frozen=True, slots=True)
class Bucket:
    """One column of the chart."""

    at: float
    """Epoch seconds of the bucket's start."""
    value: float | None
    """Worst lag in the bucket (records or seconds); None when no minute of it has a sample."""
    health: str | None
    """Worst health of the bucket's minutes; None without samples."""
    peak_at: float | None = None
    """Start of the minute the worst lag was seen in."""


def window_end(now: float, step: float) -> float:
    """End of the chart (exclusive): the current minute included, rounded up to a multiple of ``step``."""
    return math.ceil((minute_of(now) + 60.0) / step) * step


def buckets(
    rows: Sequence[LagMinute], end: float, step: float, unit: str, count: int = COLUMNS
) -> list[Bucket]:
    """``count`` buckets of ``step`` seconds ending at ``end``, each the worst of its minutes."""
    start = end - count * step
    slots: list[list[LagMinute]] = [[] for _ in range(count)]
    for row in rows:
        index = int((row.minute - start) // step)
        if 0 <= index < count:
            slots[index].append(row)
    out: list[Bucket] = []
    for index, minutes in enumerate(slots):
        at = start + index * step
        if not minutes:
            out.append(Bucket(at, None, None))
            continue
        worst = max(minutes, key=lambda r: (_value(r, unit), -r.minute))
        health = max((r.health for r in minutes), key=health_rank)
        out.append(Bucket(at, _value(worst, unit), health, worst.minute))
    return out


def _value(row: LagMinute, unit: str) -> float:
    return float(row.max_seconds if unit == "seconds" else row.max_records)


def axis_value(value: float, unit: str) -> str:
    """A y axis label in at most :data:`LABEL_WIDTH` cells: ``9.4k`` records, ``42s``, ``2.5m``, ``1.2h``,
    ``12d``."""
    if unit != "seconds":
        return compact(value)
    # Days only from ten of them (up to 240 h reads better in hours).
    for limit, size, suffix in ((864_000.0, 86_400.0, "d"), (3600.0, 3600.0, "h"), (60.0, 60.0, "m")):
        if value >= limit:
            scaled = value / size
            return f"{scaled:.1f}{suffix}" if scaled < 10 else f"{scaled:.0f}{suffix}"
    return f"{value:.1f}s" if 0 < value < 10 and not float(value).is_integer() else f"{value:.0f}s"


def exact_value(value: float, unit: str) -> str:
    """A figure as it was recorded: ``9,400`` records, ``188.0 s``."""
    return f"{value:.1f} s" if unit == "seconds" else f"{int(value):,}"


def hhmm(at: float) -> str:
    """``HH:MM`` UTC."""
    return f"{int(at // 3600) % 24:02d}:{int(at // 60) % 60:02d}"


def chart_lines(
    flow: str,
    columns: Sequence[Bucket],
    *,
    unit: str,
    window: str,
    height: int,
    colour: Callable[[str], str],
) -> list[Text]:
    """The chart of one flow: a title, ``height`` rows of bars with the y axis, the x axis with times."""
    values = [b.value for b in columns if b.value is not None]
    top = max(values, default=0.0)
    muted = colour("text-muted")
    title = Text(f"{flow} · lag in {unit} · {WINDOW_TEXT[window]}", style="bold")
    if not values:
        title.append(f" · no lag recorded in the {WINDOW_TEXT[window]}", style=muted)
    else:
        peak = next(b for b in columns if b.value == top)
        when = hhmm(peak.peak_at if peak.peak_at is not None else peak.at)
        title.append(" · peak ")
        title.append(
            f"{exact_value(top, unit)} at {when} UTC", style=colour(HEALTH_COLOUR.get(peak.health or "", ""))
        )
    lines = [title]
    levels = height * 8
    for row in reversed(range(height)):
        if row == height - 1:
            # A window caught up throughout has its 0 at the bottom only (not a second 0 on top).
            label = "-" if not values else axis_value(top, unit) if top > 0 else ""
        elif row == 0:
            label = axis_value(0, unit)
        else:
            label = ""
        cells = [(f"{label:>{LABEL_WIDTH}}{'┤' if label else '│'}", muted)]
        cells += [_cell(bucket, row, top, levels, colour) for bucket in columns]
        lines.append(_merged(cells))
    lines.append(_x_axis(columns, muted))
    return lines


def _cell(bucket: Bucket, row: int, top: float, levels: int, colour: Callable[[str], str]) -> tuple[str, str]:
    """(character, style) of ``bucket``'s column on chart row ``row`` (0 is the bottom row)."""
    if bucket.value is None:
        return (GAP if row == 0 else " "), colour("text-muted")
    level = 0 if bucket.value <= 0 or top <= 0 else max(1, round(bucket.value / top * levels))
    fill = level - row * 8
    char = EIGHTHS[8] if fill >= 8 else EIGHTHS[max(fill, 0)]
    return char, colour(HEALTH_COLOUR.get(bucket.health or "", ""))


def _merged(cells: Sequence[tuple[str, str]]) -> Text:
    """The (text, style) ``cells`` as one line, neighbouring runs of one style joined (blanks join any
    run): fewer colour changes, fewer bytes on the wire."""
    out = Text()
    run, style = "", ""
    for text, cell_style in cells:
        if run and (text.strip() == "" or cell_style == style):
            run += text
            continue
        if run:
            out.append(run, style=style)
        run, style = text, cell_style
    if run:
        out.append(run, style=style)
    return out


def _x_axis(columns: Sequence[Bucket], muted: str) -> Text:
    """``└`` and a rule under the columns, ``now`` at its end and the start and middle times on it (each
    only where it fits without touching another label)."""
    width = len(columns)
    rule = list("─" * width)
    taken: list[tuple[int, int]] = []
    marks = [(width - 3, "now")]
    if columns:
        marks += [(0, hhmm(columns[0].at)), (width // 2, hhmm(columns[width // 2].at))]
    for position, label in marks:
        span = (position, position + len(label))
        if position < 0 or span[1] > width or any(a <= span[1] and span[0] <= b for a, b in taken):
            continue
        taken.append(span)
        rule[span[0] : span[1]] = list(label)
    return Text(" " * LABEL_WIDTH + "└" + "".join(rule), style=muted)


class LagChart(Widget):
    """Lines of text drawn with the line API: :meth:`show` repaints only the lines that changed."""

    DEFAULT_CSS = """
    LagChart { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[Text] = []
        """What the chart shows, one Text per row."""
        self.repainted = 0
        """Rows repainted so far (tests check an unchanged chart repaints nothing)."""

    def show(self, lines: list[Text]) -> None:
        """Draw ``lines``; only rows that differ from what is shown are repainted."""
        old, self.lines = self.lines, lines
        if len(old) != len(lines):
            self.styles.height = len(lines)
            self.repainted += len(lines)
            self.refresh(layout=True)
            return
        width = max(self.size.width, 1)
        for y, (before, after) in enumerate(zip(old, lines, strict=True)):
            if before != after:
                self.repainted += 1
                self.refresh(Region(0, y, width, 1))

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return len(self.lines)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        text = self.lines[y].copy()
        text.no_wrap = True
        text.overflow = "ellipsis"
        text.truncate(width, overflow="ellipsis")
        segments = [
            Segment(s.text, self.rich_style + s.style if s.style else self.rich_style)
            for s in text.render(self.app.console)
        ]
        return Strip(segments).crop_extend(0, width, self.rich_style)
