"""The topology wizard's parts (:mod:`kdrtui.tui.screens.wizard`): the form widgets, and the renderables
of the topology comparison and of the review (the dialog asking where to write the plan is in
:mod:`kdrtui.tui.screens.dialogs`)."""

from __future__ import annotations

from collections.abc import Callable

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from kdrtui.domain.plan import PlanInvalid, Topology
from kdrtui.domain.topologies import TOPOLOGIES
from kdrtui.domain.wizard import (
    LABELS,
    Resource,
    WizardAnswers,
    build_plan,
    monthly_cost,
    plan_toml,
    provisioning_steps,
    resources,
)

TOPOLOGY_KEYS: dict[Topology, str] = {
    Topology.HOT_STANDBY: "h",
    Topology.COLD_STANDBY: "c",
    Topology.ACTIVE_ACTIVE: "a",
}
"""The letter that picks each topology on the first step."""

ROWS: tuple[tuple[str, str], ...] = (
    ("RPO", "rpo"),
    ("RTO", "rto"),
    ("Cost", "cost"),
    ("Runs\nwhere", "runs_where"),
    ("Apps\nmust", "apps_must"),
)
"""(label, TopologyInfo attribute) of each row of the comparison table."""


class FieldRow(Vertical):
    """One form field: its label (25 columns; labels are at most 24 characters) and its input on a line,
    its error (when it has one) under the input."""

    def __init__(self, field: str, label: str, control: Widget) -> None:
        super().__init__(id=f"wiz-row-{field}", classes="wiz-row")
        self.field = field
        """The answer this row edits (``password`` for the masked login password)."""
        self.label = label
        """The label shown left of the input."""
        self.control = control
        """The Input or Select."""

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static(Text(self.label), classes="wiz-label")
            yield self.control
        yield Static("", id=f"wiz-{self.field}-error", classes="wiz-error")

    def show_error(self, error: str | None) -> None:
        """Show the field's error under it, or hide the line."""
        line = self.query_one(".wiz-error", Static)
        line.update(Text(error or ""))
        line.set_class(bool(error), "-shown")


class Form(VerticalScroll, can_focus=False, inherit_bindings=False):
    """A step's fields; scrolls when they do not fit (the focused field is kept in view). It takes no
    keys: up and down move between the fields, pgup and pgdn between the steps."""


def comparison_table(chosen: Topology | None) -> Table:
    """The topology step's table: the three topologies side by side, ``chosen`` highlighted."""
    table = Table(
        box=None, expand=True, show_edge=False, pad_edge=False, padding=(0, 1), collapse_padding=True
    )
    table.add_column("", width=5, no_wrap=True)
    for info in TOPOLOGIES:
        mine = info.topology == chosen
        header = Text(f"{'▶' if mine else ' '} {TOPOLOGY_KEYS.get(info.topology, '')} {info.title}")
        header.stylize("bold reverse" if mine else "bold")
        table.add_column(header, ratio=1, style="" if mine else "dim")
    for label, attribute in ROWS:
        cells = (Text(str(getattr(info, attribute))) for info in TOPOLOGIES)
        table.add_row(Text(label, style="bold"), *cells)
    return table


def cost_table(answers: WizardAnswers) -> Table:
    """The review's Azure resources, by region, with their monthly list price."""
    cost = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True, padding=(0, 1))
    cost.add_column("Azure resource", width=16, no_wrap=True, overflow="ellipsis")
    cost.add_column("name", ratio=1, no_wrap=True, overflow="ellipsis")
    cost.add_column("size", ratio=1, no_wrap=True, overflow="ellipsis")
    cost.add_column("USD/mo", width=7, justify="right", no_wrap=True)
    by_region: dict[str, list[Resource]] = {}
    for item in resources(answers):
        by_region.setdefault(item.region, []).append(item)
    for region, items in by_region.items():
        cost.add_row(Text(region, style="bold underline"), end_section=False)
        for item in items:
            usd = "—" if item.monthly_usd is None else f"{item.monthly_usd:,.0f}"
            cells = (item.kind, item.name, item.detail, usd)
            cost.add_row(*(Text(str(cell)) for cell in cells))
    return cost


def provisioning_text(answers: WizardAnswers) -> Text:
    """The review's numbered provisioning steps."""
    steps = Text("\nProvisioning steps, in order:", style="bold")
    for number, line in enumerate(provisioning_steps(answers), start=1):
        steps.append(f"\n{number:>2}. ")
        steps.append(str(line))
    return steps


def review_renderable(
    answers: WizardAnswers, read_only: bool, colour: Callable[[str], str]
) -> tuple[RenderableType, list[str]]:
    """The review step: whether the plan is valid (else its problems, as lines, returned too), its
    estimated cost, what provisioning would create and the plan as TOML."""
    parts: list[RenderableType] = []
    head = Text()
    problems: list[str] = []
    try:
        build_plan(answers)
        head.append("The plan is valid. ", style=f"bold {colour('success')}")
        if read_only:
            head.append("Read-only: writing it is not offered.", style="dim")
        else:
            head.append("w writes it to a file.", style="dim")
    except PlanInvalid as exc:
        problems = [f"{LABELS.get(p.field, p.field)}: {p.message}" for p in exc.problems]
        count = len(problems)
        head.append(
            f"The plan has {count} problem{'s' if count != 1 else ''}; pgup goes back to fix:",
            style=f"bold {colour('error')}",
        )
        for line in problems:
            head.append(f"\n  {line}", style=colour("error"))
    parts.append(head)

    total, price_date = monthly_cost(answers)
    parts.append(
        Text.assemble(
            ("\nEstimated cost: ", "bold"),
            (f"{total:,.0f} USD a month", "bold"),
            (f" (list prices of {price_date}; no taxes or discounts; — not estimated)", "dim"),
        )
    )
    parts += [cost_table(answers), provisioning_text(answers)]
    toml = Text("\nThe plan as TOML:\n", style="bold")
    try:
        toml.append(plan_toml(answers).rstrip("\n"), style="not bold")
    except PlanInvalid:
        toml.append("(shown once the problems above are fixed)", style="dim")
    parts.append(toml)
    return Group(*parts), problems
