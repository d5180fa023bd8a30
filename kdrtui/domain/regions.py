"""The public Azure regions, by the programmatic name ARM uses (``az account list-locations``).

Not every region offers HDInsight; Azure answers that at provisioning time. The list only catches typos
and display names (``East US`` is written ``eastus``).
"""

from __future__ import annotations

AZURE_REGIONS: frozenset[str] = frozenset(
    {
        # Americas
        "eastus",
        "eastus2",
        "centralus",
        "northcentralus",
        "southcentralus",
        "westcentralus",
        "westus",
        "westus2",
        "westus3",
        "canadacentral",
        "canadaeast",
        "brazilsouth",
        "brazilsoutheast",
        "mexicocentral",
        "chilecentral",
        # Europe
        "northeurope",
        "westeurope",
        "uksouth",
        "ukwest",
        "francecentral",
        "francesouth",
        "germanywestcentral",
        "germanynorth",
        "switzerlandnorth",
        "switzerlandwest",
        "norwayeast",
        "norwaywest",
        "swedencentral",
        "swedensouth",
        "polandcentral",
        "italynorth",
        "spaincentral",
        "austriaeast",
        "belgiumcentral",
        # Middle East and Africa
        "uaenorth",
        "uaecentral",
        "qatarcentral",
        "israelcentral",
        "southafricanorth",
        "southafricawest",
        # Asia Pacific
        "eastasia",
        "southeastasia",
        "japaneast",
        "japanwest",
        "koreacentral",
        "koreasouth",
        "centralindia",
        "southindia",
        "westindia",
        "jioindiawest",
        "jioindiacentral",
        "australiaeast",
        "australiasoutheast",
        "australiacentral",
        "australiacentral2",
        "newzealandnorth",
        "indonesiacentral",
        "malaysiawest",
    }
)
"""Programmatic names of the public Azure regions: lowercase, no spaces."""


def is_azure_region(name: str) -> bool:
    """Whether ``name`` is a known public Azure region (exact, lowercase programmatic name)."""
    return name in AZURE_REGIONS
