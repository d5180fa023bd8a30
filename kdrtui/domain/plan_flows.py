"""What a plan mirrors: its flows from one cluster to another and, for cold standby, their schedules."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StrictInt, field_validator, model_validator

from kdrtui.domain.plan_fields import MODEL_CONFIG, Pattern, Text, rule
from kdrtui.domain.safe_text import quoted
from kdrtui.domain.schedule import CronError, parse_cron, shortest_gap_minutes


class Naming(StrEnum):
    """How mirrored topics are named on the target."""

    PREFIXED = "prefixed"
    """``DefaultReplicationPolicy``: ``orders`` on A becomes ``A.orders`` on B; prevents cycles."""
    IDENTITY = "identity"
    """``IdentityReplicationPolicy``: names are kept; one direction at a time only."""


class MirrorMakerKind(StrEnum):
    """Which MirrorMaker runs a flow."""

    MM2 = "mm2"
    """MirrorMaker 2 (Connect based): checkpoints, offset translation, heartbeats."""
    MM1 = "mm1"
    """Legacy MirrorMaker 1 (Kafka up to 3.9): a consumer/producer pair, names kept."""


def _cron(text: str) -> str | None:
    try:
        parse_cron(text)
    except CronError as exc:
        return str(exc)
    except ValueError:  # int() refuses a number of more than 4,300 digits
        return f"'{text}' holds a number far too long for a minute, hour, day or month"
    return None


class Schedule(BaseModel):
    """When MirrorMaker runs for a cold-standby flow: every N minutes for M minutes, or a cron expression."""

    model_config = MODEL_CONFIG

    every_minutes: Annotated[StrictInt, Field(ge=1, le=10080)] | None = None
    """Start a batch every this many minutes."""
    run_minutes: Annotated[StrictInt, Field(ge=1, le=1440)] | None = None
    """How long each batch runs; less than every_minutes."""
    cron: Annotated[str, rule(_cron)] | None = None
    """A 5-field cron expression for the start of each batch (instead of every_minutes)."""

    @model_validator(mode="after")
    def _one_way(self) -> Schedule:
        if self.cron is None and self.every_minutes is None:
            raise ValueError("give every_minutes (with run_minutes) or cron")
        if self.cron is not None and self.every_minutes is not None:
            raise ValueError("give every_minutes or cron, not both")
        if self.run_minutes is None:
            raise ValueError("run_minutes is required: how long each batch runs")
        if self.every_minutes is not None and self.run_minutes >= self.every_minutes:
            raise ValueError(
                f"run_minutes ({self.run_minutes}) must be less than every_minutes ({self.every_minutes})"
            )
        if self.cron is not None:
            gap = shortest_gap_minutes(parse_cron(self.cron))
            if self.run_minutes >= gap:
                raise ValueError(
                    f"run_minutes ({self.run_minutes}) must be less than the shortest time between two "
                    f"starts of cron {quoted(self.cron)} ({gap} min), or batches would overlap"
                )
        return self


class MirrorFlow(BaseModel):
    """Replication of topics and consumer-group offsets from one cluster to another."""

    model_config = MODEL_CONFIG

    source: Text
    """Alias of the cluster mirrored from."""
    target: Text
    """Alias of the cluster mirrored into."""
    topics: list[Pattern] = [".*"]
    """Regular expressions of the topics to mirror."""
    topics_exclude: list[Pattern] = []
    """Regular expressions of topics not to mirror."""
    groups: list[Pattern] = [".*"]
    """Regular expressions of the consumer groups whose offsets are translated."""
    groups_exclude: list[Pattern] = []
    """Regular expressions of groups not to translate."""
    naming: Naming = Naming.PREFIXED
    """prefixed (A.orders) or identity (orders); default identity for mm1 flows."""
    mirrormaker: MirrorMakerKind = MirrorMakerKind.MM2
    """mm2 or mm1."""
    sync_group_offsets: StrictBool = True
    """MM2: write translated offsets into the target's consumer groups (only groups with no active
    members there), so consumers that fail over resume near where they were."""
    emit_checkpoints_seconds: Annotated[StrictInt, Field(ge=1)] = 10
    """MM2: seconds between consumer-group checkpoints (and group offset syncs)."""
    refresh_seconds: Annotated[StrictInt, Field(ge=1)] = 30
    """Seconds between looks for new topics and groups on the source (MM2's topic and group refresh;
    MM1's consumer metadata refresh)."""
    flush_seconds: Annotated[StrictInt, Field(ge=1)] = 10
    """Seconds between commits of the replicated position (MM2's offset flush on the target, MM1's
    offset commit): how much is re-sent after a restart."""
    schedule: Schedule | None = None
    """Cold standby: run MirrorMaker in scheduled batches instead of all the time."""
    tasks: Annotated[StrictInt, Field(ge=1, le=1000)] | None = None
    """MM2: ``tasks.max``, how many tasks copy the flow's partitions (default 1 on one edge node, one
    per node when several edge nodes of the target run it); tasks are spread over those nodes."""

    @model_validator(mode="before")
    @classmethod
    def _mm1_keeps_names(cls, data: object) -> object:
        # MirrorMaker 1 cannot rename topics, so its natural default is identity naming.
        if isinstance(data, dict) and "naming" not in data and data.get("mirrormaker") == "mm1":
            return {**data, "naming": Naming.IDENTITY.value}
        return data

    @field_validator("topics")
    @classmethod
    def _some_topics(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError('must list at least one pattern; [".*"] mirrors every topic')
        return value

    @property
    def name(self) -> str:
        """``source->target``, the name MirrorMaker 2 gives the flow."""
        return f"{self.source}->{self.target}"
