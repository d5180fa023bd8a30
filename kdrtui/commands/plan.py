"""``kdrtui plan``: check DR plan files, or write a new one, without opening the console."""

from __future__ import annotations

import click

from kdrtui.domain.plan import PlanInvalid, Topology, summarize
from kdrtui.domain.safe_text import escape
from kdrtui.domain.wizard import FIELD_NAMES, WizardAnswers, default_subnet, monthly_cost, problems, set_field
from kdrtui.services.plan_files import load_plan, write_plan
from kdrtui.settings import resolve_plan

INVALID_EXIT = 2
"""Exit status of ``plan validate`` for a plan with problems (as linters use 2 for bad input)."""


@click.group("plan")
def plan_group() -> None:
    """Check DR plan files, or write a new one (TOML; see the README's 'The DR plan file')."""


@plan_group.command("validate")
@click.argument("path", metavar="PATH|lab")
@click.pass_context
def validate_command(ctx: click.Context, path: str) -> None:
    """Check the plan at PATH, or the lab's plan, and summarise it.

    Every problem is printed as PATH:LINE: field: message, sorted by line, and the exit status is 2.
    Values from the plan are shown escaped and cut, so each problem is one line.
    """
    resolved = resolve_plan(path)
    if resolved is None:  # only when PATH is empty and KDRTUI_PLAN is unset
        raise click.BadParameter("name a plan file, or 'lab'", param_hint="PATH")
    try:
        plan = load_plan(resolved)
    except PlanInvalid as exc:
        for problem in sorted(exc.problems, key=lambda p: p.line):
            click.echo(str(problem))
        count = len(exc.problems)
        click.echo(f"{count} problem{'s' if count != 1 else ''}")
        ctx.exit(INVALID_EXIT)
    click.echo(f"{escape(str(resolved))}: valid")
    for line in summarize(plan):
        click.echo(line)


# --- plan new ---------------------------------------------------------------------------------------

EXISTS_EXIT = 1
"""Exit status of ``plan new`` when the output file exists and --force was not given."""

_NEW_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("--name", "plan_name", "Plan name."),
    ("--primary-region", "primary_region", "Region of the primary site (e.g. eastus)."),
    ("--secondary-region", "secondary_region", "Region of the secondary site (e.g. westus2)."),
    ("--primary-resource-group", "primary_resource_group", "Resource group of the primary site."),
    ("--secondary-resource-group", "secondary_resource_group", "Resource group of the secondary site."),
    ("--primary-vnet", "primary_vnet_name", "VNet name of the primary site."),
    ("--secondary-vnet", "secondary_vnet_name", "VNet name of the secondary site."),
    ("--primary-cidr", "primary_vnet_cidr", "Address space of the primary VNet."),
    ("--secondary-cidr", "secondary_vnet_cidr", "Address space of the secondary VNet."),
    ("--primary-subnet", "primary_subnet_cidr", "Subnet of the primary cluster [first /24 of its VNet]."),
    ("--secondary-subnet", "secondary_subnet_cidr", "Subnet of the secondary cluster [first /24]."),
    ("--primary-cluster", "primary_cluster_name", "HDInsight name of the primary cluster."),
    ("--secondary-cluster", "secondary_cluster_name", "HDInsight name of the secondary cluster."),
    ("--primary-storage", "primary_storage_account", "Storage account of the primary cluster."),
    ("--secondary-storage", "secondary_storage_account", "Storage account of the secondary cluster."),
    ("--workers", "worker_count", "Worker nodes (brokers) per cluster, at least 3."),
    ("--worker-vm-size", "worker_vm_size", "VM size of the brokers."),
    ("--ssh-user", "ssh_user", "SSH user on the cluster nodes."),
    ("--ssh-key-file", "ssh_key_file", "Private key for the edge nodes [the ssh-agent]."),
    ("--login-password-env", "login_password_env", "NAME of the variable holding the login password."),
    ("--topics", "topics_include", "Comma-separated regexes of the topics to mirror."),
    ("--topics-exclude", "topics_exclude", "Comma-separated regexes of topics not to mirror."),
    ("--mirrormaker", "mirrormaker", "mm2 or mm1."),
    ("--naming", "naming", "prefixed or identity."),
    ("--edge-nodes", "edge_node_count", "Edge nodes per target cluster."),
    ("--every-minutes", "schedule_every_minutes", "Cold standby: a batch every N minutes ('' = none)."),
    ("--run-minutes", "schedule_run_minutes", "Cold standby: each batch runs N minutes."),
    ("--cron", "schedule_cron", "Cold standby: cron expression for batch starts instead."),
)


_REQUIRED = frozenset({"--primary-region", "--secondary-region"})


def _new_options(command: click.decorators.FC) -> click.decorators.FC:
    for flag, field, text in reversed(_NEW_OPTIONS):
        option = click.option(flag, field, metavar="VALUE", required=flag in _REQUIRED, help=text)
        command = option(command)
    return command


@plan_group.command("new")
@click.option(
    "--topology",
    type=click.Choice([t.value for t in Topology]),
    required=True,
    help="hot-standby (dual ingest), cold-standby (scheduled batches) or active-active (both ways).",
)
@_new_options
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Any other wizard answer, e.g. --set head_vm_size=Standard_E8_v3 (repeatable).",
)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The plan file to write.")
@click.option("--force", is_flag=True, help="Overwrite the plan file if it exists.")
@click.pass_context
def new_command(
    ctx: click.Context, topology: str, settings: tuple[str, ...], out: str, force: bool, **given: str | None
) -> None:
    """Write a new DR plan for two HDInsight Kafka clusters, as the wizard would.

    Answers not given keep the wizard's defaults. Every problem is printed as field: message and the
    exit status is 2; an existing file is kept (exit 1) unless --force.
    """
    answers = WizardAnswers()
    typed: dict[str, str] = {"topology": topology}
    typed.update({field: value for field, value in given.items() if value is not None})
    for vnet, subnet in (
        ("primary_vnet_cidr", "primary_subnet_cidr"),
        ("secondary_vnet_cidr", "secondary_subnet_cidr"),
    ):
        if vnet in typed and subnet not in typed:
            derived = default_subnet(typed[vnet].strip())
            if derived is not None:
                typed[subnet] = derived
    for setting in settings:
        field, sep, value = setting.partition("=")
        if not sep or field.strip() not in FIELD_NAMES:
            raise click.BadParameter(
                f"'{setting}' is not FIELD=VALUE with a wizard field; fields are: {', '.join(FIELD_NAMES)}",
                param_hint="--set",
            )
        typed[field.strip()] = value
    for field, value in typed.items():
        set_field(answers, field, value)
    found = problems(answers)
    if found:
        for problem in found:
            click.echo(problem.describe(), err=True)
        count = len(found)
        click.echo(f"{count} problem{'s' if count != 1 else ''}; nothing written", err=True)
        ctx.exit(INVALID_EXIT)
    try:
        plan = write_plan(answers, out, force=force)
    except FileExistsError:
        click.echo(f"{out} already exists; pass --force to overwrite it", err=True)
        ctx.exit(EXISTS_EXIT)
    total, dated = monthly_cost(answers)
    click.echo(f"{out}: written and valid")
    for line in summarize(plan):
        click.echo(line)
    click.echo(
        f"Estimated cost: about ${total:,.0f} a month (price table of {dated}; VNet peering traffic not "
        "included; check with the Azure pricing calculator)"
    )
