"""The ``kdrtui`` command line: the console by default, and sub-commands for automation."""

from __future__ import annotations

import click

from kdrtui import __version__
from kdrtui.commands.check import check_command
from kdrtui.commands.console import console_command, demo_command
from kdrtui.commands.events import events_command
from kdrtui.commands.exporter import exporter_command
from kdrtui.commands.failover import failback_command, failover_command
from kdrtui.commands.gameday import gameday_group
from kdrtui.commands.lab import lab_group
from kdrtui.commands.mm import mm_group
from kdrtui.commands.options import ALERT_HELP
from kdrtui.commands.plan import plan_group
from kdrtui.commands.provision import destroy_command, provision_command
from kdrtui.commands.state import state_group
from kdrtui.commands.status import status_command
from kdrtui.commands.watch import watch_command


class KdrGroup(click.Group):
    """The ``kdrtui`` group: a secret the plan names that cannot be read (a password's environment variable
    unset, its file unreadable) ends any command with one line naming the cluster and key, and exit code
    2 (as a bad plan does), never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except RuntimeError as exc:
            from kdrtui.services.kafka.security import SecurityError

            if not isinstance(exc, SecurityError):
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


@click.group(
    cls=KdrGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option("--plan", "plan_arg", metavar="PATH|lab", help="DR plan file, or 'lab' for the lab's plan.")
@click.option("--theme", default="dark", show_default=True, help="dark, light or high-contrast.")
@click.option("--read-only", is_flag=True, help="Offer no action that changes anything.")
@click.option("--alert-command", metavar="CMD", help=ALERT_HELP)
@click.version_option(__version__, prog_name="kdrtui")
@click.pass_context
def main(
    ctx: click.Context, plan_arg: str | None, theme: str, read_only: bool, alert_command: str | None
) -> None:
    """kdrtui: disaster recovery for Apache Kafka on Azure HDInsight.

    With no sub-command it opens the console.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(
            console_command,
            plan_arg=plan_arg,
            theme=theme,
            read_only=read_only,
            alert_command=alert_command,
        )


main.add_command(console_command)
main.add_command(demo_command)
main.add_command(lab_group)
main.add_command(plan_group)
main.add_command(mm_group)
main.add_command(status_command)
main.add_command(exporter_command)
main.add_command(events_command)
main.add_command(watch_command)
main.add_command(check_command)
main.add_command(state_group)
main.add_command(failover_command)
main.add_command(failback_command)
main.add_command(gameday_group)
main.add_command(provision_command)
main.add_command(destroy_command)
