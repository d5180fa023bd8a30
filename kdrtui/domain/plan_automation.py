"""The ``[automation]`` table: an opt-in failover policy that ``kdrtui watch`` runs.

Off unless ``enabled = true``. In ``advise`` mode it records and pages "would fail over now" and changes
nothing; in ``act`` mode it runs the same failover runbook an operator runs (lock, journal, audit with
``automation`` as the actor, the fence the plan allows, the report), then pages. The rules that involve
other tables (vantage points name DR edge nodes, the quorum fits them) are in
:mod:`kdrtui.domain.plan_rules`; the decision itself is :mod:`kdrtui.domain.automation`'s.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StrictInt, field_validator

from kdrtui.domain.plan_fields import MODEL_CONFIG, Text, blank_to_none

LOCAL_VANTAGE = "kdrtui"
"""The vantage point that is the machine ``kdrtui watch`` runs on (every other one names an edge node)."""


class AutomationMode(StrEnum):
    """What the policy does when every condition holds."""

    ADVISE = "advise"
    """Record and page "would fail over now"; change nothing."""
    ACT = "act"
    """Run the failover runbook, then page."""


class AutomationSettings(BaseModel):
    """The automated failover policy (``kdrtui watch``)."""

    model_config = MODEL_CONFIG

    enabled: StrictBool = False
    """Nothing is evaluated unless true."""
    mode: AutomationMode = AutomationMode.ADVISE
    """advise (record and page only) or act (run the failover runbook)."""
    hold_down_seconds: Annotated[StrictInt, Field(ge=5, le=86_400)] = 120
    """How long a quorum of vantage points must see the primary down, without a break, before it counts
    as an outage (a blip shorter than this changes nothing)."""
    vantage_points: list[Text] = Field(default_factory=lambda: [LOCAL_VANTAGE])
    """Where the primary is probed from: ``kdrtui`` (the machine running ``kdrtui watch``) and the names
    of the secondary cluster's edge nodes (a metadata request run on the node over SSH)."""
    quorum: Annotated[StrictInt, Field(ge=1)] | None = None
    """How many vantage points must see the primary down; default all of them."""
    max_rpo_records: Annotated[StrictInt, Field(ge=0)] = 0
    """The last known unmirrored records must be at most this many, else the policy only advises."""
    max_rpo_seconds: Annotated[StrictInt, Field(ge=0)] | None = None
    """The last known mirror lag in seconds must be at most this, else it only advises; default the
    plan's ``[objectives] rpo_seconds``."""
    cooldown_seconds: Annotated[StrictInt, Field(ge=0)] = 3600
    """No automatic failover within this many seconds of the end of any failover or failback."""
    probe_interval_seconds: Annotated[StrictInt, Field(ge=1, le=600)] = 5
    """How often each vantage point is asked."""
    probe_timeout_seconds: Annotated[StrictInt, Field(ge=1, le=120)] = 10
    """How long one probe may take before it counts as "primary down" from there."""
    alert_command: str | None = None
    """A shell command run on the watch machine to page (its stdin: the decision as JSON; its
    environment: ``KDRTUI_AUTOMATION_STATE``, ``KDRTUI_AUTOMATION_TEXT``); none: decisions go to the
    timeline and the log only."""

    @field_validator("alert_command", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return blank_to_none(value)

    @property
    def needed(self) -> int:
        """How many vantage points must see the primary down."""
        return self.quorum if self.quorum is not None else len(self.vantage_points)
