"""What every screen and widget of the console shares: the typed way to the app, its clock and the theme's
colours (:class:`ConsoleNode`), and how a time of day is written (:func:`clock_text`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

from kdrtui.tui.text import theme_colour

if TYPE_CHECKING:
    from textual.message_pump import MessagePump

    from kdrtui.tui.console import KdrConsole
    from kdrtui.tui.factories import ConsoleServices

    _Node = MessagePump
else:
    _Node = object


def clock_text(at: float) -> str:
    """``HH:MM:SS`` local time."""
    return time.strftime("%H:%M:%S", time.localtime(at))


class ConsoleNode(_Node):
    """Mixed into the console's screens and widgets (before the Textual class): the app, typed."""

    @property
    def kdr_app(self) -> KdrConsole:
        """The running console (posting's ``cast("Posting", self.app)``), as the panes see it."""
        return cast("KdrConsole", self.app)

    @property
    def services(self) -> ConsoleServices:
        """The app's factories, clock and intervals."""
        return self.kdr_app.services

    def now(self) -> float:
        """The app's wall clock (a test's fixed time)."""
        return self.kdr_app.services.clock()

    def colour(self, name: str) -> str:
        """The Rich style of the theme colour ``name`` (``success``, ``warning``, ``error``…)."""
        return theme_colour(self.app, name)
