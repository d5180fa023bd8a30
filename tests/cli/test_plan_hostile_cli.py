"""Hostile plan files through the commands: exit 2, every problem on one safe line, never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kdrtui.cli import main
from tests.samples import GOOD

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""What the output never holds (tabs and newlines are checked line by line)."""


def _good(old: str, new: str) -> str:
    text = GOOD.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    return text.replace(old, new)


HOSTILE = {
    "arrays 2000 deep": "x = " + "[" * 2000 + "]" * 2000 + "\n",
    "inline tables 340 deep": "x = " + "{a=" * 340 + "1" + "}" * 340 + "\n",
    "header of 1000 parts": "[" + ".".join(["a"] * 1000) + "]\n",
    "integer of 5000 digits": _good("worker_count = 3", "worker_count = " + "9" * 5000),
    "huge hex worker count": _good("worker_count = 3", "worker_count = 0x" + "f" * 5000),
    "regex nested 3000 deep": _good('"payments"', '"' + "(" * 3000 + ")" * 3000 + '"'),
    "escape sequence in a region": _good('region = "westus2"', 'region = "\\u001b[2J\\u001b]0;pwned\\u0007"'),
    "key forging a problem": _good(
        'region = "westus2"', 'region = "westus2"\n"x\\ngood.toml:1: plan.name: fine" = 1'
    ),
    "tab in a value": _good('host = "10.1.0.20"', 'host = "10.1.0.20\t"'),
    "1 MB name": _good('name = "orders-dr"', f'name = "{"a" * 1_048_576}"'),
}


def _check_lines(lines: list[str], path: Path, last: str) -> None:
    assert lines, "no output"
    assert re.fullmatch(last, lines[-1]), lines[-1]
    for line in lines[:-1]:
        assert re.match(rf"{re.escape(str(path))}:\d+: ", line), line[:300]
        assert "\t" not in line and len(line) < 3000, line[:300]


@pytest.mark.parametrize("case", list(HOSTILE))
def test_plan_validate_exits_2_with_one_line_per_problem(case: str, tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(HOSTILE[case], encoding="utf-8")
    result = CliRunner().invoke(main, ["plan", "validate", str(path)])
    assert result.exit_code == 2, (result.exception, result.output[:500])
    assert "Traceback" not in result.output
    assert not UNSAFE.search(result.output)
    _check_lines(result.output.splitlines(), path, r"\d+ problems?")


@pytest.mark.parametrize(
    "case", ["arrays 2000 deep", "integer of 5000 digits", "escape sequence in a region"]
)
def test_a_command_with_plan_exits_2_with_one_line_per_problem(case: str, tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(HOSTILE[case], encoding="utf-8")
    result = CliRunner().invoke(main, ["status", "--plan", str(path)])
    assert result.exit_code == 2, (result.exception, result.output[:500])
    assert "Traceback" not in result.output
    assert not UNSAFE.search(result.stderr)
    _check_lines(result.stderr.splitlines(), path, rf"\d+ problem\(s\) in {re.escape(str(path))}; .*")


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    for case in ("arrays 2000 deep", "integer of 5000 digits", "escape sequence in a region"):
        path = tmp_path / "plan.toml"
        path.write_text(HOSTILE[case], encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "kdrtui", "plan", "validate", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2, (case, done.stderr[-2000:])
        assert "Traceback" not in done.stderr and not UNSAFE.search(done.stdout), case
        _check_lines(done.stdout.splitlines(), path, r"\d+ problems?")


def test_a_file_name_with_an_escape_sequence_is_printed_escaped(tmp_path: Path) -> None:
    path = tmp_path / "evil\x1b[2J.toml"
    path.write_text("x = 1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["plan", "validate", str(path)])
    assert result.exit_code == 2
    assert not UNSAFE.search(result.output)
    assert result.output.startswith(f"{tmp_path}/evil\\x1b[2J.toml:1: plan: ")


def test_plan_new_prints_a_control_character_escaped(tmp_path: Path) -> None:
    out = tmp_path / "new.toml"
    regions = ["--primary-region", "eastus", "--secondary-region", "westus2"]
    name = ["--name", "orders\x1b[2J\tdr"]
    result = CliRunner().invoke(
        main, ["plan", "new", "--topology", "hot-standby", *regions, *name, "--out", str(out)]
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "plan_name: control characters are not allowed (\\x1b at position 7)",
        "1 problem; nothing written",
    ]
    assert not out.exists()
