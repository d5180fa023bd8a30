"""Where and as whom kdrtui provisions: the plan's ``[azure]`` table."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StrictInt, field_validator, model_validator

from kdrtui.domain.plan_fields import MODEL_CONFIG, blank_to_none, rule
from kdrtui.domain.safe_text import shown


def _subscription_id(value: str) -> str | None:
    if re.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", value):
        return None
    return f"'{value}' is not a subscription ID (a GUID like 00000000-0000-0000-0000-000000000000)"


def _arm_endpoint(value: str) -> str | None:
    if re.fullmatch(r"https://[A-Za-z0-9.\-\[\]:]+/?", value):
        return None
    return f"'{value}' is not an https:// endpoint like https://management.azure.com"


class AzureCredentialKind(StrEnum):
    """How kdrtui authenticates to Azure Resource Manager."""

    DEFAULT = "default"
    """``DefaultAzureCredential``: environment, managed identity, Azure CLI login... (real Azure)."""
    LAB = "lab"
    """A fixed token for the lab's Azure emulator; only allowed with a loopback ``endpoint``."""


class AzureSettings(BaseModel):
    """The ``[azure]`` table: where and as whom kdrtui provisions (needed by ``kdrtui provision``)."""

    model_config = MODEL_CONFIG

    subscription_id: Annotated[str, rule(_subscription_id)] | None = None
    """Subscription ID (a GUID); when absent, the ``AZURE_SUBSCRIPTION_ID`` environment variable."""
    endpoint: Annotated[str, rule(_arm_endpoint)] = "https://management.azure.com"
    """Azure Resource Manager endpoint (the lab's emulator is ``https://127.0.0.1:<port>``)."""
    ca_file: str | None = None
    """A CA bundle (PEM) to trust for ``endpoint`` and Ambari, e.g. the lab emulator's ``ca.pem``."""
    credential: AzureCredentialKind = AzureCredentialKind.DEFAULT
    """``default`` (DefaultAzureCredential) or ``lab`` (the lab emulator's token)."""
    polling_interval_seconds: Annotated[StrictInt, Field(ge=0, le=300)] = 30
    """Seconds between polls of a long-running operation (Azure's ``Retry-After`` wins when it is sent)."""

    @field_validator("subscription_id", "ca_file", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return blank_to_none(value)

    @model_validator(mode="after")
    def _lab_only_on_loopback(self) -> AzureSettings:
        if self.credential == AzureCredentialKind.LAB and not self.is_loopback:
            raise ValueError(
                f"credential 'lab' is the lab emulator's token and only goes to a loopback endpoint, "
                f'not {shown(self.endpoint)}; use credential = "default" for Azure'
            )
        return self

    @property
    def is_loopback(self) -> bool:
        """The endpoint is on this machine (the lab's emulator)."""
        host = self.endpoint.removeprefix("https://").split("/")[0]
        host = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        return host in {"127.0.0.1", "localhost", "[::1]"}
