"""The credential a plan's ``[azure] credential`` names: Azure's default chain, or the lab's static token."""

from __future__ import annotations

import time
from typing import Any

LAB_TOKEN = "lab-token"
"""The token the lab's Azure emulator accepts (only ever sent to a loopback endpoint)."""


class StaticTokenCredential:
    """A ``TokenCredential`` that always answers the same token, valid for an hour from the call.

    Used for ``credential = "lab"`` only; the plan refuses it for any endpoint but loopback.
    """

    def __init__(self, token: str = LAB_TOKEN) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        """An ``AccessToken`` for any scope."""
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + 3600)

    def close(self) -> None:
        """Nothing to release."""


def make_credential(kind: str) -> Any:
    """The credential for ``[azure] credential``: ``lab`` or ``default`` (DefaultAzureCredential)."""
    if kind == "lab":
        return StaticTokenCredential()
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()
