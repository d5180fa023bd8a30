"""One cluster's live state as a bordered card on the Overview pane."""

from __future__ import annotations

import time

from textual.content import Content

from kdrtui.domain.health import ClusterObservation, ClusterView, Reachability, coarse_age
from kdrtui.tui.widgets.line_static import LineStatic

_LABEL_WIDTH = 11


def format_clock(ts: float) -> str:
    """Local wall-clock time of day, as an on-call engineer reads it."""
    return time.strftime("%H:%M:%S", time.localtime(ts))


def _row(label: str, value: str, **values: object) -> Content:
    """One line of the card: ``label`` dimmed, then ``value`` — Textual markup whose ``$name``s are
    ``values``, which are never read as markup (an error message's ``[/]`` is shown as it is)."""
    return Content.from_markup(f"[dim]$label[/dim]{value}", label=f"{label:<{_LABEL_WIDTH}}", **values)


def _count(value: int | None, bad: str) -> str:
    """Markup of a count: plain when 0, in the theme's ``bad`` colour otherwise, ``?`` when unknown."""
    if value is None:
        return "[$warning]?[/]"
    return str(value) if value == 0 else f"[b ${bad}]{value}[/]"


def _health_rows(ok: ClusterObservation | None, stale: str) -> list[Content]:
    """``brokers 2/3 · controller 1``, ``partitions URP 14 · offline 0`` and ``< min ISR 0`` (each
    row fits the card at 80 columns); dashes before the first answer."""
    if ok is None:
        return [
            _row("brokers", "-"),
            _row("partitions", "-"),
            _row("< min ISR", "-"),
        ]
    up = f"[b $warning]{ok.brokers}[/]" if ok.missing_brokers else str(ok.brokers)
    controller = ok.controller_text()
    return [
        _row(
            "brokers",
            f"{up}/$expected · controller $controller{stale}",
            expected=ok.expected_text(),
            controller=controller,
        ),
        _row(
            "partitions",
            f"URP {_count(ok.under_replicated, 'warning')} · offline {_count(ok.offline, 'error')}",
        ),
        _row("< min ISR", _count(ok.under_min_isr, "error")),
    ]


class ClusterCard(LineStatic):
    """Renders a :class:`ClusterView`; repaints only the lines whose text changed.

    Ages are coarse (:func:`~kdrtui.domain.health.coarse_age`): a cluster answering every refresh reads
    ``data age < 5 s`` and its card is not repainted at all; older data is shown in 5 s steps, so a
    refresh that stopped shows within 5 s (and a cluster that stops answering is marked stale at once).
    """

    def __init__(self, alias: str, *, region: str, role: str, bootstrap: str, security: str = "") -> None:
        super().__init__(id=f"cluster-{alias}", classes="cluster-card connecting")
        self.alias = alias
        """The cluster's alias in the plan."""
        self.bootstrap = bootstrap
        """Bootstrap servers, as the plan lists them."""
        self.security = security
        """How kdrtui connects (``SASL_SSL as admin``); empty for PLAINTEXT."""
        self.border_title = Content(f"{alias} · {region}")
        self.border_subtitle = role

    def render_view(self, view: ClusterView, now: float) -> list[Content]:
        """The card's lines (pure: used by :meth:`show` and by tests)."""
        ok = view.last_ok
        down_since = ""
        answers = view.state in (Reachability.UP, Reachability.DEGRADED)
        if view.state is Reachability.UP:
            status = "[b $success]● UP[/]"
        elif view.state is Reachability.DEGRADED:
            status = "[b $warning]▲ DEGRADED[/]"
        elif view.state is Reachability.UNREACHABLE:
            since = view.unreachable_since or now
            status = "[b $error]✖ UNREACHABLE[/]"
            down_since = f"{format_clock(since)} ({coarse_age(now - since, fresh=0)} ago)"
        elif not self.bootstrap:
            status = "[dim]○ no bootstrap servers in the plan[/dim]"
        else:
            status = "[dim]○ connecting…[/dim]"
        stale = " [$warning](stale)[/]" if not answers and ok is not None else ""
        age = "[b $warning]$age[/]" if stale else "$age"
        lines = [_row("state", status)]
        if down_since:
            lines.append(_row("since", "$since", since=down_since))
        lines += [
            _row("bootstrap", "$servers", servers=self.bootstrap or "-"),
            *([_row("security", "$security", security=self.security)] if self.security else []),
            *_health_rows(ok, stale),
            _row("topics", "$topics" + (stale if ok else ""), topics=str(ok.topics) if ok else "-"),
            _row("cluster id", "$cluster_id", cluster_id=(ok.cluster_id or "-") if ok else "-"),
            _row("data age", age, age=coarse_age(view.data_age(now))),
        ]
        if view.state is Reachability.UNREACHABLE and view.last_error:
            lines.append(_row("error", "[dim]$last_error[/dim]", last_error=view.last_error))
        return lines

    def show(self, view: ClusterView, now: float) -> None:
        """Draw ``view`` as of ``now``: a no-op when no line would change, else only the changed lines."""
        self.paint(self.render_view(view, now))
        self.set_class(view.state is Reachability.UP, "up")
        self.set_class(view.state is Reachability.DEGRADED, "degraded")
        self.set_class(view.state is Reachability.UNREACHABLE, "unreachable")
        self.set_class(view.state is Reachability.CONNECTING, "connecting")
