"""What every Azure step shares: ARM calls whose errors read ``CODE: message``, and a record of what it
created versus found (the facts :mod:`.destroy` reads to delete only what kdrtui made)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from kdrtui.domain.runbook import Outcome, Step, StepFailed
from kdrtui.services.azure.arm_errors import arm_error_text
from kdrtui.services.azure.clients import get_or_none
from kdrtui.services.azure.context import ProvisionContext

T = TypeVar("T")

Target = tuple[str, Callable[..., Any], tuple[Any, ...]]
"""One resource a step looks up: (its label, e.g. ``VNet x``; the SDK GET; that GET's arguments)."""


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

    async def first_gone(
        self,
        ctx: ProvisionContext,
        targets: Iterable[Target],
        state: Callable[[dict[str, Any]], str] | None = None,
        want: str = "",
    ) -> str | None:
        """``verify``'s answer: ``<label> is gone`` for the first target missing, in order (with ``state``,
        ``<label> is <state>`` for the first whose state is not ``want``); None when all are there."""
        for label, call, args in targets:
            found = await self.look(ctx, label, call, *args)
            if found is None or (state is not None and state(found) != want):
                return f"{label} is {state(found) if state is not None and found else 'gone'}"
        return None


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

    def record(
        self,
        ctx: ProvisionContext,
        step: Step[Any],
        resource: str,
        created: bool,
        *ids: str,
        state: str | None = None,
    ) -> None:
        """Report ``resource`` done (created) or skipped (found; ``created``/``exists`` unless ``state``
        says), and note its ids."""
        text = ("created" if created else "exists") if state is None else state
        ctx.progress(step, resource, "done" if created else "skipped", text)
        self.add(created, *ids)

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
