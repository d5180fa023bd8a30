"""The emulated subscription: its state, the brokers and edge nodes behind it, its fault knobs.

One :class:`Cloud` serves every request of an emulator process. Handlers hold :attr:`Store.lock`
while they read or change resources; :func:`kdrtui.lab.azure.lifecycle.tick` (every 0.2 s, from a
background thread) moves clusters and applications along their provisioning and deletion.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdrtui.lab.azure.gate import Gates
from kdrtui.lab.azure.runtime import Runtime
from kdrtui.lab.azure.state import Store

#: Seconds each provisioning state of a cluster lasts (Accepted, ClusterStorageProvisioned, ...).
DEFAULT_STEP_SECONDS = 1.0


@dataclass
class Faults:
    """The fault knobs (see ``POST /_emulator/faults``); they live in memory only."""

    #: The next N requests answer 429 with ``Retry-After: retry_after``.
    throttle: int = 0
    retry_after: int = 1
    #: The next N requests answer 500 (an ARM error body).
    errors_500: int = 0
    #: Creating the cluster of this name fails (its LRO ends Failed with :data:`FAIL_CODE`).
    fail_cluster: str | None = None
    #: Clusters created while this is set take this many seconds more before they are Running.
    slow_cluster_seconds: float = 0.0

    def update(self, data: dict[str, Any]) -> None:
        """Set the knobs present in ``data`` (``ValueError`` for a bad value)."""
        if "throttle" in data:
            self.throttle = _count(data["throttle"], "throttle")
        if "retry_after" in data:
            self.retry_after = _count(data["retry_after"], "retry_after")
        if "errors_500" in data:
            self.errors_500 = _count(data["errors_500"], "errors_500")
        if "fail_cluster" in data:
            value = data["fail_cluster"]
            if value is not None and not isinstance(value, str):
                raise ValueError("fail_cluster must be a cluster name or null")
            self.fail_cluster = value or None
        if "slow_cluster_seconds" in data:
            value = data["slow_cluster_seconds"]
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError("slow_cluster_seconds must be a number >= 0")
            self.slow_cluster_seconds = float(value)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``GET /_emulator/faults``)."""
        return {
            "throttle": self.throttle,
            "retry_after": self.retry_after,
            "errors_500": self.errors_500,
            "fail_cluster": self.fail_cluster,
            "slow_cluster_seconds": self.slow_cluster_seconds,
        }


def _count(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0")
    return value


#: The ARM error code of a cluster creation failed by the ``fail_cluster`` knob.
FAIL_CODE = "ClusterCreationFailed"


@dataclass
class Cloud:
    """Everything one emulator process knows and runs."""

    home: Path
    store: Store
    runtime: Runtime
    step_seconds: float = DEFAULT_STEP_SECONDS
    faults: Faults = field(default_factory=Faults)
    #: Set by the server once it listens: ``https://127.0.0.1:<port>``.
    base_url: str = ""
    port: int = 0
    #: The NSG gates in front of the brokers' gated listeners (:mod:`kdrtui.lab.azure.gate`).
    gates: Gates = field(default_factory=Gates)
    _secret: bytes = field(default=b"", init=False)

    def secret(self) -> bytes:
        """The emulator's own random secret (``emulator.secret``, 0600), created once."""
        if not self._secret:
            path = self.home / "emulator.secret"
            if not path.exists():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(secrets.token_bytes(32))
            self._secret = path.read_bytes()
        return self._secret

    def password_digest(self, password: str) -> str:
        """How the emulator remembers a password: a hex HMAC-SHA256 keyed with the secret.

        Unlike a bare hash, it cannot be brute-forced from ``state.json`` without ``emulator.secret``.
        """
        return hmac.new(self.secret(), b"gateway-password\0" + password.encode(), hashlib.sha256).hexdigest()

    def storage_key(self, account: str, key_name: str) -> str:
        """A storage account key: derived from the secret, so it is never stored."""
        digest = hmac.new(self.secret(), f"{account.lower()}/{key_name}".encode(), hashlib.sha512).digest()
        return base64.b64encode(digest).decode()
