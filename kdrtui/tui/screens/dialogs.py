"""Modal dialogs: help, a yes/no confirmation, the typed confirmation of a guarded operation, where to write
the plan, and the too-small-terminal notice."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from kdrtui.tui.helpers import ConsoleNode


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
        lines = [Content.from_markup("[b]$key[/b]$what", key=f"{k:<{width}}", what=d) for k, d in self.keys]
        with Vertical(id="help-box"):
            yield Static("[b]Keys[/b]   (Esc closes)", id="help-title")
            with VerticalScroll():
                yield Static(Content("\n").join(lines), id="help-keys")


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
            yield Static(Content(self.question), id="confirm-question")
            yield Static("[b]y[/b] yes    [b]n[/b] no", id="confirm-keys")

    def action_answer(self, answer: bool) -> None:
        """Close with the operator's answer."""
        self.dismiss(answer)


class TypedConfirmScreen(ConsoleNode, ModalScreen[bool]):
    """The forecast, and a name to type in full; Enter with it starts, Esc cancels."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("escape", "cancel", "Cancel", id="typed-confirm.cancel"),
    ]

    def __init__(
        self,
        title: str,
        forecast: Text,
        target: str,
        warning: str = "",
        *,
        what: str = "the target cluster's name",
        placeholder: str = "target cluster name",
    ) -> None:
        super().__init__(id="typed-confirm")
        self.title_text = title
        """What would start, e.g. ``failover primary -> dr``."""
        self.forecast = forecast
        """The newest pre-flight forecast."""
        self.target = target
        """The name to type."""
        self.warning = warning
        """Shown above the prompt (e.g. a NO-GO forecast)."""
        self.what = what
        """What ``target`` is, for the prompt."""
        self.placeholder = placeholder
        """The empty input's hint."""

    def compose(self) -> ComposeResult:
        with Vertical(id="typed-box"):
            yield Static(Text(f"Start {self.title_text}?", style="bold"), id="typed-title")
            with VerticalScroll(id="typed-forecast"):
                yield Static(self.forecast, id="typed-forecast-text")
            if self.warning:
                yield Static(Text(self.warning, style=self.colour("error")), id="typed-warning")
            yield Static(
                Text(f"Type {self.what} ({self.target}) in full, then Enter; Esc cancels."),
                id="typed-prompt",
            )
            yield Input(placeholder=self.placeholder, id="typed-input")
            yield Static("", id="typed-error")

    def on_mount(self) -> None:
        self.query_one("#typed-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value == self.target:
            self.dismiss(True)
            return
        self.query_one("#typed-error", Static).update(
            Text(f"type {self.target} to confirm", style=self.colour("error"))
        )
        event.input.value = ""

    def action_cancel(self) -> None:
        """Close without starting."""
        self.dismiss(False)


class PathScreen(ModalScreen[str | None]):
    """Where to write the plan: an Input prefilled with the default path; Enter writes, Esc cancels."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("escape", "cancel", "Cancel", id="wizard-path.cancel"),
    ]

    def __init__(self, default: str) -> None:
        super().__init__(id="wizard-path")
        self.default = default
        """The path offered."""

    def compose(self) -> ComposeResult:
        with Vertical(id="wiz-path-box"):
            yield Static(Text("Write the plan to (Enter writes, Esc cancels):", style="bold"))
            yield Input(self.default, id="wiz-path-input")

    def on_mount(self) -> None:
        self.query_one("#wiz-path-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        """Close without writing."""
        self.dismiss(None)


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
