"""What several commands share: the ``--plan`` and ``--accept-new-host-key`` options, loading the plan
(exit 2 on a bad one) and the CLI's answer to an unknown host key.

Commands import these from here, never from each other, so no command module depends on another.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kdrtui import settings

if TYPE_CHECKING:
    from kdrtui.domain.plan import Plan

plan_option = click.option("--plan", "plan_arg", metavar="PATH|lab", help="DR plan file, or 'lab'.")
"""``--plan PATH|lab`` of the commands that act on a plan."""
accept_option = click.option(
    "--accept-new-host-key",
    is_flag=True,
    help="Trust an edge node's host key on first contact without asking (a CHANGED key is always refused).",
)
"""``--accept-new-host-key`` of the commands that reach edge nodes over SSH."""

ALERT_HELP = (
    "Shell command run on every flow or topic health change, with KDRTUI_ALERT_FLOW, _TOPIC, _OLD, "
    "_NEW, _LAG_RECORDS and _LAG_SECONDS set."
)
"""The help of ``--alert-command`` (``kdrtui`` and ``kdrtui console``)."""


def load_plan_or_exit(plan_arg: str | None, *, required: bool) -> tuple[Plan | None, Path | None]:
    """Resolve ``--plan`` and load it; on a bad plan print every problem and exit 2.

    Without ``--plan`` (and without ``KDRTUI_PLAN``) the lab's plan is used when the lab has written one.
    """
    from kdrtui.domain.plan import PlanInvalid
    from kdrtui.domain.safe_text import escape
    from kdrtui.services.plan_files import load_plan

    path = settings.resolve_plan(plan_arg)
    if path is None and settings.lab_plan_path().is_file():
        path = settings.lab_plan_path()
    if path is None:
        if required:
            click.echo("No plan: pass --plan PATH, or --plan lab after `kdrtui lab up`.", err=True)
            sys.exit(2)
        return None, None
    if plan_arg == "lab" and not path.is_file():
        click.echo(f"The lab has no plan yet ({path}): run `kdrtui lab up` first.", err=True)
        sys.exit(2)
    if plan_arg == "lab-azure" and not path.is_file():
        click.echo(
            f"The lab's Azure emulator has no plan yet ({path}): run `kdrtui lab up --azure` first.", err=True
        )
        sys.exit(2)
    try:
        return load_plan(path), path
    except PlanInvalid as invalid:
        for problem in sorted(invalid.problems, key=lambda p: p.line):
            click.echo(str(problem), err=True)
        click.echo(
            f"{len(invalid.problems)} problem(s) in {escape(str(path))}; nothing was changed.", err=True
        )
        sys.exit(2)


def host_key_decision(accept_new: bool) -> Callable[[str, int, str, str], Awaitable[bool]]:
    """What the CLI does with an edge node's unknown host key: trust it with ``--accept-new-host-key``,
    else ask on a terminal, else refuse (a changed key is refused before this is asked)."""

    async def on_unknown_host(host: str, port: int, key_type: str, fingerprint: str) -> bool:
        click.echo(
            f"The host key of {host}:{port} is not known yet.\n  {key_type} key fingerprint: {fingerprint}"
        )
        if accept_new:
            click.echo("  trusted (--accept-new-host-key) and added to known_hosts")
            return True
        if not sys.stdin.isatty():
            click.echo(
                "  refused: no terminal to ask on; check the fingerprint and pass --accept-new-host-key"
            )
            return False
        return click.confirm("  Trust this key and add it to known_hosts?", default=False)

    return on_unknown_host
