"""The naming rules the plan validator and the wizard share: one function per rule."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kdrtui.domain import azure_names as names
from kdrtui.domain.regions import AZURE_REGIONS, is_azure_region

Rule = Callable[[str], str | None]

VALID: list[tuple[Rule, str]] = [
    (names.cluster_alias, "primary"),
    (names.cluster_alias, "dr_west-2"),
    (names.cluster_alias, "x" * 32),
    (names.hdinsight_cluster_name, "kdr-east-kafka"),
    (names.hdinsight_cluster_name, "abc"),
    (names.hdinsight_cluster_name, "a" * 59),
    (names.storage_account_name, "kdreaststore"),
    (names.storage_account_name, "abc"),
    (names.storage_account_name, "a1" * 12),
    (names.resource_group_name, "kdr-eastus-rg"),
    (names.resource_group_name, "rg_(prod).1"),
    (names.resource_group_name, "r" * 90),
    (names.vnet_name, "kdr-eastus-vnet"),
    (names.vnet_name, "v1"),
    (names.vnet_name, "vnet_"),
    (names.ssh_user_name, "sshuser"),
    (names.ssh_user_name, "kdr_ops"),
    (names.cluster_login_password, "Correct-Horse-9"),
    (names.env_var_name, "KDR_PRIMARY_LOGIN_PASSWORD"),
    (names.vm_size, "Standard_D4_v2"),
    (names.vm_size, "Standard_E8s_v5"),
    (names.azure_region, "eastus"),
    (names.azure_region, "westus2"),
    (names.ipv4_cidr, "10.0.0.0/16"),
    (names.ipv4_cidr, "10.0.0.0/29"),
    (names.host_port, "10.0.0.11:9092"),
    (names.host_port, "wn0-kdr-ea.internal.cloudapp.net:9092"),
    (names.host_port, "[::1]:9092"),
    (names.jump_host, "sshuser@bastion.example.com:2222"),
    (names.jump_host, "bastion.example.com"),
]

INVALID: list[tuple[Rule, str, str]] = [
    (names.cluster_alias, "", "'' is not a valid cluster alias: use 1 to 32 letters, digits, '_' or '-'"),
    (
        names.cluster_alias,
        "dr.west",
        "'dr.west' is not a valid cluster alias: use 1 to 32 letters, digits, '_' or '-'",
    ),
    (names.hdinsight_cluster_name, "ab", "'ab' is 2 characters; an HDInsight cluster name needs 3 to 59"),
    (
        names.hdinsight_cluster_name,
        "a" * 60,
        f"'{'a' * 60}' is 60 characters; an HDInsight cluster name needs 3 to 59",
    ),
    (names.hdinsight_cluster_name, "kdr_east", "'kdr_east' may contain only letters, digits and hyphens"),
    (names.hdinsight_cluster_name, "-kdr-east", "'-kdr-east' must start and end with a letter or digit"),
    (names.hdinsight_cluster_name, "kdr-east-", "'kdr-east-' must start and end with a letter or digit"),
    (names.storage_account_name, "ab", "'ab' is 2 characters; a storage account name needs 3 to 24"),
    (
        names.storage_account_name,
        "a" * 25,
        f"'{'a' * 25}' is 25 characters; a storage account name needs 3 to 24",
    ),
    (names.storage_account_name, "KdrStore", "'KdrStore' may contain only lowercase letters and digits"),
    (names.storage_account_name, "kdr-store", "'kdr-store' may contain only lowercase letters and digits"),
    (names.resource_group_name, "", "'' is 0 characters; a resource group name needs 1 to 90"),
    (
        names.resource_group_name,
        "r" * 91,
        f"'{'r' * 91}' is 91 characters; a resource group name needs 1 to 90",
    ),
    (names.resource_group_name, "rg/1", "'rg/1' may contain only letters, digits and _ ( ) - ."),
    (names.resource_group_name, "rg.", "'rg.' must not end with a period"),
    (names.vnet_name, "v", "'v' is 1 character; a virtual network name needs 2 to 64"),
    (
        names.vnet_name,
        "-vnet",
        "'-vnet' must start with a letter or digit and contain only letters, digits, _ . -",
    ),
    (names.vnet_name, "vnet-", "'vnet-' must end with a letter, digit or '_'"),
    (names.ssh_user_name, "", "the SSH user name must not be empty"),
    (names.ssh_user_name, "u" * 65, f"'{'u' * 65}' is 65 characters; an SSH user name may have at most 64"),
    (
        names.ssh_user_name,
        "1user",
        "'1user' must start with a letter or '_' and contain only letters, digits, _ . -",
    ),
    (
        names.ssh_user_name,
        "admin",
        "'admin' is a reserved user name on HDInsight; choose another, e.g. 'sshuser'",
    ),
    (
        names.ssh_user_name,
        "Root",
        "'Root' is a reserved user name on HDInsight; choose another, e.g. 'sshuser'",
    ),
    (
        names.ssh_user_name,
        "kafka",
        "'kafka' is a reserved user name on HDInsight; choose another, e.g. 'sshuser'",
    ),
    (
        names.ssh_user_name,
        "hadoop",
        "'hadoop' is a reserved user name on HDInsight; choose another, e.g. 'sshuser'",
    ),
    (
        names.cluster_login_password,
        "Short-1",
        "the password is 7 characters; the cluster login password needs at least 10",
    ),
    (names.cluster_login_password, "alllowercase1!", "the cluster login password needs an uppercase letter"),
    (
        names.cluster_login_password,
        "NoDigitsNoSymbols",
        "the cluster login password needs a digit, a symbol",
    ),
    (
        names.cluster_login_password,
        "Quote'd-pass1",
        "the cluster login password must not contain ' \" ` or \\",
    ),
    (
        names.env_var_name,
        "1PASS",
        "'1PASS' is not an environment variable name (letters, digits and '_', not starting with a digit)",
    ),
    (names.vm_size, "D4", "'D4' is not an Azure VM size like Standard_D4_v2"),
    (names.azure_region, "East US", "'East US' is written 'eastus' in a plan (lowercase, no spaces)"),
    (names.azure_region, "westeurop", "'westeurop' is not a known Azure region; did you mean 'westeurope'?"),
    (names.azure_region, "mars", "'mars' is not a known Azure region"),
    (names.ipv4_cidr, "10.0.0.0", "'10.0.0.0' needs a prefix length, e.g. 10.0.0.0/16"),
    (names.ipv4_cidr, "10.0.0.1/16", "'10.0.0.1/16' has host bits set; did you mean 10.0.0.0/16?"),
    (
        names.ipv4_cidr,
        "10.0.0.0/30",
        "'10.0.0.0/30' is too small; Azure address spaces and subnets are at most /29",
    ),
    (names.ipv4_cidr, "10.0.0.0/33", "'10.0.0.0/33' is not an IPv4 CIDR block like 10.0.0.0/16"),
    (names.ipv4_cidr, "fd00::/8", "'fd00::/8' is not an IPv4 CIDR block like 10.0.0.0/16"),
    (names.host_port, "10.0.0.11", "'10.0.0.11' is not host:port (e.g. 10.0.0.11:9092)"),
    (names.host_port, ":9092", "':9092' is not host:port (e.g. 10.0.0.11:9092)"),
    (names.host_port, "broker:0", "'broker:0' has port 0; a port is 1 to 65535"),
    (names.host_port, "::1:9092", "'::1:9092': write an IPv6 address in brackets, e.g. [::1]:9092"),
    (names.jump_host, "me@bastion:http", "'me@bastion:http' is not user@host:port (user and port optional)"),
    (names.jump_host, "me@", "'me@' is not user@host:port (user and port optional)"),
]


@pytest.mark.parametrize(("rule", "value"), VALID, ids=lambda v: getattr(v, "__name__", repr(v)))
def test_valid_names_pass(rule: Rule, value: str) -> None:
    assert rule(value) is None


@pytest.mark.parametrize(("rule", "value", "message"), INVALID, ids=lambda v: getattr(v, "__name__", repr(v)))
def test_invalid_names_are_explained(rule: Rule, value: str, message: str) -> None:
    assert rule(value) == message


def test_password_message_never_echoes_the_password() -> None:
    for password in ("hunter2", "alllowercase1!", "Quote'd-pass1"):
        message = names.cluster_login_password(password)
        assert message is not None and password not in message


def test_node_prefix_is_first_six_characters_case_folded() -> None:
    assert names.node_name_prefix("KDR-East-Kafka") == "kdr-ea"
    assert names.node_name_prefix("abc") == "abc"


def test_regions_are_lowercase_programmatic_names() -> None:
    assert len(AZURE_REGIONS) >= 50
    assert all(region == region.lower() and " " not in region for region in AZURE_REGIONS)
    assert {
        "eastus",
        "eastus2",
        "westus",
        "westus2",
        "westus3",
        "northeurope",
        "westeurope",
        "uksouth",
    } <= AZURE_REGIONS
    assert is_azure_region("centralus") and not is_azure_region("Central US")
