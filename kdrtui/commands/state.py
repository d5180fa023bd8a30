"""``kdrtui state``: the DR state (which cluster is active, what is fenced) — shown, or rebuilt from the
journals when ``state.json`` is lost or cannot be trusted.

Exit codes: 0 done (``show``: the state is valid), 1 (``show``) the state file is unreadable, 2 bad input
or another operation holds the plan.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from kdrtui.commands.options import load_plan_or_exit, plan_option


@click.group("state")
def state_group() -> None:
    """The DR state of a plan: which cluster clients use, what the last failover fenced."""


def _describe(state: Any) -> list[str]:
    import time

    since = (
        time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(state.since)) if state.since is not None else "-"
    )
    lines = [f"active: {state.active} (since {since}, by {state.operation or 'nobody: never switched'})"]
    for alias, record in sorted(state.fenced.items()):
        topics = record.get("topics", {})
        lines.append(f"fenced: {alias} ({record.get('method')}, {len(topics)} topic(s))")
        nsg = record.get("nsg")
        if isinstance(nsg, dict):  # the NSG fence: what failback removes from Azure
            made = "created by the fence" if nsg.get("created") else "already there"
            rules = ", ".join(nsg.get("rules") or []) or "none"
            lines.append(f"  NSG {nsg.get('nsg')} ({made}): rules {rules}")
    if not state.fenced:
        lines.append("fenced: nothing")
    lines.append(f"reverse replication: {state.reverse_flow or 'none'}")
    return lines


@state_group.command("show")
@plan_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_command(plan_arg: str | None, as_json: bool) -> None:
    """Print the DR state, or why it cannot be read (exit 1)."""
    from kdrtui.services.runbook.store import RunbookStore, StateInvalid

    plan, path = load_plan_or_exit(plan_arg, required=True)
    assert plan is not None
    store = RunbookStore(plan.plan.name, path)
    try:
        state = store.load_state(plan.primary_alias, plan.clusters)
    except StateInvalid as exc:
        if as_json:
            click.echo(json.dumps({"state": None, "error": str(exc), "problems": exc.problems}, indent=2))
        else:
            click.echo(f"{exc}\n{exc.repair}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(
            json.dumps({"state": state.to_dict(), "error": None, "path": str(store.state_path)}, indent=2)
        )
        return
    for line in _describe(state):
        click.echo(line)


@state_group.command("rebuild")
@plan_option
@click.option("--dry-run", is_flag=True, help="Print the state the journals give; write nothing.")
def rebuild_command(plan_arg: str | None, dry_run: bool) -> None:
    """Derive the DR state from the plan's failover/failback journals and write it to state.json.

    Every run journals each state it writes before writing it, so the journals hold the truth even when
    state.json is lost, cut or edited by hand. --dry-run shows what would be written.
    """
    from kdrtui.services.runbook.lock import PlanLocked
    from kdrtui.services.runbook.rebuild import derive_state
    from kdrtui.services.runbook.store import RunbookStore, StateInvalid

    plan, path = load_plan_or_exit(plan_arg, required=True)
    assert plan is not None
    store = RunbookStore(plan.plan.name, path)
    lock = store.lock()
    try:
        if not dry_run:
            lock.acquire("state rebuild")
        derived = derive_state(plan, store)
        try:
            now = (
                f"state.json now: {', '.join(_describe(store.load_state(plan.primary_alias, plan.clusters)))}"
            )
        except StateInvalid as exc:
            now = f"state.json now: {exc}"
        click.echo(now if store.state_path.exists() else "state.json now: none")
        click.echo(f"from {derived.source}:")
        for line in _describe(derived.state):
            click.echo(f"  {line}")
        for warning in derived.warnings:
            click.echo(f"warning: {warning}", err=True)
        if dry_run:
            click.echo("dry run: nothing was written")
            return
        store.save_state(derived.state)
        store.audit("state rebuild", plan.plan.name, "completed", active=derived.state.active)
        click.echo(f"written: {store.state_path}")
    except PlanLocked as exc:
        click.echo(f"kdrtui state rebuild: {exc}", err=True)
        sys.exit(2)
    finally:
        lock.release()
