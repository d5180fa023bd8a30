"""Topology wizard: choose hot standby, cold standby or active-active, fill in the sites, clusters,
replication and objectives, review the plan, its Azure resources and their cost, and write the plan file.

Six steps (``kdrtui.domain.wizard.STEPS``): the topology comparison, four forms, and the review. Every
form field is parsed and checked as it is typed (``set_field``) and its error is shown under it; Next
(pgdn or ctrl+n) refuses a step with errors and names the fields; Back (pgup or ctrl+b) keeps every
answer. The cluster login password is typed into a masked field and kept only in this screen's memory:
the plan names the environment variable that holds it (``login_password_env``) and never the password.
Writing the file (``w`` on the review) is the one mutating action, hidden under ``--read-only``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Input, Select, Static

from kdrtui.domain.plan import PlanInvalid
from kdrtui.domain.topologies import TOPOLOGIES
from kdrtui.domain.wizard import (
    CHOICES,
    FIELDS,
    HELP,
    LABELS,
    STEPS,
    WizardAnswers,
    answers_from_plan,
    build_plan,
    field_text,
    set_field,
    step_errors,
    step_note,
    visible_fields,
)
from kdrtui.services.plan_files import write_plan
from kdrtui.tui.screens.base import ModeScreen
from kdrtui.tui.screens.dialogs import ConfirmScreen, PathScreen
from kdrtui.tui.widgets.wizard_form import (
    TOPOLOGY_KEYS,
    FieldRow,
    Form,
    comparison_table,
    review_renderable,
)

if TYPE_CHECKING:
    from kdrtui.domain.plan import Plan

STEP_TITLES: dict[str, str] = {
    "topology": "Topology",
    "sites": "Sites",
    "clusters": "Clusters",
    "replication": "Replication",
    "objectives": "Objectives",
    "review": "Review",
}
"""Each step's name in the step bar."""

FORM_STEPS: tuple[str, ...] = tuple(step for step in STEPS if step not in ("topology", "review"))
"""The steps that are forms of fields only."""

PASSWORD_AFTER = FIELDS["clusters"][-1]
"""The masked password field is shown after this field (the last of the clusters step)."""
PASSWORD_WITH = "login_password_env"
"""The masked password field is shown when this field is."""


class WizardScreen(ModeScreen):
    """The topology wizard: six steps from the choice of topology to a written DR plan file."""

    MODE = "wizard"
    MUTATING = frozenset({"write"})
    AUTO_FOCUS = ""
    CSS_PATH = "wizard.tcss"
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("pageup", "back", "Back", key_display="pgup", priority=True, id="wizard.back"),
        Binding("ctrl+b", "back", "Back", show=False, priority=True, id="wizard.back-ctrl"),
        Binding("pagedown", "next", "Next", key_display="pgdn", priority=True, id="wizard.next"),
        Binding("ctrl+n", "next", "Next", show=False, priority=True, id="wizard.next-ctrl"),
        Binding("w", "write", "Write plan", id="wizard.write"),
        Binding("up", "move(-1)", "Previous topology / field", show=False, id="wizard.up"),
        Binding("down", "move(1)", "Next topology / field", show=False, id="wizard.down"),
        Binding("enter", "choose", "Take this topology", show=False, id="wizard.choose"),
        *(
            Binding(key, f"pick('{topology.value}')", f"Pick {topology.value}", show=False)
            for topology, key in TOPOLOGY_KEYS.items()
        ),
        Binding("f1", "help", "Help", key_display="f1", id="wizard.help"),
        Binding("escape", "leave_field", "Leave the field", show=False, id="wizard.leave"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.answers = WizardAnswers()
        """What the operator has answered so far."""
        self.editing: Path | None = None
        """The plan file the answers were read from (None: a new plan from the defaults)."""
        self.step = STEPS[0]
        """The step shown."""
        self.login_password = ""
        """The cluster login password as typed: in this screen's memory only, never written anywhere."""
        self.written: Path | None = None
        """Where the plan was last written."""
        self.problems: list[str] = []
        """The plan's problems the last time the review built it, as lines."""
        self._seeded = False

    # -- layout -------------------------------------------------------------------------------------

    def _seed(self) -> None:
        """Start from the app's plan when one is open, else from the defaults."""
        if self._seeded:
            return
        self._seeded = True
        plan = self.plan
        if plan is not None:
            self.answers = answers_from_plan(plan)
            self.editing = self.plan_path

    def compose_body(self) -> ComposeResult:
        self._seed()
        yield Static("", id="wiz-steps")
        yield Static("", id="wiz-context")
        with ContentSwitcher(initial="wiz-topology", id="wiz-switcher"):
            with Form(id="wiz-topology", classes="wiz-form"):
                yield Static("", id="wiz-compare")
                yield Static("", id="wiz-sentence")
                for field in FIELDS["topology"]:
                    if field != "topology":
                        yield FieldRow(field, LABELS[field], self._control(field))
            for step in FORM_STEPS:
                with Form(id=f"wiz-{step}", classes="wiz-form"):
                    yield Static("", id=f"wiz-{step}-note", classes="wiz-note")
                    for field in FIELDS[step]:
                        yield FieldRow(field, LABELS[field], self._control(field))
                        if field == PASSWORD_AFTER:
                            yield from self._password_rows()
            with VerticalScroll(id="wiz-review"):
                yield Static("", id="wiz-review-text")
        yield Static("", id="wiz-help")
        yield Static("", id="wiz-status")

    def _control(self, field: str) -> Widget:
        text = field_text(self.answers, field)
        if field in CHOICES:
            values = [str(getattr(member, "value", member)) for member in CHOICES[field]]
            return Select(
                [(value, value) for value in values],
                value=text if text in values else Select.NULL,
                allow_blank=text not in values,
                compact=True,
                id=f"wiz-{field}",
            )
        return Input(text, compact=True, id=f"wiz-{field}")

    def _password_rows(self) -> ComposeResult:
        masked = Input(self.login_password, password=True, compact=True, id="wiz-password")
        yield FieldRow("password", "Login password", masked)
        yield Static(
            Text("Kept in this session's memory only, never written: the plan names the variable above."),
            id="wiz-password-note",
            classes="wiz-note",
        )

    def on_mount(self) -> None:
        self._show_step(self.step)

    def on_screen_resume(self) -> None:
        self.refresh_bindings()

    # -- keys ---------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if not allowed:
            return allowed
        if action == "next":
            return self.step != STEPS[-1]
        if action == "back":
            return self.step != STEPS[0]
        if action == "write":
            return self.step == "review"
        if action in ("pick", "choose"):
            return self.step == "topology"
        if action == "move":
            return self.step != "review"
        if action in ("help", "leave_field"):
            # In a text field ? and q are typed, so f1 shows the keys and Esc leaves the field.
            return isinstance(self.focused, Input)
        return True

    def action_help(self) -> None:
        """Show every key that works here (f1 works inside a text field, where ? is typed)."""
        self.kdr_app.action_help()

    def action_leave_field(self) -> None:
        """Leave the text field, so that single-letter keys act again (↓ or Tab goes back in)."""
        self.set_focus(None)

    def action_next(self) -> None:
        """Go to the next step, unless this one has errors (then say which fields are wrong)."""
        index = STEPS.index(self.step)
        if index == len(STEPS) - 1:
            return
        errors = self.current_errors()
        if errors:
            self._refresh_errors()
            names = ", ".join(LABELS.get(field, field) for field in errors)
            self._status(f"Fix before going on: {names}", "error")
            first = next(iter(errors))
            if self.query(f"#wiz-{first}"):
                self.query_one(f"#wiz-{first}").focus()
            return
        self._show_step(STEPS[index + 1])

    def action_back(self) -> None:
        """Go to the previous step; every answer is kept."""
        index = STEPS.index(self.step)
        if index > 0:
            self._show_step(STEPS[index - 1])

    def action_move(self, delta: int) -> None:
        """In a form: the previous or next field; on the topology table: the previous or next topology (from
        the plan name field: back to the table)."""
        if self.step == "topology" and self.focused is not None:
            self.set_focus(None)  # from the plan name back to the table
            return
        if self.step != "topology":
            if delta > 0:
                self.focus_next()
            else:
                self.focus_previous()
            return
        order = [info.topology for info in TOPOLOGIES]
        chosen = order[(order.index(self.answers.topology) + delta) % len(order)]
        self.action_pick(chosen.value)

    def action_pick(self, topology: str) -> None:
        """Choose a topology on the first step."""
        if self.step != "topology":
            return
        error = set_field(self.answers, "topology", topology)
        self._draw_topology()
        self._refresh_errors()
        self._status(error or "", "error")

    def action_choose(self) -> None:
        """Enter on the topology table: keep the highlighted topology and go on."""
        self.action_next()

    # -- steps --------------------------------------------------------------------------------------

    def current_errors(self) -> dict[str, str]:
        """The errors of the fields the step shows (text that did not parse first), by field."""
        return dict(step_errors(self.answers, self.step))

    def _show_step(self, step: str) -> None:
        self.step = step
        self._status("")
        self._draw_steps()
        self.query_one("#wiz-switcher", ContentSwitcher).current = f"wiz-{step}"
        if step == "review":
            self._draw_review()
            self._help("")
            self.query_one("#wiz-review", VerticalScroll).focus()
        else:
            self._sync_form(step)
            if step == "topology":
                self.set_focus(None)
                self._draw_topology()
                self._help("")
            else:
                first = next(iter(visible_fields(self.answers, step)), None)
                if first is not None:
                    self.query_one(f"#wiz-{first}").focus()
                else:
                    self.set_focus(None)
                    self._help("")
        self.refresh_bindings()

    def _draw_steps(self) -> None:
        bar = Text()
        index = STEPS.index(self.step)
        for number, step in enumerate(STEPS):
            if number:
                bar.append(" > ", style="dim")
            title = STEP_TITLES.get(step, step)
            if step == self.step:
                bar.append(f" {title} ", style="bold reverse")
            else:
                bar.append(title, style="" if number < index else "dim")
        bar.append(f"   step {index + 1}/{len(STEPS)}", style="dim")
        self.query_one("#wiz-steps", Static).update(bar)
        context = Text()
        if self.editing is not None:
            context.append("editing ", style="dim")
            context.append(str(self.editing), style="bold")
        else:
            context.append("new plan", style="bold")
            context.append(" from the defaults", style="dim")
        if self.written is not None:
            context.append(" · written to ", style="dim")
            context.append(str(self.written))
        self.query_one("#wiz-context", Static).update(context)

    # -- topology step ------------------------------------------------------------------------------

    def _draw_topology(self) -> None:
        self.query_one("#wiz-compare", Static).update(comparison_table(self.answers.topology))
        sentence = Text(step_note(self.answers, "topology"))
        sentence.append("\n↑↓ or h/c/a choose · Enter or pgdn goes on · Tab: the plan name", style="dim")
        self.query_one("#wiz-sentence", Static).update(sentence)

    # -- form steps ---------------------------------------------------------------------------------

    def _sync_form(self, step: str) -> None:
        """Fill the step's controls from the answers, show only the visible fields and their errors."""
        for field in FIELDS[step]:
            if field in self.answers.input_errors or not self.query(f"#wiz-{field}"):
                continue  # keep the text that did not parse; the topology has no field of its own
            text = field_text(self.answers, field)
            control = self.query_one(f"#wiz-{field}")
            if isinstance(control, Input) and control.value != text:
                with control.prevent(Input.Changed):
                    control.value = text
            elif isinstance(control, Select) and text and control.value != text:
                with control.prevent(Select.Changed):
                    control.value = text
        self._refresh_visibility(step)
        self._refresh_errors()

    def _refresh_visibility(self, step: str) -> None:
        if step not in FORM_STEPS:
            return
        visible = set(visible_fields(self.answers, step))
        form = self.query_one(f"#wiz-{step}", Form)
        for row in form.query(FieldRow):
            row.display = row.field in visible or (row.field == "password" and PASSWORD_WITH in visible)
        if step == "clusters":
            form.query_one("#wiz-password-note").display = PASSWORD_WITH in visible
        note = form.query_one(f"#wiz-{step}-note", Static)
        text = step_note(self.answers, step)
        note.update(Text(text + ("\nNothing to set here: pgdn goes on." if not visible else "")))
        note.display = bool(text) or not visible

    def _refresh_errors(self) -> None:
        """Show the error of every field of the step shown (one check of the whole plan)."""
        if self.step == "review":
            return
        errors = step_errors(self.answers, self.step)
        for row in self.query_one(f"#wiz-{self.step}", Form).query(FieldRow):
            if row.field != "password":
                row.show_error(errors.get(row.field))

    def _changed(self, field: str, text: str) -> None:
        set_field(self.answers, field, text)
        self._refresh_visibility(self.step)
        self._refresh_errors()
        self._status("")

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        field = (event.input.id or "").removeprefix("wiz-")
        if field == "password":
            event.stop()
            self.login_password = event.value
        elif field in LABELS:
            event.stop()
            self._changed(field, event.value)

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        field = (event.select.id or "").removeprefix("wiz-")
        if field in LABELS and isinstance(event.value, str):
            event.stop()
            self._changed(field, event.value)

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves to the next field; on the step's last field, to the next step."""
        field = (event.input.id or "").removeprefix("wiz-")
        if field != "password" and field not in LABELS:
            return
        event.stop()
        order = self._field_order()
        if order and field == order[-1]:
            self.action_next()
        else:
            self.focus_next()

    def _field_order(self) -> list[str]:
        """The fields the step shows, in order, the masked password included."""
        order = [field for field in visible_fields(self.answers, self.step) if field != "topology"]
        if self.step == "clusters" and PASSWORD_WITH in order:
            order.append("password")  # its row comes after the step's last field
        return order

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.refresh_bindings()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.refresh_bindings()
        field = (event.widget.id or "").removeprefix("wiz-")
        if field == "password":
            self._help("Optional; typed here for this session only, never written to any file.")
        elif field in HELP:
            self._help(HELP[field])

    # -- review -------------------------------------------------------------------------------------

    def _draw_review(self) -> None:
        review, self.problems = review_renderable(self.answers, self.read_only, self.colour)
        self.query_one("#wiz-review-text", Static).update(review)

    def action_write(self) -> None:
        """Write the plan file: ask where (and before overwriting a file)."""
        if self.step != "review" or self.read_only:
            return
        try:
            plan = build_plan(self.answers)
        except PlanInvalid as exc:
            self._draw_review()
            count = len(exc.problems)
            self._status(f"Not written: the plan has {count} problem{'s' if count != 1 else ''}.", "error")
            return

        def where(path_text: str | None) -> None:
            if not path_text:
                self._status("Not written.", "warning")
                return
            path = Path(path_text).expanduser()
            if path.is_dir():
                self._status(f"Not written: {path} is a directory.", "error")
                return
            if not path.exists():
                self._write(plan, path)
                return

            def overwrite(yes: bool | None) -> None:
                if yes:
                    self._write(plan, path)
                else:
                    self._status(f"Not written: {path} exists.", "warning")

            self.app.push_screen(ConfirmScreen(f"{path} exists. Overwrite it?"), overwrite)

        self.app.push_screen(PathScreen(self.default_path()), where)

    def default_path(self) -> str:
        """The plan file that was opened, else ./<plan name>.toml."""
        opened = self.plan_path
        if self.plan is not None and opened is not None:
            return str(opened)
        return f"./{self.answers.plan_name}.toml"

    def _write(self, plan: Plan, path: Path) -> None:
        # The file is exactly the TOML the review shows (with its comments); overwriting was confirmed.
        try:
            write_plan(self.answers, path, force=True)
        except PlanInvalid as exc:
            self._status(f"Not written: {exc}", "error")
            return
        except OSError as exc:
            self._status(f"Not written to {path}: {exc.strerror or exc}", "error")
            return
        self.written = path.absolute()
        self._draw_steps()
        self._status(f"written to {self.written}", "success")

    # -- messages -----------------------------------------------------------------------------------

    def _status(self, text: str, colour: str = "") -> None:
        status = self.query_one("#wiz-status", Static)
        status.update(Text(text, style=self.colour(colour)))
        status.display = bool(text)

    def _help(self, text: str) -> None:
        line = self.query_one("#wiz-help", Static)
        line.update(Text(text))
        line.display = bool(text)
