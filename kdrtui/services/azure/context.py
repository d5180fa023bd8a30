"""What the provisioning steps share: the plan, the clients, the secrets (in memory only), progress.

Secrets (cluster login passwords, storage account keys) are held here for the run's life and never
written: not in a step's facts (they go into the journal), not in a progress line, not in the log. A
resumed run reads them again (the password from its environment variable, keys with ``listKeys``).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from kdrtui.domain import azure_names
from kdrtui.domain.plan import Cluster, Plan
from kdrtui.domain.runbook import Step, StepFailed, StepStatus
from kdrtui.services.azure.clients import AzureClients, raw
from kdrtui.services.runbook.runner import EventSink, Facts, RunEvent

T = TypeVar("T")

LAB_PASSWORD_FILE = "login-password"
"""With ``credential = "lab"``: the file beside the plan holding the lab's cluster login password."""


@dataclass
class ProvisionContext:
    """The context of every provisioning (and destroy) step."""

    plan: Plan
    plan_path: Path
    clients: AzureClients
    emit: EventSink = lambda _event: None
    """Where per-resource progress events go (the runner's sink)."""
    facts: Facts = field(default_factory=Facts)
    say: Callable[[str], None] = lambda _text: None
    """Set by the runner to the current step's progress line."""
    note: Callable[..., None] = lambda **_facts: None
    """Set by the runner: journals what the current step is about to change (``step-note``)."""
    confirm_host_key: Any = None
    """asyncssh host-key decision for the edge nodes (``on_unknown_host``), None to refuse unknown keys."""
    manager_factory: Callable[[Plan], Any] | None = None
    """Builds the MirrorMaker manager (tests inject one); default: SSH with ``confirm_host_key``."""
    loop: asyncio.AbstractEventLoop | None = None
    passwords: dict[str, str] = field(default_factory=dict, repr=False)
    storage_keys: dict[str, str] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- what is provisioned ---------------------------------------------------------------------------

    @property
    def subscription(self) -> str:
        return self.clients.subscription_id

    def hdinsight_clusters(self) -> list[tuple[str, Cluster]]:
        """(alias, cluster) of every cluster with an ``[hdinsight]`` table, in plan order."""
        return [(alias, c) for alias, c in self.plan.clusters.items() if c.hdinsight is not None]

    def edge_nodes(self) -> list[Any]:
        """The ``[[edge_nodes]]`` provisioned as HDInsight applications (their cluster is provisioned)."""
        provisioned = {alias for alias, _c in self.hdinsight_clusters()}
        return [node for node in self.plan.edge_nodes if node.cluster in provisioned]

    @property
    def poll_seconds(self) -> float:
        """How often a step re-reads a resource it waits on (state shown as it evolves)."""
        interval = self.clients.settings.polling_interval_seconds
        return max(0.25, min(float(interval), 15.0))

    # -- secrets ---------------------------------------------------------------------------------------

    def password(self, alias: str) -> str:
        """The cluster login password of ``alias``: from ``login_password_env``, else (lab credential
        only) the ``login-password`` file beside the plan. StepFailed when absent or too weak."""
        with self._lock:
            if alias in self.passwords:
                return self.passwords[alias]
        hdi = self.plan.cluster(alias).hdinsight
        assert hdi is not None
        value = os.environ.get(hdi.login_password_env)
        if not value and str(self.clients.settings.credential) == "lab":
            file = self.plan_path.parent / LAB_PASSWORD_FILE
            if file.is_file():
                value = file.read_text().strip()
        if not value:
            hint = (
                " (or the lab's login-password file beside the plan)"
                if str(self.clients.settings.credential) == "lab"
                else ""
            )
            raise StepFailed(
                f"cluster {alias}: the login password is not set: export {hdi.login_password_env}{hint}"
            )
        problem = azure_names.cluster_login_password(value)
        if problem is not None:
            raise StepFailed(f"cluster {alias}: ${hdi.login_password_env}: {problem}")
        with self._lock:
            self.passwords[alias] = value
        return value

    def storage_key(self, resource_group: str, account: str) -> str:
        """The storage account's first key (``listKeys``; kept in memory only)."""
        with self._lock:
            if account in self.storage_keys:
                return self.storage_keys[account]
        answer = raw(self.clients.storage.storage_accounts.list_keys, resource_group, account)
        keys = [k.get("value") for k in answer.get("keys") or [] if k.get("value")]
        if not keys:
            raise StepFailed(f"storage account {account}: listKeys returned no key")
        with self._lock:
            self.storage_keys[account] = str(keys[0])
        return str(keys[0])

    # -- progress --------------------------------------------------------------------------------------

    def progress(
        self, step: Step[Any], resource: str, status: str, state: str = "", fraction: float | None = None
    ) -> None:
        """A per-resource ``progress`` event (from any thread: delivered on the event loop's)."""
        if fraction is None:
            fraction = 1.0 if status in ("done", "skipped") else 0.0
        text = f"{resource}: {status}{f' ({state})' if state else ''}"
        event = RunEvent(
            "progress",
            step.key,
            step.title,
            StepStatus.RUNNING,
            text,
            {"resource": resource, "status": status, "state": state, "fraction": round(fraction, 3)},
        )
        loop = self.loop
        if loop is not None and not _in_loop_thread(loop):
            loop.call_soon_threadsafe(self.emit, event)
        else:
            self.emit(event)

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking SDK call in a worker thread."""
        return await asyncio.to_thread(function, *args, **kwargs)


def _in_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
