"""The confirmation of a guarded operation: what it will do, and a name to type in full before it starts
(the target cluster's for a failover or failback, the plan's for provisioning)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from kdrtui.tui.text import theme_colour


class TypedConfirmScreen(ModalScreen[bool]):
    """The forecast, and a name to type in full; Enter with it starts, Esc cancels."""

    DEFAULT_CSS = """
    TypedConfirmScreen {
        align: center middle;
    }
    #typed-box {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: heavy $warning;
        background: $surface;
        padding: 0 1;
    }
    #typed-forecast {
        height: auto;
        max-height: 10;
        margin: 1 0;
    }
    #typed-input {
        margin: 1 0 0 0;
    }
    #typed-error {
        height: auto;
    }
    """
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

    def _colour(self, name: str) -> str:
        return theme_colour(self.app, name)

    def compose(self) -> ComposeResult:
        with Vertical(id="typed-box"):
            yield Static(Text(f"Start {self.title_text}?", style="bold"), id="typed-title")
            with VerticalScroll(id="typed-forecast"):
                yield Static(self.forecast, id="typed-forecast-text")
            if self.warning:
                yield Static(Text(self.warning, style=self._colour("error")), id="typed-warning")
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
            Text(f"type {self.target} to confirm", style=self._colour("error"))
        )
        event.input.value = ""

    def action_cancel(self) -> None:
        """Close without starting."""
        self.dismiss(False)
