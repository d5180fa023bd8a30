"""The NSG fence as data: which rules it adds to the old primary's subnet, and how an NSG decides a flow.

Pure: REST-shaped security rules (``properties.access``, ``priority``, ``sourceAddressPrefixes``...) in,
decisions out. The fence's service (:mod:`kdrtui.services.azure.nsg`) builds and verifies its rules with
these functions, and the lab's emulator enforces NSGs on its brokers' gated client path with
:func:`decide` — so what the lab enforces is what the fence verifies, by one evaluation.

How Azure evaluates inbound rules (Microsoft Learn, "Network security groups: how it works"): by priority,
lowest number first, the first rule matching protocol, source, source port, destination and destination
port decides; below every custom rule (100-4096) come the default rules AllowVnetInBound (65000),
AllowAzureLoadBalancerInBound (65001) and DenyAllInBound (65500). A rule change applies to new flows;
flows already open are re-evaluated only when the NSG has ``flushConnection`` enabled.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kdrtui.domain.plan import Cluster, Plan

RULE_PREFIX = "kdrtui-fence-"
"""Every rule the fence adds is named with this prefix (and failback deletes exactly the ones recorded)."""
ALLOW_RULE = RULE_PREFIX + "allow"
DENY_RULE = RULE_PREFIX + "deny-clients"
OPEN_RULE = RULE_PREFIX + "open-inbound"
"""Only in an NSG the fence created: allows every other inbound flow, as the subnet did with no NSG."""
OPEN_PRIORITY = 4096
HDINSIGHT_KAFKA_PORTS = (9092, 9093)
"""HDInsight's brokers: 9092 (PLAINTEXT) and 9093 (the TLS listener of its TLS guide)."""
FIRST_PRIORITY = 100
LAST_PRIORITY = 4096

DEFAULT_INBOUND: tuple[dict[str, Any], ...] = tuple(
    {
        "name": name,
        "properties": {
            "protocol": "*",
            "sourceAddressPrefix": source,
            "sourcePortRange": "*",
            "destinationAddressPrefix": destination,
            "destinationPortRange": "*",
            "access": access,
            "priority": priority,
            "direction": "Inbound",
        },
    }
    for name, source, destination, access, priority in (
        ("AllowVnetInBound", "VirtualNetwork", "VirtualNetwork", "Allow", 65000),
        ("AllowAzureLoadBalancerInBound", "AzureLoadBalancer", "*", "Allow", 65001),
        ("DenyAllInBound", "*", "*", "Deny", 65500),
    )
)
"""Azure's default inbound rules, below every custom rule."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def kafka_ports(cluster: Cluster) -> list[int]:
    """The ports the fence denies: HDInsight's Kafka listeners and every port of the plan's bootstrap."""
    ports = set(HDINSIGHT_KAFKA_PORTS)
    for server in cluster.bootstrap_servers:
        _host, _, port = server.rpartition(":")
        if port.isdigit():
            ports.add(int(port))
    return sorted(ports)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def allowed_sources(plan: Plan, alias: str) -> list[str]:
    """The networks allowed above the deny rule on ``alias``'s subnet, each once, in this order:

    - the cluster's own ``subnet_cidr``: its brokers replicate to each other on the Kafka ports, and its
      edge nodes (HDInsight puts them in the cluster's subnet) run the reverse replication;
    - every other edge node of the plan: its ``host`` when that is an IP address, else its cluster's
      ``subnet_cidr`` (an HDInsight edge node's ``host`` is its public SSH name; its address is in there);
    - ``[failover] fence_allow_cidrs`` (kdrtui's own address).
    """
    found: list[str] = []

    def add(cidr: str | None) -> None:
        if cidr and cidr not in found:
            found.append(cidr)

    add(plan.cluster(alias).subnet_cidr)
    for node in plan.edge_nodes:
        if _is_address(node.host):
            address = ipaddress.ip_address(node.host)
            if not address.is_loopback:  # the lab's nodes: 127.0.0.1 is no network address in Azure
                add(f"{address}/{address.max_prefixlen}")
        else:
            add(plan.cluster(node.cluster).subnet_cidr)
    for cidr in plan.failover.fence_allow_cidrs:
        add(cidr)
    return found


def free_priorities(rules: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """Two consecutive priorities for (allow, deny), below every inbound rule already there when there is
    room (a rule decides before any with a higher number), else the lowest two free."""
    taken = {
        int(_props(rule).get("priority") or 0)
        for rule in rules
        if str(_props(rule).get("direction", "Inbound")).lower() == "inbound"
        and not str(rule.get("name", "")).startswith(RULE_PREFIX)
    }
    below = min(taken, default=LAST_PRIORITY + 1)
    pairs = [p for p in range(FIRST_PRIORITY, LAST_PRIORITY) if p not in taken and p + 1 not in taken]
    under = [p for p in pairs if p + 1 < below]
    if under:
        return under[0], under[0] + 1
    if not pairs:
        raise ValueError("the NSG has no two consecutive free inbound priorities between 100 and 4096")
    return pairs[0], pairs[0] + 1


def fence_rules(plan: Plan, alias: str, priorities: tuple[int, int]) -> list[dict[str, Any]]:
    """The allow rule (edge nodes, kdrtui, the cluster's subnet) and the deny rule (``client_cidrs``) on
    the Kafka ports, TCP, inbound, as securityRules PUT bodies with their names."""
    ports = [str(p) for p in kafka_ports(plan.cluster(alias))]
    allow, deny = priorities

    def rule(name: str, access: str, priority: int, sources: list[str], what: str) -> dict[str, Any]:
        return {
            "name": name,
            "properties": {
                "description": what,
                "protocol": "Tcp",
                "sourceAddressPrefixes": sources,
                "sourcePortRange": "*",
                "destinationAddressPrefix": "*",
                "destinationPortRanges": ports,
                "access": access,
                "priority": priority,
                "direction": "Inbound",
            },
        }

    return [
        rule(
            ALLOW_RULE,
            "Allow",
            allow,
            allowed_sources(plan, alias),
            f"kdrtui fence of {alias}: brokers, edge nodes and kdrtui keep the Kafka ports",
        ),
        rule(
            DENY_RULE,
            "Deny",
            deny,
            list(plan.failover.client_cidrs),
            f"kdrtui fence of {alias}: clients may not reach the Kafka ports until failback",
        ),
    ]


def open_rule() -> dict[str, Any]:
    """The last rule of an NSG the fence creates: every inbound flow allowed, as with no NSG at all (the
    default DenyAllInBound would otherwise cut HDInsight's management traffic on 443 and SSH on 22)."""
    return {
        "name": OPEN_RULE,
        "properties": {
            "description": "kdrtui: this NSG only fences the Kafka ports; everything else as without it",
            "protocol": "*",
            "sourceAddressPrefix": "*",
            "sourcePortRange": "*",
            "destinationAddressPrefix": "*",
            "destinationPortRange": "*",
            "access": "Allow",
            "priority": OPEN_PRIORITY,
            "direction": "Inbound",
        },
    }


# --- evaluation -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What an NSG does with one inbound flow."""

    access: str
    """``Allow`` or ``Deny``."""
    rule: str
    """The rule that decided (a default rule's name when no custom rule matched)."""

    @property
    def allowed(self) -> bool:
        return self.access.lower() == "allow"


def _props(rule: dict[str, Any]) -> dict[str, Any]:
    props = rule.get("properties")
    return props if isinstance(props, dict) else rule


def _list(props: dict[str, Any], one: str, many: str) -> list[str]:
    values = [str(v) for v in props.get(many) or []]
    single = props.get(one)
    if single not in (None, ""):
        values.append(str(single))
    return values


def _address_matches(prefix: str, address: str, vnet: Sequence[Network]) -> bool:
    if prefix in ("*", "Any", "Internet"):
        return prefix != "Internet" or not any(ipaddress.ip_address(address) in n for n in vnet)
    if prefix.lower() == "virtualnetwork":
        return any(ipaddress.ip_address(address) in n for n in vnet)
    try:
        network = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return False  # another service tag (AzureLoadBalancer, HDInsight...): never a client's address
    return ipaddress.ip_address(address) in network


def _port_matches(ranges: list[str], port: int) -> bool:
    for text in ranges:
        if text == "*":
            return True
        low, _, high = text.partition("-")
        if low.strip().isdigit() and int(low) <= port <= int(high or low):
            return True
    return False


def decide(
    rules: Iterable[dict[str, Any]],
    source: str,
    destination: str,
    port: int,
    *,
    vnet: Sequence[str] = (),
    protocol: str = "Tcp",
) -> Decision:
    """What an NSG with custom ``rules`` (plus Azure's defaults) does with an inbound ``protocol`` flow
    from ``source`` to ``destination:port``; ``vnet`` is what the ``VirtualNetwork`` tag covers (the VNet's
    address space and its peers')."""
    networks = [ipaddress.ip_network(n, strict=False) for n in vnet]
    inbound = [r for r in rules if str(_props(r).get("direction", "Inbound")).lower() == "inbound"] + list(
        DEFAULT_INBOUND
    )
    for rule in sorted(inbound, key=lambda r: int(_props(r).get("priority") or 0)):
        props = _props(rule)
        if str(props.get("protocol", "*")) not in ("*", "Any") and str(props["protocol"]).lower() != (
            protocol.lower()
        ):
            continue
        sources = _list(props, "sourceAddressPrefix", "sourceAddressPrefixes") or ["*"]
        destinations = _list(props, "destinationAddressPrefix", "destinationAddressPrefixes") or ["*"]
        ports = _list(props, "destinationPortRange", "destinationPortRanges") or ["*"]
        if (
            any(_address_matches(p, source, networks) for p in sources)
            and any(_address_matches(p, destination, networks) for p in destinations)
            and _port_matches(ports, port)
        ):
            return Decision(str(props.get("access", "Deny")), str(rule.get("name", "")))
    return Decision("Deny", "DenyAllInBound")


def sample_address(cidr: str, outside: Iterable[str] = ()) -> str | None:
    """An address of ``cidr`` in none of the ``outside`` networks (to test a rule with), None if every
    address of it is in one of them."""
    network = ipaddress.ip_network(cidr, strict=False)
    others = [ipaddress.ip_network(o, strict=False) for o in outside]
    others = [o for o in others if o.version == network.version]
    candidates = [network.network_address, network.broadcast_address]
    for other in others:
        for step in (other.broadcast_address, other.network_address):
            for delta in (1, -1):
                try:
                    near = step + delta
                except ipaddress.AddressValueError:  # past the end of the address space
                    continue
                if near in network:
                    candidates.append(near)
    for address in candidates:
        if not any(address in o for o in others):
            return str(address)
    return None
