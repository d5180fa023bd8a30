"""How a plan fails over: its recovery objectives, how clients are switched, how the old primary is fenced."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

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
    NSG = "nsg"
    """A Network Security Group rule on the old primary's subnet denying the Kafka ports to ``client_cidrs``
    (the edge nodes and ``fence_allow_cidrs`` allowed above it): needs that region's Azure control plane
    only, not its brokers."""


KAFKA_FENCES = (FenceMethod.REJECT_WRITES, FenceMethod.ACL)
"""The fences the old primary's brokers apply (they need the brokers to answer); at most one per plan."""


def _one_fence(value: object) -> object:
    if value == "acls":  # the name before the fence read the ACLs: plans written then still load
        return FenceMethod.ACL.value
    if value == "min-isr":
        raise ValueError(
            "'min-isr' does not fence: brokers cap the effective min.insync.replicas at the replication "
            "factor, so acks=all writes still succeed; use 'reject-writes'"
        )
    return value


def _fence_value(value: object) -> object:
    """One method or a list of them (``"nsg"``, ``["acl", "nsg"]``), each read as :func:`_one_fence`."""
    if isinstance(value, list | tuple):
        return [_one_fence(item) for item in value]
    return _one_fence(value)


def _cidr(value: str) -> str:
    """An IPv4 or IPv6 network in CIDR notation without host bits (``10.2.0.0/16``, ``203.0.113.7/32``)."""
    from kdrtui.domain.safe_text import quoted

    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{quoted(value, 60)} is not a CIDR block like 10.2.0.0/16") from None
    if "/" not in value:
        raise ValueError(f"{quoted(value, 60)} needs a prefix length, e.g. {network.network_address}/32")
    if str(network) != value:
        raise ValueError(f"{quoted(value, 60)} has host bits set; did you mean {network}?")
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]
"""A CIDR block as an NSG rule takes it."""


class FailoverSettings(BaseModel):
    """How the failover and failback runbooks behave."""

    model_config = MODEL_CONFIG

    fence: Annotated[FenceMethod | list[FenceMethod], BeforeValidator(_fence_value)] = FenceMethod.NONE
    """none, reject-writes, acl or nsg, or a list of them (``["acl", "nsg"]``), applied in that order:
    how the old primary is kept from taking writes. reject-writes and acl need its brokers to answer;
    nsg needs only its region's Azure control plane."""
    client_cidrs: list[Cidr] = Field(default_factory=list)
    """fence "nsg": the client networks whose traffic to the Kafka ports the NSG rule denies."""
    fence_allow_cidrs: list[Cidr] = Field(default_factory=list)
    """fence "nsg": networks allowed through above the deny rule: kdrtui's own address (its machine or
    VPN range), and anything else that must keep reaching the old primary's brokers. The fenced
    cluster's own subnet (its brokers, and its edge nodes that run reverse replication) and the plan's
    other edge nodes are allowed without being listed."""
    drain_timeout_seconds: Annotated[StrictInt, Field(ge=1)] = 300
    """How long the drain step waits for the mirror lag to reach 0."""
    reverse_replication: StrictBool = True
    """Start mirroring back (new primary -> old primary, prefixed names) when the old primary is reachable."""
    fallback_rewind_seconds: Annotated[StrictInt, Field(ge=0)] = 300
    """A group with no checkpoint starts this many seconds before the failover (by record timestamps)."""

    @model_validator(mode="after")
    def _fences_fit(self) -> FailoverSettings:
        methods = self.fence if isinstance(self.fence, list) else [self.fence]
        if not methods:
            raise ValueError('fence: an empty list; write fence = "none" to fence nothing')
        if len(set(methods)) != len(methods):
            raise ValueError(f"fence: {', '.join(methods)} names a method twice")
        if FenceMethod.NONE in methods and len(methods) > 1:
            raise ValueError('fence: "none" cannot be combined with other methods')
        kafka = [m for m in methods if m in KAFKA_FENCES]
        if len(kafka) > 1:
            raise ValueError(
                "fence: reject-writes and acl both fence through the brokers; choose one "
                "(each can be combined with nsg)"
            )
        if FenceMethod.NSG in methods and not self.client_cidrs:
            raise ValueError(
                'client_cidrs: required with fence "nsg": the client networks the NSG rule denies the '
                'Kafka ports to, e.g. client_cidrs = ["10.0.1.0/24"]'
            )
        return self

    @property
    def fences(self) -> list[FenceMethod]:
        """The fence methods in the order they are applied; [] for none."""
        methods = self.fence if isinstance(self.fence, list) else [self.fence]
        return [m for m in methods if m != FenceMethod.NONE]

    @property
    def kafka_fence(self) -> FenceMethod | None:
        """The fence applied through the brokers (reject-writes or acl), None when there is none."""
        return next((m for m in self.fences if m in KAFKA_FENCES), None)

    @property
    def fence_text(self) -> str:
        """The fence as the plan says it: ``none``, ``acl``, ``acl + nsg``."""
        return " + ".join(self.fences) or str(FenceMethod.NONE)
