"""Questions SSH asks the operator: trust a new host key, and a key's passphrase (kept in memory only)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class HostKeyScreen(ModalScreen[bool]):
    """First contact with an edge node: show the fingerprint, ask whether to trust it."""

    BINDINGS = [
        Binding("y", "answer(True)", "Trust", id="hostkey.trust"),
        Binding("n,escape", "answer(False)", "Refuse", id="hostkey.refuse"),
    ]

    def __init__(self, host: str, port: int, key_type: str, fingerprint: str) -> None:
        super().__init__(id="hostkey")
        self.host, self.port, self.key_type, self.fingerprint = host, port, key_type, fingerprint

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            # What the node sent is a template value: never read as markup.
            yield Static(
                Content.from_markup(
                    "[b]Unknown host key[/b] for $host:$port\n\n"
                    "$key_type key fingerprint:\n  [b]$fingerprint[/b]\n\n"
                    "Compare it with the node's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) before "
                    "trusting it. Trusted keys are added to the plan's known_hosts.",
                    host=self.host,
                    port=self.port,
                    key_type=self.key_type,
                    fingerprint=self.fingerprint,
                )
            )
            yield Static("[b]y[/b] trust    [b]n[/b] refuse", id="confirm-keys")

    def action_answer(self, answer: bool) -> None:
        """Close with the operator's answer."""
        self.dismiss(answer)


class PassphraseScreen(ModalScreen[str | None]):
    """Ask for an SSH key's passphrase; it lives in memory for this session only."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="passphrase.cancel")]

    def __init__(self, key_file: str) -> None:
        super().__init__(id="passphrase")
        self.key_file = key_file

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            prompt = "Passphrase for [b]$key_file[/b] (kept in memory only):"
            yield Static(Content.from_markup(prompt, key_file=self.key_file))
            yield Input(password=True, id="passphrase-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value or None)

    def action_cancel(self) -> None:
        """Give up; the node stays unreachable until the key is loaded into ssh-agent."""
        self.dismiss(None)
