"""``kdrtui check`` where nothing answers: each cluster is a blocking finding and everything that needed it
"not checked", never a pass; the switch hook is checked on this machine; exit 2; the JSON's shape."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from kdrtui.cli import main
from kdrtui.services.kafka import security

PLANS = Path(__file__).parent.parent / "domain" / "plans"


def plan_nobody_answers(tmp_path: Path, command: str) -> Path:
    """The sample cold-standby plan with both clusters at a port nothing listens on and ``command`` as
    its switch hook."""
    text = (PLANS / "good.toml").read_text(encoding="utf-8")
    text = text.replace('["10.0.0.11:9092", "10.0.0.12:9092", "10.0.0.13:9092"]', '["127.0.0.1:1"]')
    text = text.replace('"10.1.0.11:9092,10.1.0.12:9092,10.1.0.13:9092"', '"127.0.0.1:1"')
    text = text.replace('command = "./switch-clients.sh"', f'command = "{command}"')
    assert text.count("127.0.0.1:1") == 2 and command in text
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _plans_forgotten_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI runs in this process and registers its plan's clusters by bootstrap: without this, every
    later test's error about 127.0.0.1:1 would name "dr" instead of the address."""
    for registry in ("_ALIASES", "_BY_BOOTSTRAP", "_REASONS"):
        monkeypatch.setattr(security, registry, dict(getattr(security, registry)))


@pytest.fixture
def hook(tmp_path: Path) -> Path:
    script = tmp_path / "switch.sh"
    script.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    return script


def test_unreachable_clusters_are_blocking_and_nothing_about_them_passes(tmp_path: Path, hook: Path) -> None:
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    result = CliRunner().invoke(
        main, ["check", "--plan", str(plan_nobody_answers(tmp_path, str(hook))), "--json", "--no-ssh"]
    )
    assert result.exit_code == 2, result.output
    body = json.loads(result.output)
    assert set(body) == {"plan", "checked_at", "seconds", "exit_code", "counts", "summary", "findings"}
    assert body["exit_code"] == 2 and body["summary"].endswith("NOT READY")
    assert set(body["findings"][0]) == {"severity", "check", "what", "where", "fix"}
    blocking = [(f["check"], f["where"]) for f in body["findings"] if f["severity"] == "blocking"]
    assert blocking == [("reachable", "dr"), ("reachable", "primary")]  # the hook is there and executable
    info = {(f["check"], f["where"]): f["what"] for f in body["findings"] if f["severity"] == "info"}
    assert info[("reachable", "dr")].startswith("not checked on dr (it did not answer)")
    assert info[("checkpoints", "primary->dr")] == "not checked: dr did not answer"
    assert "not read over SSH (--no-ssh)" in info[("mm-release", "edge node dr-edge-1")]
    assert not [f for f in body["findings"] if f["severity"] == "warning"]


def test_a_switch_hook_that_is_not_executable_is_blocking_in_the_table(tmp_path: Path, hook: Path) -> None:
    result = CliRunner().invoke(
        main, ["check", "--plan", str(plan_nobody_answers(tmp_path, str(hook))), "--no-ssh"]
    )
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert all(len(line) <= 80 for line in lines)
    (at,) = [i for i, line in enumerate(lines) if line.startswith("blocking  switch command: /")]
    what = " ".join(line.strip() for line in lines[at + 1 : at + 4])
    # The path, longer than a row, is cut into rows (80 columns); the sentence around it stays whole.
    assert what.startswith("the switch hook /") and "switch.sh is not executable (chmod +x)" in what, what
    assert lines[-1].startswith("3 blocking, 0 warnings, ")
