"""Azure Private DNS naming rules for the client switch (``[switch] zone`` and ``record``).

Azure's rules (Private DNS zones, Azure DNS limits): a zone name is a domain name of 2 to 34 labels,
at most 253 characters, each label 1 to 63 letters, digits or hyphens, not starting or ending with a
hyphen; a record-set name is relative to the zone (``@`` for the apex), each label 1 to 63 letters,
digits, hyphens or underscores, and the record's full name (record + zone) at most 253 characters.
A TTL is 0 to 2,147,483,647 seconds (Azure DNS's range). Each function returns None when the value is
acceptable, else a message completing "<field>: ...".
"""

from __future__ import annotations

import ipaddress
import re

_ZONE_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_RECORD_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")

TTL_MAX = 2_147_483_647
"""Azure DNS's largest record-set TTL, in seconds."""
APEX = "@"
"""The record-set name of the zone's apex."""


def zone_name(value: str) -> str | None:
    """A Private DNS zone name (``kafka.contoso.internal``)."""
    name = value.removesuffix(".")
    if len(name) > 253:
        return f"'{value}' is {len(name)} characters; a zone name has at most 253"
    labels = name.split(".")
    if len(labels) < 2 or len(labels) > 34:
        return (
            f"'{value}' has {len(labels)} label(s); a Private DNS zone name has 2 to 34 "
            "(e.g. kafka.contoso.internal)"
        )
    for label in labels:
        if not _ZONE_LABEL.fullmatch(label):
            return (
                f"'{value}': label '{label}' must be 1 to 63 letters, digits or hyphens, not starting or "
                "ending with a hyphen"
            )
    return None


def record_name(value: str) -> str | None:
    """A record-set name relative to its zone (``bootstrap``, ``kafka.dr``, or ``@`` for the apex)."""
    if value == APEX:
        return None
    if value.endswith("."):
        return f"'{value}' is relative to the zone: write it without the zone and the final dot"
    for label in value.split("."):
        if not _RECORD_LABEL.fullmatch(label):
            return (
                f"'{value}': label '{label}' must be 1 to 63 letters, digits, hyphens or underscores, not "
                "starting or ending with a hyphen"
            )
    return None


def record_fqdn(record: str, zone: str) -> str:
    """The record's full name: ``<record>.<zone>`` (the zone itself for ``@``), without a final dot."""
    zone = zone.removesuffix(".")
    return zone if record == APEX else f"{record}.{zone}"


def fqdn_problem(record: str, zone: str) -> str | None:
    """The record's full name is too long (Azure: at most 253 characters)."""
    fqdn = record_fqdn(record, zone)
    if len(fqdn) > 253:
        return f"'{fqdn}' is {len(fqdn)} characters; a record's full name has at most 253"
    return None


def ipv4_address(value: str) -> str | None:
    """An IPv4 address an A record can hold (no loopback, no multicast)."""
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        return f"'{value}' is not an IPv4 address (an A record holds IPv4 addresses)"
    if address.is_loopback or address.is_multicast or address.is_unspecified:
        return f"'{value}' is not a broker's address clients in the VNets can reach"
    return None
