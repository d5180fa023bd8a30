"""Naming rules for the things a DR plan names, one function per rule.

Each function takes the candidate value and returns ``None`` when it is acceptable, or a short message
that completes the sentence "<field>: ...". The plan validator and the setup wizard share them, so a name
the wizard accepts is a name the plan accepts. The rules are Azure's (HDInsight, storage, networking,
Linux VM user names) plus the few kdrtui adds (cluster aliases, environment variable names).
"""

from __future__ import annotations

import difflib
import ipaddress
import re

from kdrtui.domain.regions import AZURE_REGIONS

_ALIAS = re.compile(r"[A-Za-z0-9_-]{1,32}")
_CLUSTER_CHARS = re.compile(r"[A-Za-z0-9-]*")
_STORAGE_CHARS = re.compile(r"[a-z0-9]*")
_VNET = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_SSH_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_ENV_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VM_SIZE = re.compile(r"(Standard|Basic)_[A-Za-z0-9_-]+", re.IGNORECASE)
_PASSWORD_FORBIDDEN = frozenset("'\"`\\")

#: User names Azure refuses for Linux VMs, plus the service accounts an HDInsight Kafka node already has.
RESERVED_SSH_USERS: frozenset[str] = frozenset(
    {
        # Azure Linux VM reserved names
        "1",
        "123",
        "a",
        "actuser",
        "adm",
        "admin",
        "admin1",
        "admin2",
        "administrator",
        "aspnet",
        "backup",
        "console",
        "david",
        "guest",
        "john",
        "owner",
        "root",
        "server",
        "sql",
        "support",
        "support_388945a0",
        "sys",
        "test",
        "test1",
        "test2",
        "test3",
        "user",
        "user1",
        "user2",
        "user3",
        "user4",
        "user5",
        # Linux system accounts
        "bin",
        "daemon",
        "nobody",
        "sshd",
        # HDInsight / Hadoop service accounts
        "ambari",
        "ambari-qa",
        "ams",
        "hadoop",
        "hbase",
        "hcat",
        "hdfs",
        "hdiuser",
        "hive",
        "kafka",
        "livy",
        "mapred",
        "oozie",
        "ranger",
        "spark",
        "storm",
        "tez",
        "yarn",
        "zookeeper",
    }
)

NODE_PREFIX_LENGTH = 6
"""HDInsight names nodes ``wn0-<first six characters of the cluster name>``."""


def _chars(n: int) -> str:
    return f"{n} character" if n == 1 else f"{n} characters"


def cluster_alias(alias: str) -> str | None:
    """A cluster's alias in the plan; MirrorMaker uses it in ``alias.topic`` and its config keys."""
    if _ALIAS.fullmatch(alias):
        return None
    return f"'{alias}' is not a valid cluster alias: use 1 to 32 letters, digits, '_' or '-'"


def hdinsight_cluster_name(name: str) -> str | None:
    """HDInsight cluster name: 3-59 characters, letters/digits/hyphens, starting and ending alphanumeric."""
    if not 3 <= len(name) <= 59:
        return f"'{name}' is {_chars(len(name))}; an HDInsight cluster name needs 3 to 59"
    if not _CLUSTER_CHARS.fullmatch(name):
        return f"'{name}' may contain only letters, digits and hyphens"
    if not (name[0].isalnum() and name[-1].isalnum()):
        return f"'{name}' must start and end with a letter or digit"
    return None


def node_name_prefix(cluster_name: str) -> str:
    """The part of a cluster name HDInsight puts in node host names (compared case-insensitively)."""
    return cluster_name[:NODE_PREFIX_LENGTH].lower()


def storage_account_name(name: str) -> str | None:
    """Storage account name: 3-24 lowercase letters and digits (globally unique, checked by Azure)."""
    if not 3 <= len(name) <= 24:
        return f"'{name}' is {_chars(len(name))}; a storage account name needs 3 to 24"
    if not _STORAGE_CHARS.fullmatch(name):
        return f"'{name}' may contain only lowercase letters and digits"
    return None


def resource_group_name(name: str) -> str | None:
    """Resource group name: 1-90 letters, digits, ``_ ( ) - .``, not ending in a period."""
    if not 1 <= len(name) <= 90:
        return f"'{name}' is {_chars(len(name))}; a resource group name needs 1 to 90"
    if not all(ch.isalnum() or ch in "_()-." for ch in name):
        return f"'{name}' may contain only letters, digits and _ ( ) - ."
    if name.endswith("."):
        return f"'{name}' must not end with a period"
    return None


def vnet_name(name: str) -> str | None:
    """Virtual network name: 2-64 characters, letters/digits/``_ . -``, starts alphanumeric,
    ends alphanumeric or ``_``."""
    if not 2 <= len(name) <= 64:
        return f"'{name}' is {_chars(len(name))}; a virtual network name needs 2 to 64"
    if not _VNET.fullmatch(name):
        return f"'{name}' must start with a letter or digit and contain only letters, digits, _ . -"
    if not (name[-1].isalnum() or name[-1] == "_"):
        return f"'{name}' must end with a letter, digit or '_'"
    return None


def ssh_user_name(name: str) -> str | None:
    """SSH user of an HDInsight cluster: at most 64 characters and not a reserved name."""
    if not name:
        return "the SSH user name must not be empty"
    if len(name) > 64:
        return f"'{name}' is {_chars(len(name))}; an SSH user name may have at most 64"
    if not _SSH_USER.fullmatch(name):
        return f"'{name}' must start with a letter or '_' and contain only letters, digits, _ . -"
    if name.lower() in RESERVED_SSH_USERS:
        return f"'{name}' is a reserved user name on HDInsight; choose another, e.g. 'sshuser'"
    return None


def cluster_login_password(password: str) -> str | None:
    """HDInsight cluster login (Ambari) password. The value is never echoed in the message.

    HDInsight asks for at least 10 characters with an uppercase letter, a lowercase letter, a digit and
    a symbol other than ``' " ` \\``.
    """
    if len(password) < 10:
        return f"the password is {_chars(len(password))}; the cluster login password needs at least 10"
    missing = [
        what
        for what, ok in (
            ("an uppercase letter", any(ch.isupper() for ch in password)),
            ("a lowercase letter", any(ch.islower() for ch in password)),
            ("a digit", any(ch.isdigit() for ch in password)),
            ("a symbol", any(not ch.isalnum() and ch not in _PASSWORD_FORBIDDEN for ch in password)),
        )
        if not ok
    ]
    if missing:
        return "the cluster login password needs " + ", ".join(missing)
    if any(ch in _PASSWORD_FORBIDDEN for ch in password):
        return "the cluster login password must not contain ' \" ` or \\"
    return None


def env_var_name(name: str) -> str | None:
    """The NAME of an environment variable (plans name secrets, they never hold them)."""
    if _ENV_VAR.fullmatch(name):
        return None
    return (
        f"'{name}' is not an environment variable name (letters, digits and '_', not starting with a digit)"
    )


def vm_size(name: str) -> str | None:
    """An Azure VM size such as ``Standard_D4_v2`` (Azure itself says which sizes HDInsight offers)."""
    if _VM_SIZE.fullmatch(name):
        return None
    return f"'{name}' is not an Azure VM size like Standard_D4_v2"


def azure_region(name: str) -> str | None:
    """A public Azure region by its programmatic name (``eastus``, not ``East US``)."""
    if name in AZURE_REGIONS:
        return None
    folded = name.replace(" ", "").lower()
    if folded in AZURE_REGIONS:
        return f"'{name}' is written '{folded}' in a plan (lowercase, no spaces)"
    close = difflib.get_close_matches(folded, sorted(AZURE_REGIONS), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"'{name}' is not a known Azure region{hint}"


def ipv4_cidr(text: str) -> str | None:
    """An IPv4 network in CIDR notation with no host bits set, e.g. ``10.0.0.0/16``."""
    try:
        network = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        return f"'{text}' is not an IPv4 CIDR block like 10.0.0.0/16"
    if "/" not in text:
        return f"'{text}' needs a prefix length, e.g. {network.network_address}/16"
    if str(network) != text:
        return f"'{text}' has host bits set; did you mean {network}?"
    if network.prefixlen > 29:
        return f"'{text}' is too small; Azure address spaces and subnets are at most /29"
    return None


def host_port(text: str) -> str | None:
    """A broker address ``host:port`` (``[v6]:port`` for IPv6) with a port from 1 to 65535."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        return f"'{text}' is not host:port (e.g. 10.0.0.11:9092)"
    if not 1 <= int(port) <= 65535:
        return f"'{text}' has port {port}; a port is 1 to 65535"
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        return f"'{text}': write an IPv6 address in brackets, e.g. [::1]:9092"
    return None


def jump_host(text: str) -> str | None:
    """An SSH jump host ``[user@]host[:port]``."""
    _user, _at, rest = text.rpartition("@")
    host, sep, port = rest.rpartition(":")
    if not sep:
        host, port = rest, "22"
    if not host or any(ch.isspace() for ch in text) or not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"'{text}' is not user@host:port (user and port optional)"
    return None
