"""What the Provisioning pane (:mod:`kdrtui.tui.screens.provisioning`) says in words: why a plan cannot be
provisioned from here, the dry run its confirmation shows, the banner of an interrupted run and the status
line after a run or a dry run. Pure: each is a function of what the pane keeps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from kdrtui.tui.helpers import clock_text
from kdrtui.tui.screens.provisioning_model import InterruptedRun, ProvisioningProgress, duration_text

if TYPE_CHECKING:
    from kdrtui.domain.plan import Plan
    from kdrtui.services.runbook.runner import RunResult

NO_AZURE = (
    "This plan has no [azure] table: there is nothing to provision from here.\n\n"
    "Add one to the plan file, and a [clusters.<alias>.hdinsight] table\n"
    "for each cluster to create:\n\n"
    "  [azure]\n"
    '  subscription_id = "<GUID>"   # or set AZURE_SUBSCRIPTION_ID\n'
    '  credential = "default"       # az login, a managed identity…\n\n'
    "To rehearse, `kdrtui lab up --azure` starts the lab's Azure emulator\n"
    "and writes such a plan; open it with `kdrtui --plan lab-azure`."
)
"""What the pane says for a plan without ``[azure]``."""


def empty_reason(plan: Plan | None) -> str | None:
    """Why ``plan`` cannot be provisioned from here at all (the pane shows only that), or None."""
    if plan is None:
        return (
            "No plan: nothing to provision. Open one with `kdrtui --plan PATH`, or write one with the "
            "Wizard (key 2)."
        )
    if plan.azure is None:
        return NO_AZURE
    return None


def dry_run_text(progress: ProvisioningProgress | None, at: float | None) -> Text:
    """The dry run read at ``at`` as the confirmation shows it: each step and what it would do."""
    if progress is None or at is None:
        return Text("No dry run yet: every step looks before it creates anything.")
    text = Text()
    text.append(f"dry run {clock_text(at)}", style="bold")
    for view in progress.steps.values():
        text.append(f"\n{view.title}", style="bold")
        for line in view.plan:
            text.append(f"\n  {line}")
    return text


def interrupted_banner(journal: InterruptedRun, total: int | None, hint: str) -> str:
    """The banner of an interrupted run waiting to be resumed (``total``: the steps, if known)."""
    state = journal.state()
    done = sum(1 for record in state.steps.values() if record.status.finished)
    total = len(state.steps) if total is None else total
    return f"interrupted provisioning ({journal.path.name}, {done}/{total} steps finished){hint}"


def run_status(result: RunResult, finished: int, took: float, name: str, read_only: bool) -> tuple[str, str]:
    """(status line, theme colour) after a run that reached an outcome (``finished`` of its steps in
    ``took`` seconds)."""
    if result.outcome == "completed":
        return f"✓ provisioned {name}: {finished} steps in {duration_text(took)}", "success"
    if result.outcome == "failed":
        retry = "" if read_only else " (r retries)"
        return f"✗ failed at {result.failed_step}{retry}: {result.error}", "error"
    resume = "" if read_only else " · R resumes"
    return f"aborted before {result.failed_step}{resume}", "warning"


def dry_run_status(
    at: float, name: str, read_only: bool, interrupted: InterruptedRun | None, last_run: InterruptedRun | None
) -> tuple[str, str]:
    """(status line, theme colour) once the dry run read at ``at`` is shown: what the keys would do."""
    then = f"dry run {clock_text(at)}"
    if read_only:
        return f"{then} · read-only: provisioning is not offered", ""
    if interrupted is not None:
        return f"{then} · R resumes the interrupted run", ""
    if last_run is not None:
        state = last_run.state()
        confirmed = clock_text(state.confirmed_at) if state.confirmed_at is not None else "earlier"
        return f"provisioned ({confirmed}) · {then} · P runs it again (creates only what is missing)", ""
    return f"{then} · P provisions (type {name})", ""
