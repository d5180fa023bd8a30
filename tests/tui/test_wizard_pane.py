"""The Topology wizard pane driven through Pilot (keys only where a person would press them; no Kafka).

Expected messages come from the domain (``field_error``), so these tests follow its wording.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from kdrtui.domain.plan import Topology
from kdrtui.domain.wizard import (
    FIELDS,
    LABELS,
    STEPS,
    WizardAnswers,
    build_plan,
    field_error,
    set_field,
    visible_fields,
)
from kdrtui.services.plan_files import load_plan, save_plan
from kdrtui.tui.app import KdrApp, make_app
from kdrtui.tui.screens.dialogs import ConfirmScreen, HelpScreen
from kdrtui.tui.screens.wizard import PathScreen, WizardScreen
from tests.tui.fakes import ScriptedProbes
from tests.tui.pilot_helpers import until

PASSWORD = "Sup3r-Secret-Pa55word!"


def build(plan_path: Path | None = None, *, read_only: bool = False) -> KdrApp:
    plan = load_plan(plan_path) if plan_path is not None else None
    return make_app(
        plan, plan_path, probe_factory=ScriptedProbes(), refresh_interval=3600, read_only=read_only
    )


def pane(app: KdrApp) -> WizardScreen:
    screen = app.screen
    assert isinstance(screen, WizardScreen), f"not the wizard: {screen!r}"
    return screen


def plain(widget: Static, width: int = 78) -> str:
    """What a Static shows, as plain text (tables and groups rendered the way the screen does)."""
    content = widget.content
    if isinstance(content, str):
        return content
    if isinstance(content, Text):
        return content.plain
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(content)
    return console.export_text()


def text_of(app: KdrApp, selector: str) -> str:
    return plain(pane(app).query_one(selector, Static))


def status(app: KdrApp) -> str:
    return text_of(app, "#wiz-status")


def error_line(app: KdrApp, field: str) -> Static:
    return pane(app).query_one(f"#wiz-{field}-error", Static)


async def open_wizard(pilot: Pilot[None]) -> WizardScreen:
    await pilot.press("2")
    await until(pilot, lambda: isinstance(pilot.app.screen, WizardScreen), what="wizard shown")
    return pane(pilot.app)  # type: ignore[arg-type]


async def go_next(pilot: Pilot[None], expected: str) -> None:
    await pilot.press("pagedown")
    await until(pilot, lambda: pane(pilot.app).step == expected, what=f"step {expected}")  # type: ignore[arg-type]


async def go_to(pilot: Pilot[None], step: str) -> None:
    app: KdrApp = pilot.app  # type: ignore[assignment]
    for following in STEPS[STEPS.index(pane(app).step) + 1 : STEPS.index(step) + 1]:
        await go_next(pilot, following)


async def type_into(pilot: Pilot[None], field: str, text: str) -> None:
    """Focus a field with the keyboard-equivalent focus call, clear it with keys, type the text."""
    app: KdrApp = pilot.app  # type: ignore[assignment]
    control = pane(app).query_one(f"#wiz-{field}", Input)
    control.focus()
    await until(pilot, lambda: app.focused is control, what=f"{field} focused")
    await pilot.press("end", "ctrl+u", *text)
    await until(pilot, lambda: control.value == text, what=f"{field} = {text!r}")


async def choose(pilot: Pilot[None], field: str, value: str) -> None:
    """Pick a value of a Select with the keyboard: open it, type the value (type to search), Enter."""
    app: KdrApp = pilot.app  # type: ignore[assignment]
    select = pane(app).query_one(f"#wiz-{field}", Select)
    select.focus()
    await until(pilot, lambda: app.focused is select, what=f"{field} focused")
    await pilot.press("enter")
    await until(pilot, lambda: select.expanded, what=f"{field} open")
    await pilot.press(*value, "enter")
    await until(pilot, lambda: select.value == value, what=f"{field} = {value}")


async def write_to(pilot: Pilot[None], path: Path) -> None:
    """w on the review, the path typed over the default, Enter."""
    app: KdrApp = pilot.app  # type: ignore[assignment]
    await pilot.press("w")
    await until(pilot, lambda: isinstance(app.screen, PathScreen), what="path prompt")
    await pilot.press("end", "ctrl+u", *str(path), "enter")


# -- each topology, end to end -------------------------------------------------------------------------


@pytest.mark.parametrize("topology", list(Topology), ids=[t.value for t in Topology])
async def test_each_topology_to_a_written_plan(topology: Topology, tmp_path: Path) -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        wizard = await open_wizard(pilot)
        assert wizard.step == "topology" and wizard.editing is None
        key = {Topology.HOT_STANDBY: "h", Topology.COLD_STANDBY: "c", Topology.ACTIVE_ACTIVE: "a"}[topology]
        await pilot.press(key)
        await until(pilot, lambda: wizard.answers.topology is topology, what="topology picked")
        assert "▶" in text_of(app, "#wiz-compare")
        await type_into(pilot, "plan_name", f"{topology.value}-dr")
        await pilot.press("enter")  # the topology step's last field: on to the next step
        await until(pilot, lambda: wizard.step == "sites", what="sites")

        await type_into(pilot, "primary_region", "northeurope")
        await type_into(pilot, "secondary_region", "westeurope")
        await go_next(pilot, "clusters")
        await type_into(pilot, "primary_cluster_name", f"{topology.value}-eu-north")
        await type_into(pilot, "password", PASSWORD)
        assert wizard.login_password == PASSWORD
        assert pane(app).query_one("#wiz-password", Input).password
        assert "never written" in text_of(app, "#wiz-password-note")
        await go_next(pilot, "replication")

        shown = set(visible_fields(wizard.answers, "replication"))
        for field in FIELDS["replication"]:
            assert pane(app).query_one(f"#wiz-row-{field}").display == (field in shown), field
        if topology is Topology.HOT_STANDBY:
            assert not shown
            assert "mirrors nothing" in text_of(app, "#wiz-replication-note")
        else:
            assert "topics_include" in shown
            schedule = "schedule_every_minutes" in shown
            assert schedule == (topology is Topology.COLD_STANDBY)
            await type_into(pilot, "topics_include", "orders.*, payments")
        await go_to(pilot, "review")

        review = text_of(app, "#wiz-review-text")
        assert "The plan is valid" in review
        assert "USD a month" in review and "list prices of" in review
        assert "Provisioning steps" in review and f'name = "{topology.value}-dr"' in review
        path = tmp_path / f"{topology.value}.toml"
        await write_to(pilot, path)
        await until(pilot, lambda: isinstance(app.screen, WizardScreen) and path.exists(), what="written")
        await until(pilot, lambda: f"written to {path}" in status(app), what="written message")

        written = load_plan(path)
        assert written == build_plan(wizard.answers)
        assert written.plan.topology is topology
        assert written.clusters[written.primary_alias].region == "northeurope"
        assert PASSWORD not in path.read_text(encoding="utf-8")
        assert "never written" not in path.read_text(encoding="utf-8")


# -- bad input ----------------------------------------------------------------------------------------


BAD_INPUTS = [
    pytest.param(Topology.COLD_STANDBY, "secondary_region", "eastus", id="same-region-twice"),
    pytest.param(Topology.COLD_STANDBY, "secondary_vnet_cidr", "10.0.0.0/16", id="overlapping-cidrs"),
    pytest.param(Topology.COLD_STANDBY, "primary_cluster_name", "ab", id="2-character-cluster-name"),
    pytest.param(Topology.COLD_STANDBY, "ssh_user", "admin", id="reserved-name"),
    pytest.param(Topology.COLD_STANDBY, "worker_count", "2", id="2-workers"),
    pytest.param(Topology.COLD_STANDBY, "primary_storage_account", "Bad_Store", id="bad-storage-account"),
    pytest.param(Topology.COLD_STANDBY, "worker_count", "three", id="not-a-number"),
]


def step_of(field: str) -> str:
    return next(step for step in STEPS if field in FIELDS[step])


@pytest.mark.parametrize(("topology", "field", "text"), BAD_INPUTS)
async def test_bad_input_shows_its_message_and_next_is_refused(
    topology: Topology, field: str, text: str
) -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        wizard = await open_wizard(pilot)
        step = step_of(field)
        await go_to(pilot, step)
        await type_into(pilot, field, text)

        expected = field_error(wizard.answers, field)
        assert expected, f"the domain finds nothing wrong with {field} = {text!r}"
        line = error_line(app, field)
        await until(pilot, lambda: plain(line) == expected and line.display, what="error shown")
        assert line.region.width > 0 and line.region.height > 0, "error line not on screen"

        await pilot.press("pagedown")
        await until(pilot, lambda: "Fix before going on" in status(app), what="refusal")
        assert wizard.step == step
        assert LABELS[field] in status(app)
        assert app.focused is pane(app).query_one(f"#wiz-{field}")

        # Fixing it clears the message and lets the wizard go on.
        good = getattr(WizardAnswers(), field)
        await type_into(pilot, field, str(good))
        await until(pilot, lambda: not line.display, what="error cleared")
        await go_next(pilot, STEPS[STEPS.index(step) + 1])


async def test_identity_naming_with_active_active_is_refused() -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        wizard = await open_wizard(pilot)
        await pilot.press("a")
        await until(pilot, lambda: wizard.answers.topology is Topology.ACTIVE_ACTIVE)
        await go_to(pilot, "replication")
        await choose(pilot, "naming", "identity")

        expected = field_error(wizard.answers, "naming")
        assert expected
        line = error_line(app, "naming")
        await until(pilot, lambda: plain(line) == expected and line.display, what="error shown")
        await pilot.press("pagedown")
        await until(pilot, lambda: "Topic naming" in status(app), what="refusal")
        assert wizard.step == "replication"


async def test_password_field_is_masked_and_kept_in_memory(tmp_path: Path) -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        wizard = await open_wizard(pilot)
        await go_to(pilot, "clusters")
        await type_into(pilot, "password", PASSWORD)
        await pilot.pause()
        screen_text = "\n".join(plain(w) for w in wizard.query(Static))
        assert PASSWORD not in screen_text
        assert PASSWORD not in repr(wizard.answers)
        await go_to(pilot, "review")
        assert PASSWORD not in text_of(app, "#wiz-review-text")


# -- moving between steps -----------------------------------------------------------------------------


async def test_back_keeps_every_answer() -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        wizard = await open_wizard(pilot)
        await pilot.press("h")
        await type_into(pilot, "plan_name", "keep-me")
        await go_next(pilot, "sites")
        await type_into(pilot, "primary_region", "uksouth")
        await go_next(pilot, "clusters")
        await type_into(pilot, "worker_count", "three")  # does not parse: the text is kept as typed
        await pilot.press("ctrl+b")
        await until(pilot, lambda: wizard.step == "sites", what="back to sites")
        await pilot.press("pageup")
        await until(pilot, lambda: wizard.step == "topology", what="back to topology")
        assert wizard.answers.topology is Topology.HOT_STANDBY
        assert pane(app).query_one("#wiz-plan_name", Input).value == "keep-me"
        assert "▶ h" in text_of(app, "#wiz-compare")
        await pilot.press("ctrl+n")
        await until(pilot, lambda: wizard.step == "sites", what="sites again")
        assert pane(app).query_one("#wiz-primary_region", Input).value == "uksouth"
        assert wizard.answers.primary_region == "uksouth"
        await go_next(pilot, "clusters")
        assert pane(app).query_one("#wiz-worker_count", Input).value == "three"
        assert plain(error_line(app, "worker_count")) == field_error(wizard.answers, "worker_count")


async def test_topology_with_arrows_and_enter() -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        wizard = await open_wizard(pilot)
        assert app.focused is None  # keys pick the topology until Tab goes to the plan name
        start = wizard.answers.topology
        await pilot.press("down")
        await until(pilot, lambda: wizard.answers.topology is not start, what="moved")
        await pilot.press("up")
        await until(pilot, lambda: wizard.answers.topology is start, what="moved back")
        await pilot.press("up")
        chosen = wizard.answers.topology
        assert chosen is not start
        assert app.current_mode == "wizard"
        await pilot.press("tab")  # to the plan name; an arrow goes back to the table, choice unchanged
        await until(pilot, lambda: app.focused is pane(app).query_one("#wiz-plan_name"), what="plan name")
        await pilot.press("up")
        await until(pilot, lambda: app.focused is None, what="back on the table")
        assert wizard.answers.topology is chosen
        await pilot.press("enter")
        await until(pilot, lambda: wizard.step == "sites", what="sites")
        assert wizard.answers.topology is chosen
        # A digit typed into a field is text, not a mode switch.
        await type_into(pilot, "primary_vnet_cidr", "10.20.0.0/16")
        assert app.current_mode == "wizard"


async def test_help_lists_the_wizard_keys() -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(pilot)
        await go_next(pilot, "sites")
        assert isinstance(app.focused, Input)
        await pilot.press("f1")  # ? would be typed into the field
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        keys = {key: what for combo, what in app.screen.keys for key in combo.split(", ")}  # type: ignore[attr-defined]
        assert keys["pgdn"] == "Next" and keys["^n"] == "Next"
        assert keys["pgup"] == "Back" and keys["^b"] == "Back"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WizardScreen), what="help closed")
        await pilot.press("escape")  # leave the field: single keys work again
        await until(pilot, lambda: app.focused is None, what="field left")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help with ?")


# -- opening and writing ------------------------------------------------------------------------------


def existing_plan(tmp_path: Path) -> tuple[Path, WizardAnswers]:
    answers = WizardAnswers()
    for field, text in {
        "topology": "active-active",
        "plan_name": "payments-dr",
        "primary_region": "francecentral",
        "secondary_region": "germanywestcentral",
        "primary_cluster_name": "pay-fr-kafka",
        "worker_count": "5",
        "topics_include": "payments.*",
        "rpo_seconds": "30",
    }.items():
        assert set_field(answers, field, text) is None, field
    path = tmp_path / "payments.toml"
    save_plan(build_plan(answers), path)
    return path, answers


async def test_opening_an_existing_plan_shows_its_values(tmp_path: Path) -> None:
    path, answers = existing_plan(tmp_path)
    app = build(path)
    async with app.run_test(size=(80, 24)) as pilot:
        wizard = await open_wizard(pilot)
        assert f"editing {path}" in text_of(app, "#wiz-context")
        assert wizard.answers.topology is Topology.ACTIVE_ACTIVE
        assert "▶ a" in text_of(app, "#wiz-compare")
        assert pane(app).query_one("#wiz-plan_name", Input).value == "payments-dr"
        await go_next(pilot, "sites")
        assert pane(app).query_one("#wiz-primary_region", Input).value == "francecentral"
        assert pane(app).query_one("#wiz-secondary_region", Input).value == "germanywestcentral"
        await go_next(pilot, "clusters")
        assert pane(app).query_one("#wiz-primary_cluster_name", Input).value == "pay-fr-kafka"
        assert pane(app).query_one("#wiz-worker_count", Input).value == "5"
        await go_next(pilot, "replication")
        assert pane(app).query_one("#wiz-topics_include", Input).value == "payments.*"
        await go_next(pilot, "objectives")
        assert pane(app).query_one("#wiz-rpo_seconds", Input).value == "30"
        await go_next(pilot, "review")
        assert wizard.default_path() == str(path)

        # Writing back to the opened file asks first; n keeps it, y overwrites it.
        before = path.read_text(encoding="utf-8")
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, PathScreen), what="path prompt")
        assert app.screen.query_one("#wiz-path-input", Input).value == str(path)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="overwrite question")
        await pilot.press("n")
        await until(pilot, lambda: "Not written" in status(app), what="refused")
        assert path.read_text(encoding="utf-8") == before
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, PathScreen), what="path prompt")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="overwrite question")
        await pilot.press("y")
        await until(pilot, lambda: f"written to {path}" in status(app), what="written")
        assert load_plan(path) == build_plan(answers)


async def test_new_plan_default_path_and_invalid_plan_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        wizard = await open_wizard(pilot)
        await go_to(pilot, "review")
        assert wizard.default_path() == f"./{wizard.answers.plan_name}.toml"
        # An answer broken behind the wizard's back (as a hand-edited plan could be): refused with reasons.
        set_field(wizard.answers, "secondary_region", wizard.answers.primary_region)
        await pilot.press("w")
        await until(pilot, lambda: "Not written" in status(app), what="refused")
        assert isinstance(app.screen, WizardScreen)
        assert "Secondary region" in text_of(app, "#wiz-review-text")
        assert not list(tmp_path.glob("*.toml"))
        set_field(wizard.answers, "secondary_region", "westus2")
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, PathScreen), what="path prompt")
        await pilot.press("enter")  # the default, ./<plan name>.toml
        written = tmp_path / f"{wizard.answers.plan_name}.toml"
        await until(pilot, lambda: written.exists(), what="written")
        await until(pilot, lambda: f"written to {written}" in status(app), what="absolute path shown")


async def test_read_only_offers_no_write(tmp_path: Path) -> None:
    app = build(read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        wizard = await open_wizard(pilot)
        await go_to(pilot, "review")
        assert wizard.check_action("write", ()) is False
        assert "w" not in app.active_bindings or app.active_bindings["w"].binding.action != "write"
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, WizardScreen)
        assert "Read-only" in text_of(app, "#wiz-review-text")
