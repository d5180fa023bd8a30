"""Typed messages that workers post to the UI (``post_message`` is thread-safe)."""

from __future__ import annotations

from textual.message import Message

from kdrtui.domain.health import ClusterObservation


class ClusterObserved(Message):
    """A probe of one cluster finished (successfully or not)."""

    def __init__(self, alias: str, observation: ClusterObservation) -> None:
        super().__init__()
        self.alias = alias
        """The cluster's alias in the plan."""
        self.observation = observation
        """What the probe saw."""
