"""``kdrtui provision`` and ``kdrtui destroy``: carry a plan out on Azure HDInsight, or take it down.

Exit codes (as ``kdrtui failover``): 0 done (or a dry run), 1 failed or aborted (``--resume`` continues),
2 refused before starting (a bad plan, no ``[azure]`` table, not confirmed, nothing to resume).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

import click

from kdrtui.commands.options import accept_option, host_key_decision, load_plan_or_exit
from kdrtui.commands.runbook_output import print_summary, printer, steps_json

if TYPE_CHECKING:
    from kdrtui.services.azure.provision import Provisioning
    from kdrtui.services.runbook.runner import RunEvent, RunResult

plan_option = click.option("--plan", "plan_arg", metavar="PATH|lab-azure", help="DR plan file.")


def _refuse(command: str, message: str) -> None:
    print(f"kdrtui {command}: {message}", file=sys.stderr)
    sys.exit(2)


def _facade(
    command: str, plan_arg: str | None, accept_new: bool, as_json: bool, *, lock: bool = True
) -> Provisioning:
    """The provisioner (or destroyer) of the plan; with ``lock`` it holds the plan's lock from here to the
    end of the process, so a second operation is refused before any question is asked."""
    from kdrtui.logging_setup import log_to_file
    from kdrtui.services.azure.destroy import Destroy
    from kdrtui.services.azure.provision import Provisioning, ProvisionRefused
    from kdrtui.services.runbook.lock import PlanLocked
    from kdrtui.services.runbook.store import RunbookStore

    plan, path = load_plan_or_exit(plan_arg, required=True)
    assert plan is not None and path is not None
    log_to_file()
    kind = Destroy if command == "destroy" else Provisioning
    held = RunbookStore(plan.plan.name, path).lock()
    try:
        if lock:
            held.acquire(command)
        return kind(
            plan,
            path,
            on_event=printer(as_json),
            confirm_host_key=host_key_decision(accept_new),
            lock=held if lock else None,
        )
    except (ProvisionRefused, PlanLocked) as exc:
        held.release()
        _refuse(command, str(exc))
        raise  # unreachable: _refuse exits


def _show_dry_run(facade: Provisioning, out: Any, before: str | None = None) -> list[dict[str, Any]]:
    """Print what every step would do. ``before``: the command the dry run comes before; when Azure cannot
    be read, that command is refused (exit 2: nothing started), else the dry run failed (exit 1)."""
    from kdrtui.services.azure.arm_errors import arm_error_text

    def quiet(_event: RunEvent) -> None:
        """A dry run's steps look at Azure: their per-resource lines are noise before the list."""

    try:
        planned = asyncio.run(facade.dry_run(quiet))
    except Exception as exc:  # the dry run reads Azure: say why it could not, plainly
        if before is not None:
            _refuse(before, f"cannot look at Azure: {arm_error_text(exc)}; nothing was changed")
        print(f"cannot look at Azure: {arm_error_text(exc)}", file=sys.stderr)
        sys.exit(1)
    for n, (step, lines) in enumerate(planned, 1):
        print(f"[{n}] {step.title}", file=out)
        for line in lines:
            print(f"    {line}", file=out)
    return [{"step": step.key, "title": step.title, "would": lines} for step, lines in planned]


def _run(command: str, facade: Provisioning, resume: bool, as_json: bool) -> None:
    from kdrtui.services.azure.provision import ProvisionRefused

    try:
        result: RunResult = asyncio.run(facade.run(resume=resume))
    except ProvisionRefused as exc:
        _refuse(command, str(exc))
        return
    out = sys.stderr if as_json else sys.stdout
    print_summary(result.state, {step.key: step.title for step in facade.steps}, out)
    if as_json:
        journal = facade.runner.journal.path if facade.runner else None
        body = {
            "outcome": result.outcome,
            "error": result.error or None,
            "failed_step": result.failed_step,
            "journal": str(journal) if journal else None,
            "steps": steps_json(result.state),
        }
        print(json.dumps(body, indent=2))
    if result.outcome != "completed":
        print(
            f"kdrtui {command}: {result.outcome}; continue with `kdrtui {command} --resume`", file=sys.stderr
        )
        sys.exit(1)


@click.command("provision")
@plan_option
@click.option("--dry-run", is_flag=True, help="List what would be created or changed; change nothing.")
@click.option("--resume", is_flag=True, help="Continue an interrupted provisioning from its journal.")
@click.option("--yes", is_flag=True, help="Do not show the dry run and ask before starting.")
@accept_option
@click.option("--json", "as_json", is_flag=True, help="Print the result (steps, seconds) as JSON.")
def provision_command(
    plan_arg: str | None, dry_run: bool, resume: bool, yes: bool, accept_new_host_key: bool, as_json: bool
) -> None:
    """Provision the plan on Azure HDInsight: resource groups, storage, VNets, peering, the Kafka
    clusters, edge nodes, Kafka's IP advertising, the plan's bootstrap servers, MirrorMaker.

    Every step looks first and creates only what is missing, so running it again changes nothing;
    journaled: --resume continues an interrupted run. Needs the plan's [azure] table and each
    cluster's login password in the environment variable its hdinsight table names.
    """
    facade = _facade("provision", plan_arg, accept_new_host_key, as_json, lock=not dry_run)
    try:
        if dry_run:
            planned = _show_dry_run(facade, sys.stderr if as_json else sys.stdout)
            if as_json:
                print(json.dumps({"dry_run": planned}, indent=2))
            else:
                print("dry run: nothing was changed")
            return
        if not yes and not resume:
            _show_dry_run(facade, sys.stdout, before="provision")
            if not click.confirm("Provision these resources on Azure?", default=False):
                _refuse("provision", "not confirmed; nothing was changed")
        _run("provision", facade, resume, as_json)
    finally:
        facade.lock.release()


@click.command("destroy")
@plan_option
@click.option("--confirm", "confirm_name", metavar="NAME", help="The plan's name, for scripts (no prompt).")
@accept_option
@click.option("--json", "as_json", is_flag=True, help="Print the result (steps, seconds) as JSON.")
def destroy_command(
    plan_arg: str | None, confirm_name: str | None, accept_new_host_key: bool, as_json: bool
) -> None:
    """Delete what `kdrtui provision` created for the plan (and only that): MirrorMaker is stopped, then
    edge nodes, clusters, peerings, VNets, storage accounts and the resource groups kdrtui created.

    Asks for the plan's name typed in full (--confirm NAME for scripts); a wrong name deletes nothing.
    """
    facade = _facade("destroy", plan_arg, accept_new_host_key, as_json)
    try:
        name = facade.plan.plan.name
        if confirm_name is None:
            _show_dry_run(facade, sys.stdout, before="destroy")
            confirm_name = click.prompt(
                f"Type the plan's name ({name}) to delete these resources", default="", show_default=False
            )
        if confirm_name.strip() != name:
            _refuse(
                "destroy",
                f"you typed {confirm_name.strip()!r}, not the plan's name {name!r}; nothing was deleted",
            )
        _run("destroy", facade, False, as_json)
    finally:
        facade.lock.release()
