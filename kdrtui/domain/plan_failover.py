"""How a plan fails over: its recovery objectives, how clients are switched, how the old primary is fenced."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field, StrictBool, StrictInt, field_validator

from kdrtui.domain import azure_names, dns_names
from kdrtui.domain.plan_fields import MODEL_CONFIG, blank_to_none, rule


class SwitchMethod(StrEnum):
    """How clients are moved to the other cluster during failover."""

    NONE = "none"
    """kdrtui does not move clients; the runbook tells the operator to."""
    COMMAND = "command"
    """Run ``switch.command`` (a shell command) on the operator's machine."""
    DNS = "dns"
    """Clients resolve bootstrap servers through DNS that the operator repoints."""


class Objectives(BaseModel):
    """Recovery objectives and the lag thresholds the console colours by."""

    model_config = MODEL_CONFIG

    rpo_seconds: Annotated[StrictInt, Field(ge=1)] = 60
    """Recovery point objective: data loss tolerated, in seconds of lag."""
    rto_seconds: Annotated[StrictInt, Field(ge=1)] = 600
    """Recovery time objective: time allowed to fail over, in seconds."""
    lag_warn_seconds: Annotated[StrictInt, Field(ge=1)] = 30
    """Replication lag shown as a warning; less than lag_crit_seconds."""
    lag_crit_seconds: Annotated[StrictInt, Field(ge=1)] = 120
    """Replication lag shown as critical."""


class ClientSwitch(BaseModel):
    """How client applications are pointed at the other cluster on failover."""

    model_config = MODEL_CONFIG

    method: SwitchMethod = SwitchMethod.NONE
    """none, command or dns."""
    command: str = ""
    """Shell command, run for method = "command", that points clients at the other cluster."""
    zone: Annotated[str, rule(dns_names.zone_name)] | None = None
    """method = "dns": the Azure Private DNS zone (``kafka.contoso.internal``), linked to both clusters'
    VNets; required with "dns"."""
    record: Annotated[str, rule(dns_names.record_name)] = "bootstrap"
    """method = "dns": the record set, relative to the zone (``bootstrap`` -> ``bootstrap.<zone>``): A
    records of the active cluster's brokers' private IPs."""
    ttl_seconds: Annotated[StrictInt, Field(ge=1, le=dns_names.TTL_MAX)] = 10
    """method = "dns": the record's TTL; what a client's resolver may keep the old answer for."""
    resource_group: Annotated[str, rule(azure_names.resource_group_name)] | None = None
    """method = "dns": the resource group of the zone; default the secondary cluster's, whose region
    must answer when the primary's is out (ARM keeps a group's metadata in its region)."""

    addresses: dict[str, list[Annotated[str, rule(dns_names.ipv4_address)]]] = Field(default_factory=dict)
    """method = "dns": per cluster alias, the IPs the record holds while it is active; default the hosts
    of its ``bootstrap_servers`` (provisioning writes the brokers' private IPs there). Set it when kdrtui
    reaches the brokers by other addresses than clients do (a tunnel, the lab)."""

    @field_validator("zone", "resource_group", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return blank_to_none(value)


class FenceMethod(StrEnum):
    """How the old primary is kept from taking writes during a failover."""

    NONE = "none"
    """Nothing is fenced: applications must stop writing to the old primary themselves."""
    REJECT_WRITES = "reject-writes"
    """``max.message.bytes = 1`` on the mirrored topics: the brokers refuse every write, whatever its acks."""
    ACL = "acl"
    """DENY WRITE ACLs on the mirrored topics and on transactional ids for every principal allowed to write
    but kdrtui's and MirrorMaker's (needs an authorizer on the brokers). ``acls`` is read as ``acl``."""


def _fence_value(value: object) -> object:
    if value == "acls":  # the name before the fence read the ACLs: plans written then still load
        return FenceMethod.ACL.value
    if value == "min-isr":
        raise ValueError(
            "'min-isr' does not fence: brokers cap the effective min.insync.replicas at the replication "
            "factor, so acks=all writes still succeed; use 'reject-writes'"
        )
    return value


class FailoverSettings(BaseModel):
    """How the failover and failback runbooks behave."""

    model_config = MODEL_CONFIG

    fence: Annotated[FenceMethod, BeforeValidator(_fence_value)] = FenceMethod.NONE
    """none, reject-writes or acl: how the old primary is fenced when it is reachable."""
    drain_timeout_seconds: Annotated[StrictInt, Field(ge=1)] = 300
    """How long the drain step waits for the mirror lag to reach 0."""
    reverse_replication: StrictBool = True
    """Start mirroring back (new primary -> old primary, prefixed names) when the old primary is reachable."""
    fallback_rewind_seconds: Annotated[StrictInt, Field(ge=0)] = 300
    """A group with no checkpoint starts this many seconds before the failover (by record timestamps)."""
