"""The console's panes as ``scripts/screenshots.py`` pictures them: which there are (the mode bar's), what
the terminal shows (read back from Textual's SVG screenshots), when each pane shows live figures, and the
short incident played before the Timeline's picture.

Every wait here is on a condition, with a deadline: never a fixed sleep.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kdrtui.tui.widgets.mode_bar import MODE_TABS

TRAFFIC_PARTITIONS = 3
"""Partitions of each topic the traffic writes to."""
TRAFFIC_TOPICS = tuple(f"orders-{i}" for i in range(4))
"""The topics the traffic writes to (``kdrtui lab traffic --prefix orders``)."""
watched_topics: list[str] = list(TRAFFIC_TOPICS)
"""The topics the Mirror lag pane's picture waits for: those of the traffic running on the lab (the
script sets them when it reuses another generator, e.g. ``kdrtui demo``'s ``demo-<i>``)."""
TREND_SAMPLES = 4
"""Refreshes (2 s apart) the Mirror lag pane's trend column shows before its picture is taken."""


@dataclass(frozen=True)
class Pane:
    """One pane of the console and its picture."""

    key: str
    """The key that shows it."""
    mode: str
    """The console's mode name (``overview``, ``lag``...)."""
    label: str
    """Its name on the mode bar."""

    @property
    def image(self) -> str:
        """The picture's path relative to the repository (what the README links)."""
        return f"docs/images/{self.mode}.svg"


def panes() -> list[Pane]:
    """Every pane of the mode bar, in its order."""
    return [Pane(key, mode, label) for key, mode, label in MODE_TABS]


# -- what the terminal shows ----------------------------------------------------------------------

_SVG_TEXT = re.compile(r'<text [^>]*?x="([\d.]+)"[^>]*?clip-path="url\(#[\w-]*?line-(\d+)\)">([^<]*)</text>')
"""One run of text in Rich's SVG export: x (12.2 per cell), row, characters (HTML-escaped)."""


def svg_lines(svg: str, width: int, height: int) -> list[str]:
    """The terminal's rows as text, read from one of Textual's SVG screenshots."""
    rows = [[" "] * width for _ in range(height)]
    for x, line, chars in _SVG_TEXT.findall(svg):
        column = round(float(x) / 12.2)
        for i, char in enumerate(html.unescape(chars).replace("\xa0", " ")):
            if int(line) < height and column + i < width:
                rows[int(line)][column + i] = char
    return ["".join(row).rstrip() for row in rows]


def svg_text(svg: str) -> str:
    """Every character an SVG screenshot draws, unescaped (what a secret scan must look at)."""
    return "".join(html.unescape(chars).replace("\xa0", " ") for _, _, chars in _SVG_TEXT.findall(svg))


# -- when a pane is ready -------------------------------------------------------------------------

Waiting = Callable[[Any, str, float], str | None]
"""(app, screen text, when the pane was shown) -> what the pane still waits for, or None when it shows
live figures read since it was shown."""


def _overview(app: Any, text: str, since: float) -> str | None:
    from kdrtui.domain.health import Reachability

    down = [a for a, v in app.cluster_views.items() if v.state is not Reachability.UP]
    if down:
        return f"clusters UP ({', '.join(down)} not yet)"
    if text.count("● UP") < len(app.cluster_views):
        return "every cluster card drawn UP"
    _, checked_at, _ = app.screen.readiness
    if checked_at is None or checked_at < since:
        # The card's last check may predate MirrorMaker's mirrors: check again (`c`; one at a time).
        app.screen.action_check_readiness()
        return "the Readiness card's check of the lab as it is now"
    if "checking…" in text:
        return "the Readiness card's findings drawn"
    return None


def _wizard(app: Any, text: str, since: float) -> str | None:
    return None if "RPO" in text else "the topologies compared"


def _provisioning(app: Any, text: str, since: float) -> str | None:
    return None if getattr(app.screen, "dry_run_at", None) is not None else "the dry run"


def _lag(app: Any, text: str, since: float) -> str | None:
    missing = [t for t in watched_topics if t not in text]
    if missing:
        return f"the traffic's topics in the table ({', '.join(missing)} not yet)"
    rows = [line.split() for line in text.splitlines()]
    rows = [row for row in rows if row[:1] and row[0] in watched_topics]
    if any("?" in cell for row in rows for cell in row):
        return "every figure of the topics known (no '?')"
    # topic, partitions, source end, mirrored, lag, lag s, in/s, trend, health
    if any(len(row) < 9 or row[6] in ("0", "0.0") or len(row[7]) < TREND_SAMPLES for row in rows):
        return f"records coming in (in/s) and {TREND_SAMPLES} refreshes in the trend"
    if any(row[-1] != "OK" for row in rows):
        return "every topic mirrored (health OK)"
    return None


def _failover(app: Any, text: str, since: float) -> str | None:
    forecast = getattr(app.screen, "forecast", None)
    if forecast is None or forecast.result is None or forecast.at is None or forecast.at < since:
        return "the pre-flight's verdict"
    return None if "GO" in text else "the verdict drawn"


def _edge(app: Any, text: str, since: float) -> str | None:
    if "running" not in text:
        return "MirrorMaker running"
    if "connected" not in text:
        return "SSH connected"
    if not re.search(r"\b([1-9]\d*)/\1\b", text):
        return "MirrorMaker's tasks running (n/n)"
    log = app.screen.query("#edge-log")
    if not log or log.first().line_count < 3:
        return "MirrorMaker's log followed"
    return None


def _timeline(app: Any, text: str, since: float) -> str | None:
    reading = getattr(app.screen, "reading", None)
    if reading is None or reading.end < since or not app.screen.drawn:
        return "the timeline read"
    if reading.events and not app.screen.query_one("#tl-events").row_count:
        return "the events drawn"
    return None


def recovered_since(started: float) -> Waiting:
    """The Timeline's wait after :func:`incident` (begun at ``started``, the app's clock): its events
    include a recovery to OK recorded since."""

    def ready(app: Any, text: str, since: float) -> str | None:
        waiting = _timeline(app, text, since)
        events = app.screen.reading.events if waiting is None else ()
        if waiting is None and not any(e.at >= started and "-> OK" in e.text for e in events):
            app.screen.action_read_now()  # the console's writer thread may have just written it
            return "the incident's recovery in the timeline"
        return waiting

    return ready


def _any(app: Any, text: str, since: float) -> str | None:
    """A pane this script does not know yet: ready once it draws more than its frame."""
    body = [line for line in text.splitlines()[1:-1] if line.strip()]
    return None if len(body) >= 3 else "the pane drawn"


READY: dict[str, Waiting] = {
    "overview": _overview,
    "wizard": _wizard,
    "provisioning": _provisioning,
    "lag": _lag,
    "failover": _failover,
    "edge": _edge,
    "timeline": _timeline,
}
"""What each known pane waits for before its picture is taken; others wait for :func:`_any`."""


async def until(
    pilot: Any, awaited: Callable[[str], str | None], size: tuple[int, int], timeout: float
) -> str:
    """Let the console run until ``awaited(screen text)`` is None; return the SVG screenshot then. Fails
    after ``timeout`` seconds, with what it waited for and what the terminal shows."""
    started = time.monotonic()
    while True:
        svg: str = pilot.app.export_screenshot(title=f"kdrtui — {pilot.app.screen.__class__.__name__}")
        lines = svg_lines(svg, *size)
        waiting = awaited("\n".join(lines))
        if waiting is None:
            return svg
        if time.monotonic() - started > timeout:
            shown = "\n".join(lines)
            raise SystemExit(
                f"screenshots: {waiting}: not within {timeout:.0f} s; the terminal shows:\n{shown}"
            )
        await pilot.pause(0.25)


async def show(
    pilot: Any, pane: Pane, size: tuple[int, int], timeout: float, ready: Waiting | None = None
) -> None:
    """Press ``pane``'s key and let the console run until the pane is ready (``ready``, else its
    :data:`READY`, else :func:`_any`)."""
    app = pilot.app
    since = app.services.clock()
    await pilot.press(pane.key)
    check = ready or READY.get(pane.mode, _any)

    def awaited(text: str) -> str | None:
        waiting = "the pane" if app.current_mode != pane.mode else check(app, text, since)
        return None if waiting is None else f"{pane.label}: {waiting}"

    await until(pilot, awaited, size, timeout)


def mode(name: str) -> Pane:
    """The pane of mode ``name``."""
    return next(p for p in panes() if p.mode == name)


def _mm_state(text: str) -> str:
    """The state the Edge pane's table shows for the lab's MirrorMaker (node, deploy, ssh, state...)."""
    rows = [line.split() for line in text.splitlines()]
    return next((row[3] for row in rows if len(row) > 4 and row[1].startswith("mm2-")), "")


async def confirm(pilot: Any, key: str, size: tuple[int, int], timeout: float) -> None:
    """Press ``key`` (an action behind a yes/no question), then ``y``."""
    from kdrtui.tui.screens.dialogs import ConfirmScreen

    await pilot.press(key)
    asked = lambda _: None if isinstance(pilot.app.screen, ConfirmScreen) else "the question"  # noqa: E731
    await until(pilot, asked, size, timeout)
    await pilot.press("y")


def _stopped(app: Any, text: str, since: float) -> str | None:
    return None if _mm_state(text) == "stopped" else "MirrorMaker stopped"


def _unhealthy(app: Any, text: str, since: float) -> str | None:
    return None if re.search(r"· (WARN|CRIT|STALLED|STOPPED)\b", text) else "the flow unhealthy"


async def incident(pilot: Any, size: tuple[int, int], timeout: float) -> Waiting:
    """A short real incident for the Timeline to show: MirrorMaker stopped from the Edge pane (``x``),
    until the Mirror lag pane shows the flow unhealthy, then started again (``s``) until it is OK.
    Returns what the Timeline then waits for: the recovery in its events."""
    edge, lag = mode("edge"), mode("lag")
    started = pilot.app.services.clock()
    await show(pilot, edge, size, timeout)
    await confirm(pilot, "x", size, timeout)
    await show(pilot, edge, size, timeout, _stopped)
    await show(pilot, lag, size, timeout, _unhealthy)
    await show(pilot, edge, size, timeout, _stopped)
    await confirm(pilot, "s", size, timeout)
    await show(pilot, edge, size, timeout)
    await show(pilot, lag, size, timeout)
    return recovered_since(started)
