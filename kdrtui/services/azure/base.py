"""What every Azure step shares: ARM calls whose errors read ``CODE: message``, and a record of what it
created versus found (the facts :mod:`.destroy` reads to delete only what kdrtui made)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from kdrtui.domain.runbook import Outcome, Step, StepFailed
from kdrtui.services.azure.arm_errors import arm_error_text
from kdrtui.services.azure.clients import get_or_none
from kdrtui.services.azure.context import ProvisionContext

T = TypeVar("T")


class AzureStep(Step[ProvisionContext]):
    """A provisioning step; subclasses implement ``describe``/``run`` (and ``verify``)."""

    async def arm(self, ctx: ProvisionContext, resource: str, call: Callable[..., T], *args: Any) -> T:
        """Run one SDK call in a worker thread; an Azure error ends the step (``resource: CODE: message``)."""
        from azure.core.exceptions import AzureError

        try:
            return await ctx.call(call, *args)
        except StepFailed:
            raise
        except AzureError as exc:
            ctx.progress(self, resource, "failed", arm_error_text(exc))
            raise StepFailed(f"{resource}: {arm_error_text(exc)}") from exc

    async def look(self, ctx: ProvisionContext, resource: str, call: Callable[..., Any], *args: Any) -> Any:
        """GET a resource's REST body; None when it does not exist (404)."""
        return await self.arm(ctx, resource, get_or_none, call, *args)


def failure_text(exc: BaseException) -> str:
    """One line for a failure among steps run at once (``asyncio.gather(..., return_exceptions=True)``)."""
    return exc.summary if isinstance(exc, StepFailed) else arm_error_text(exc)


class Ledger:
    """What a step created and what it found already there (JSON-able, for the journal)."""

    def __init__(self) -> None:
        self.created: list[list[str]] = []
        self.existing: list[list[str]] = []

    def add(self, created: bool, *ids: str) -> None:
        (self.created if created else self.existing).append(list(ids))

    def facts(self, **more: Any) -> dict[str, Any]:
        return {"created": self.created, "existing": self.existing, **more}

    def outcome(self, noun: str, extra: str = "", **facts: Any) -> Outcome:
        """Done when something was created; skipped ("exists") when everything was already there."""
        summary = self.summary(noun) + extra
        if self.created:
            return Outcome.done(summary, **self.facts(**facts))
        return Outcome.skipped(summary, **self.facts(**facts))

    def summary(self, noun: str) -> str:
        made, found = len(self.created), len(self.existing)
        if not made:
            return f"{found} {noun} already there"
        return f"created {made} {noun}" + (f", {found} already there" if found else "")
