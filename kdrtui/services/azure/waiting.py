"""Waiting on Azure long-running operations, showing the resource's state as it evolves.

Why no continuation tokens in the journal: a resumed run does not need them. Every step looks first, so
a resource whose creation was cut off is found by its GET (``provisioningState InProgress``) and waited on
by polling that GET (:func:`wait_until_settled`), which also shows how it evolves (``clusterState``).
Tokens would also tie the journal to azure-core's private format. Before its versioned JSON tokens
(Azure/azure-sdk-for-python#44574, 2026), ``LROBasePolling.get_continuation_token`` was a base64 *pickle*
of the initial ``PipelineResponse``, whose request carried the ``Authorization: Bearer`` header: a secret
in the journal, and unpickling a file is code execution. The azure-core installed here (1.41,
``polling/base_polling.py``) writes JSON keeping only the request's method, URL and
``x-ms-client-request-id`` (response headers filtered), so the claim no longer holds for it, but the
journal must not depend on which azure-core wrote or reads it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from kdrtui.domain.runbook import Step, StepFailed
from kdrtui.services.azure.arm_errors import arm_error_text
from kdrtui.services.azure.context import ProvisionContext

TIMEOUT_S = 3 * 3600.0
"""Longest wait on one resource (an HDInsight cluster takes 20-40 minutes on Azure)."""

Watch = Callable[[], tuple[str, float | None]]
"""Reads the resource once: (state text, fraction done or None)."""


async def wait_poller(
    ctx: ProvisionContext, step: Step[Any], resource: str, poller: Any, watch: Watch | None = None
) -> tuple[Any, str]:
    """Wait for an ``LROPoller`` to finish, reporting ``watch()``'s state each poll; its result.

    Returns:
        ``(the poller's result, the last state shown)``.

    Raises:
        StepFailed: the operation failed (``CODE: message`` from ARM).
    """
    from azure.core.exceptions import AzureError

    deadline = time.monotonic() + TIMEOUT_S
    last = ""
    try:
        while not poller.done():
            if watch is not None:
                try:
                    state, fraction = await ctx.call(watch)
                except AzureError:  # a failed look is not a failed operation: the poller decides
                    state, fraction = last, None
                if state != last:
                    ctx.progress(step, resource, "running", state, fraction or 0.0)
                    last = state
            if time.monotonic() > deadline:
                raise StepFailed(f"{resource}: still not done after {TIMEOUT_S / 60:.0f} min")
            # LROPoller.wait re-raises the operation's failure (an ARM error), as result() does.
            await asyncio.to_thread(poller.wait, ctx.poll_seconds)
        return await ctx.call(poller.result), last
    except StepFailed:
        raise
    except Exception as exc:
        ctx.progress(step, resource, "failed", arm_error_text(exc))
        raise StepFailed(f"{resource}: {arm_error_text(exc)}") from exc


async def wait_until_settled(
    ctx: ProvisionContext,
    step: Step[Any],
    resource: str,
    get: Callable[[], dict[str, Any] | None],
    settled: Callable[[dict[str, Any]], bool],
    state_of: Callable[[dict[str, Any]], str],
    fraction_of: Callable[[dict[str, Any]], float] | None = None,
    shown: str | None = None,
) -> dict[str, Any]:
    """Poll ``get()`` until ``settled(body)``; report ``state_of(body)`` whenever it changes.

    ``shown`` is the state already reported (not repeated).

    Raises:
        StepFailed: the resource disappeared, or it did not settle in time.
    """
    from azure.core.exceptions import AzureError

    deadline = time.monotonic() + TIMEOUT_S
    last = shown
    while True:
        try:
            body = await ctx.call(get)
        except AzureError as exc:  # retries exhausted (a throttling storm, 5xx): CODE: message
            ctx.progress(step, resource, "failed", arm_error_text(exc))
            raise StepFailed(f"{resource}: {arm_error_text(exc)}") from exc
        if body is None:
            raise StepFailed(f"{resource}: disappeared while kdrtui waited on it")
        state = state_of(body)
        if state != last:
            fraction = fraction_of(body) if fraction_of else 0.0
            ctx.progress(step, resource, "running", state, fraction)
            last = state
        if settled(body):
            return body
        if time.monotonic() > deadline:
            raise StepFailed(f"{resource}: still {state} after {TIMEOUT_S / 60:.0f} min")
        await asyncio.sleep(ctx.poll_seconds)


def provisioning_state(body: dict[str, Any]) -> str:
    """``properties.provisioningState`` (``Succeeded``, ``InProgress``, ``Updating``...)."""
    props = body.get("properties") or {}
    return str(props.get("provisioningState") or body.get("provisioningState") or "")


def settled_state(state: str) -> bool:
    """Whether a provisioningState is final."""
    return state.lower() in ("succeeded", "failed", "canceled", "cancelled")
