"""The Azure management clients a provisioning uses, built lazily from the plan's ``[azure]`` table.

The SDK modules are imported here, on first use of a client, never at import time (``azure.mgmt.network``
alone costs about a third of a second). Every client shares the credential and these pipeline settings:

- ``base_url`` = ``[azure] endpoint`` (the lab's HTTPS emulator, or ARM);
- ``connection_verify`` = ``[azure] ca_file`` when set (the emulator's CA);
- ``polling_interval`` = ``[azure] polling_interval_seconds`` (Azure's ``Retry-After`` still wins);
- azure-core's ``RetryPolicy`` for throttling and 5xx: it retries 408/429/500/502/503/504 (and any error
  carrying ``Retry-After``), sleeping what ``Retry-After`` says. Its default allows only 3 retries on a
  status per request, which a burst of throttling (ARM answers 429 to every call for a while) exhausts,
  so :data:`RETRY` allows more, with a short backoff cap: ``Retry-After`` sets the pace anyway.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from kdrtui.domain.plan import AzureSettings, Plan
from kdrtui.services.azure.credential import make_credential

RETRY: dict[str, Any] = {
    "retry_total": 20,
    "retry_status": 15,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 30,
}
"""azure-core retry settings for every client (see the module docstring)."""


class AzureSetupError(RuntimeError):
    """The plan cannot reach Azure as written (no subscription, no [azure] table)."""


def subscription_of(settings: AzureSettings) -> str:
    """The subscription: ``[azure] subscription_id``, else ``AZURE_SUBSCRIPTION_ID``."""
    subscription = settings.subscription_id or os.environ.get("AZURE_SUBSCRIPTION_ID", "").strip()
    if not subscription:
        raise AzureSetupError(
            "no Azure subscription: set [azure] subscription_id in the plan or AZURE_SUBSCRIPTION_ID"
        )
    return subscription


class AzureClients:
    """The resource, storage, network and HDInsight clients of one plan (each built on first use).

    Thread-safe: the steps call the clients from worker threads (two clusters at once).
    """

    def __init__(self, plan: Plan, *, credential: Any = None) -> None:
        if plan.azure is None:
            raise AzureSetupError("the plan has no [azure] table: kdrtui does not know where to provision")
        self.settings: AzureSettings = plan.azure
        self.subscription_id = subscription_of(plan.azure)
        self._names: tuple[str, ...] = ("resource", "storage", "network", "hdinsight")
        if str(plan.switch.method) == "dns":
            self._names += ("private_dns",)
        self._credential = credential
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    @property
    def credential(self) -> Any:
        """The token credential (built on first use)."""
        with self._lock:
            if self._credential is None:
                self._credential = make_credential(str(self.settings.credential))
            return self._credential

    @property
    def verify(self) -> str | bool:
        """What TLS verification trusts: the plan's CA bundle, else the system's."""
        return self.settings.ca_file or True

    def _kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "base_url": self.settings.endpoint,
            "polling_interval": self.settings.polling_interval_seconds,
            **RETRY,
        }
        if self.settings.ca_file:
            kwargs["connection_verify"] = self.settings.ca_file
        return kwargs

    def _client(self, name: str) -> Any:
        credential = self.credential
        with self._lock:
            if name not in self._clients:
                self._clients[name] = _build(name, credential, self.subscription_id, self._kwargs())
            return self._clients[name]

    @property
    def resource(self) -> Any:
        """``azure.mgmt.resource.resources.ResourceManagementClient``."""
        return self._client("resource")

    @property
    def storage(self) -> Any:
        """``azure.mgmt.storage.StorageManagementClient``."""
        return self._client("storage")

    @property
    def network(self) -> Any:
        """``azure.mgmt.network.NetworkManagementClient``."""
        return self._client("network")

    @property
    def hdinsight(self) -> Any:
        """``azure.mgmt.hdinsight.HDInsightManagementClient``."""
        return self._client("hdinsight")

    @property
    def private_dns(self) -> Any:
        """``azure.mgmt.privatedns.PrivateDnsManagementClient`` (the DNS client switch)."""
        return self._client("private_dns")

    def warm(self) -> None:
        """Build the credential and the four clients now, and the Private DNS client for a plan switching
        by DNS (blocking: imports the SDKs; call it in a thread, so the steps' first look does not import an
        SDK on the event loop)."""
        for name in self._names:
            self._client(name)

    def close(self) -> None:
        """Close every client built (their HTTP sessions)."""
        with self._lock:
            clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()


def _build(name: str, credential: Any, subscription: str, kwargs: dict[str, Any]) -> Any:
    if name == "resource":
        from azure.mgmt.resource.resources import ResourceManagementClient

        return ResourceManagementClient(credential, subscription, **kwargs)
    if name == "storage":
        from azure.mgmt.storage import StorageManagementClient

        return StorageManagementClient(credential, subscription, **kwargs)
    if name == "network":
        from azure.mgmt.network import NetworkManagementClient

        return NetworkManagementClient(credential, subscription, **kwargs)
    if name == "private_dns":
        from azure.mgmt.privatedns import PrivateDnsManagementClient

        return PrivateDnsManagementClient(credential, subscription, **kwargs)
    from azure.mgmt.hdinsight import HDInsightManagementClient

    return HDInsightManagementClient(credential, subscription, **kwargs)


def raw(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call an SDK operation and return the response's JSON body as sent (REST keys: ``properties``,
    ``provisioningState``...), the same whichever generator made the SDK."""
    result = call(
        *args, cls=lambda response, _deserialized, _headers: response.http_response.json(), **kwargs
    )
    return dict(result or {})


def get_or_none(call: Any, *args: Any) -> dict[str, Any] | None:
    """:func:`raw` for a GET; None on 404 (``ResourceNotFoundError``)."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return raw(call, *args)
    except ResourceNotFoundError:
        return None
