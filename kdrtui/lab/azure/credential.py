"""The lab's static bearer-token credential (for the emulator only; light to import)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken

#: The token the lab credential hands out; the emulator accepts any bearer token.
LAB_TOKEN = "lab-token"


class LabCredential:
    """A credential whose ``get_token`` returns a fixed token valid for an hour.

    The emulator only checks that a bearer token is present; azure-core only sends one over HTTPS.
    Never use it against a real Azure endpoint (the plan model refuses ``credential = "lab"`` for a
    non-loopback endpoint).
    """

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """An ``AccessToken("lab-token", now + 3600)`` whatever the scopes."""
        from azure.core.credentials import AccessToken

        return AccessToken(LAB_TOKEN, int(time.time()) + 3600)

    def close(self) -> None:
        """Nothing to release (for ``with`` blocks of the SDK clients)."""
