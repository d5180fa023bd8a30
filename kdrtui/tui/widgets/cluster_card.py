"""One cluster's live state as a bordered card on the Overview pane."""

from __future__ import annotations

import time

from textual.content import Content
from textual.markup import escape
from textual.widgets import Static

from kdrtui.domain.health import ClusterView, Reachability, format_age

_LABEL_WIDTH = 11


def format_clock(ts: float) -> str:
    """Local wall-clock time of day, as an on-call engineer reads it."""
    return time.strftime("%H:%M:%S", time.localtime(ts))


def _row(label: str, value_markup: str) -> str:
    return f"[dim]{label:<{_LABEL_WIDTH}}[/dim]{value_markup}"


class ClusterCard(Static):
    """Renders a :class:`ClusterView`; repaints only when what it shows has changed."""

    def __init__(self, alias: str, *, region: str, role: str, bootstrap: str) -> None:
        super().__init__(id=f"cluster-{alias}", classes="cluster-card connecting")
        self.alias = alias
        """The cluster's alias in the plan."""
        self.bootstrap = bootstrap
        """Bootstrap servers, as the plan lists them."""
        self.border_title = escape(f"{alias} · {region}")
        self.border_subtitle = role
        self._shown: str | None = None

    def render_view(self, view: ClusterView, now: float) -> str:
        """The card's text as Textual markup (pure: used by :meth:`show` and by tests)."""
        ok = view.last_ok
        down_since = ""
        if view.state is Reachability.UP:
            status = "[b $success]● UP[/]"
        elif view.state is Reachability.UNREACHABLE:
            since = view.unreachable_since or now
            status = "[b $error]✖ UNREACHABLE[/]"
            down_since = f"{format_clock(since)} ({format_age(now - since)} ago)"
        elif not self.bootstrap:
            status = "[dim]○ no bootstrap servers in the plan[/dim]"
        else:
            status = "[dim]○ connecting…[/dim]"
        stale = " [$warning](stale)[/]" if view.state is not Reachability.UP and ok is not None else ""
        controller = "-" if ok is None or ok.controller_id is None else f"broker {ok.controller_id}"
        age = view.data_age(now)
        age_text = format_age(age)
        if stale:
            age_text = f"[b $warning]{age_text}[/]"
        lines = [_row("state", status)]
        if down_since:
            lines.append(_row("since", down_since))
        lines += [
            _row("bootstrap", escape(self.bootstrap or "-")),
            _row("brokers", (str(ok.brokers) if ok else "-") + (stale if ok else "")),
            _row("controller", controller + (stale if ok else "")),
            _row("topics", (str(ok.topics) if ok else "-") + (stale if ok else "")),
            _row("cluster id", escape(ok.cluster_id or "-") if ok else "-"),
            _row("data age", age_text),
        ]
        if view.state is Reachability.UNREACHABLE and view.last_error:
            lines.append(_row("error", f"[dim]{escape(view.last_error)}[/dim]"))
        return "\n".join(lines)

    def show(self, view: ClusterView, now: float) -> None:
        """Draw ``view`` as of ``now``; a no-op when the visible text would not change."""
        markup = self.render_view(view, now)
        if markup == self._shown:
            return
        self._shown = markup
        self.set_class(view.state is Reachability.UP, "up")
        self.set_class(view.state is Reachability.UNREACHABLE, "unreachable")
        self.set_class(view.state is Reachability.CONNECTING, "connecting")
        self.update(Content.from_markup(markup))
