"""``kdrtui console`` (the default command) and ``kdrtui demo``."""

from __future__ import annotations

import click

from kdrtui.commands.options import ALERT_HELP, load_plan_or_exit


def run_console(plan_arg: str | None, theme: str, read_only: bool, alert_command: str | None = None) -> None:
    """Open the console on a plan."""
    from kdrtui.logging_setup import log_to_file
    from kdrtui.tui.app import make_app
    from kdrtui.tui.factories import readiness_check
    from kdrtui.tui.themes import ThemeError, load_theme

    try:
        load_theme(theme)
    except ThemeError as exc:
        raise click.BadParameter(str(exc), param_hint="--theme") from exc
    plan, path = load_plan_or_exit(plan_arg, required=False)
    log_to_file()
    app = make_app(
        plan,
        path,
        theme=theme,
        read_only=read_only,
        alert_command=alert_command,
        readiness_check=readiness_check,
    )
    app.run()


@click.command("console")
@click.option("--plan", "plan_arg", metavar="PATH|lab", help="DR plan file, or 'lab' for the lab's plan.")
@click.option(
    "--theme", default="dark", show_default=True, help="dark, light, high-contrast, or a .tcss file."
)
@click.option("--read-only", is_flag=True, help="Offer no action that changes anything.")
@click.option("--alert-command", metavar="CMD", help=ALERT_HELP)
def console_command(plan_arg: str | None, theme: str, read_only: bool, alert_command: str | None) -> None:
    """Open the console (what plain `kdrtui` does)."""
    run_console(plan_arg, theme, read_only, alert_command)


@click.command("demo")
@click.option(
    "--theme", default="dark", show_default=True, help="dark, light, high-contrast, or a .tcss file."
)
@click.option("--rate", type=float, default=20.0, show_default=True, help="Traffic, records per second.")
@click.option("--read-only", is_flag=True, help="Offer no action that changes anything.")
@click.pass_context
def demo_command(ctx: click.Context, theme: str, rate: float, read_only: bool) -> None:
    """Start the lab (reusing it when up), turn traffic on, start MirrorMaker, open the console on the lab."""
    from kdrtui.commands.lab import up_command
    from kdrtui.commands.lab_traffic import traffic_command
    from kdrtui.lab.lab import Lab

    click.echo("kdrtui demo: starting the rehearsal lab (two Apache Kafka clusters on this machine)…")
    ctx.invoke(up_command, timeout=180.0)
    if Lab().traffic.running_pid() is None:
        ctx.invoke(
            traffic_command,
            topics=4,
            partitions=3,
            rate=rate,
            prefix="demo",
            groups_per_topic=1,
            background=True,
        )
    from kdrtui.commands.mm import start_command

    click.echo("Starting MirrorMaker 2 (primary -> dr) on the lab's edge node…")
    try:
        ctx.invoke(start_command, plan_arg="lab", flow=None, node=None, accept_new_host_key=False)
    except click.ClickException as exc:
        # The console still shows the clusters; the Edge pane shows what is wrong with MirrorMaker.
        click.echo(f"MirrorMaker did not start: {exc.message}", err=True)
    click.echo("Opening the console; `kdrtui lab down` stops the lab afterwards.")
    run_console("lab", theme, read_only)
