"""Modal dialogs: help, confirmation, and the too-small-terminal notice."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """Every key that works where help was opened, with what it does."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__(id="help")
        self.keys = keys
        """(key as displayed, description) pairs, in binding order."""

    def compose(self) -> ComposeResult:
        width = max((len(k) for k, _ in self.keys), default=4) + 2
        lines = [f"[b]{escape(k):<{width}}[/b]{escape(d)}" for k, d in self.keys]
        with Vertical(id="help-box"):
            yield Static("[b]Keys[/b]   (Esc closes)", id="help-title")
            with VerticalScroll():
                yield Static("\n".join(lines), id="help-keys")


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; ``y`` confirms, ``n`` or Esc declines."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__(id="confirm")
        self.question = question
        """The question, plain text."""

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(escape(self.question), id="confirm-question")
            yield Static("[b]y[/b] yes    [b]n[/b] no", id="confirm-keys")

    def action_answer(self, answer: bool) -> None:
        """Close with the operator's answer."""
        self.dismiss(answer)


class TooSmallScreen(ModalScreen[None]):
    """Covers the console when the terminal is smaller than 80x24 (removed when it grows)."""

    BINDINGS = [Binding("q", "app.request_quit", "Quit", id="too-small.quit")]

    def compose(self) -> ComposeResult:
        yield Static(id="too-small-text")

    def on_mount(self) -> None:
        self.update_size()

    def on_resize(self) -> None:
        self.update_size()

    def update_size(self) -> None:
        """Say how big the terminal is and how big it needs to be."""
        width, height = self.app.size
        self.query_one("#too-small-text", Static).update(
            f"kdrtui needs a terminal of at least 80x24.\nThis one is {width}x{height}.\n\n"
            "Enlarge the window (or press q to quit)."
        )
