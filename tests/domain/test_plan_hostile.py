"""Hostile plan files: the loader raises nothing but PlanInvalid, and no problem can forge a line.

Each case here crashed the loader, or printed something it should not, before these checks existed:
nesting that exhausts the stack, integers ``int()`` refuses, regular expressions ``re`` cannot compile,
escape sequences and newlines echoed to the terminal, a 20 MB value echoed in full.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kdrtui.domain import plan as plan_module
from kdrtui.domain.plan import PlanInvalid, PlanProblem, parse_plan
from kdrtui.services.plan_files import load_plan

# The smallest valid plan (as in test_plan.py); line numbers below are its lines.
BASE = """\
[plan]
name = "orders-dr"
topology = "cold-standby"

[clusters.primary]
region = "eastus"
vnet_cidr = "10.0.0.0/16"

[clusters.dr]
region = "westus2"
vnet_cidr = "10.1.0.0/16"

[[flows]]
source = "primary"
target = "dr"
"""
NESTING = "tables and arrays nested more than 32 deep (a plan needs 3 levels)"
SAFE_LINE = re.compile(r"p\.toml:\d+: [^\x00-\x1f\x7f-\x9f\u2028\u2029]*")


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def problems(text: str) -> list[str]:
    """The problems ``text`` has, as printed; each checked to be one safe line."""
    with pytest.raises(PlanInvalid) as raised:
        parse_plan(text, "p.toml")
    lines = [str(problem) for problem in raised.value.problems]
    for line in lines:
        assert SAFE_LINE.fullmatch(line), line[:300]
    return lines


# --- nothing but PlanInvalid --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x = " + "[" * 2000 + "]" * 2000, f"p.toml:1: toml: {NESTING}"),
        ("x = " + "{a=" * 340 + "1" + "}" * 340, f"p.toml:1: toml: {NESTING}"),
        (BASE + "topics = " + "[" * 500 + '"x"' + "]" * 500, f"p.toml:16: toml: {NESTING}"),
        # Unclosed: tomllib would still recurse before it finds the missing brackets.
        (BASE + "x = " + "[{a=" * 400, f"p.toml:16: toml: {NESTING}"),
        (
            "[" + ".".join(["a"] * 1000) + "]\n",
            "p.toml:1: toml: a key of more than 32 dotted parts (a plan needs 3)",
        ),
        (
            BASE + "[[" + ".".join(['"a"'] * 5000) + "]]\n",
            "p.toml:16: toml: a key of more than 32 dotted parts (a plan needs 3)",
        ),
        (
            ".".join(["a"] * 20_000) + " = 1\n",
            "p.toml:1: toml: a key of more than 32 dotted parts (a plan needs 3)",
        ),
    ],
    ids=[
        "arrays 2000 deep",
        "inline tables 340 deep",
        "array in a flow",
        "unclosed",
        "header",
        "array header",
        "key",
    ],
)
def test_deep_nesting_is_a_problem(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_nesting_up_to_the_limit_is_only_an_unknown_key() -> None:
    fine = "x = " + "[" * 32 + "]" * 32 + "\n" + BASE
    assert problems(fine) == ["p.toml:1: x: unknown key"]
    deep = "x = " + "[" * 33 + "]" * 33 + "\n" + BASE
    assert problems(deep) == [f"p.toml:1: toml: {NESTING}"]


def test_nesting_made_by_a_long_header_is_refused_in_the_data() -> None:
    text = edit("[[flows]]", "[" + ".".join(["a"] * 32) + "]\nx = [1]\n\n[[flows]]")
    found = problems(text)
    assert f"p.toml:14: {'a.' * 32}x: {NESTING}" in found


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "9" * 5000,
            "p.toml:16: toml: invalid TOML: an integer of more than 4,300 digits; TOML integers are 64-bit "
            "(-9223372036854775808 to 9223372036854775807)",
        ),
        (
            "0x" + "f" * 5000,
            "p.toml:16: flows[0].flush_seconds: a 20,000-bit integer is out of range; TOML integers are "
            "64-bit (-9223372036854775808 to 9223372036854775807)",
        ),
        (
            "9223372036854775808",
            "p.toml:16: flows[0].flush_seconds: 9223372036854775808 is out of range; TOML integers are "
            "64-bit (-9223372036854775808 to 9223372036854775807)",
        ),
    ],
    ids=["5000 digits", "huge hex", "2**63"],
)
def test_integers_beyond_64_bits_are_a_problem(value: str, expected: str) -> None:
    assert problems(BASE + f"flush_seconds = {value}\n") == [expected]


def test_a_huge_integer_in_range_of_its_key_is_refused_too() -> None:
    # worker_count has no upper bound: a huge hex count used to load, then crash the summary.
    text = edit("[[flows]]", "replication_factor = 1\n\n[[flows]]")
    text = text + "\n[clusters.dr.hdinsight]\nname = 'x'\nworker_count = 0x" + "f" * 2000 + "\n"
    assert any("worker_count: a 8,000-bit integer is out of range" in line for line in problems(text))


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("(" * 3000 + ")" * 3000, "is not a usable regular expression: its groups are nested too deep"),
        ("a{99999999999999999999}", "is not a valid regular expression: the repetition number is too large"),
    ],
    ids=["nested groups", "repeat count"],
)
def test_patterns_re_cannot_compile_are_a_problem(pattern: str, expected: str) -> None:
    (line,) = problems(BASE + f"topics = ['{pattern}']\n")
    assert line.startswith("p.toml:16: flows[0].topics[0]: '")
    assert line.endswith(expected)


def test_a_cron_number_too_long_for_int_is_a_problem() -> None:
    text = edit('topology = "cold-standby"', 'topology = "cold-standby"') + (
        f'[flows.schedule]\ncron = "{"1" * 5000} * * * *"\nrun_minutes = 5\n'
    )
    (line,) = problems(text)
    assert line.startswith("p.toml:17: flows[0].schedule.cron: '1111")
    assert line.endswith("(5,008 characters) holds a number far too long for a minute, hour, day or month")


def test_nesting_the_text_check_missed_is_still_the_nesting_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_module, "text_problem", lambda text: None)
    assert problems("x = " + "[" * 2000 + "]" * 2000) == [f"p.toml:0: toml: {NESTING}"]


def test_an_unforeseen_error_becomes_a_problem_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: object) -> list[object]:
        raise KeyError("surprise")

    monkeypatch.setattr(plan_module, "cross_key_problems", broken)
    with pytest.raises(PlanInvalid) as raised:
        parse_plan(BASE, "p.toml")
    assert [str(p) for p in raised.value.problems] == [
        "p.toml:0: file: kdrtui could not check this file (KeyError: 'surprise'); please report this bug"
    ]


def test_a_path_with_a_nul_character_is_a_file_problem() -> None:
    with pytest.raises(PlanInvalid) as raised:
        load_plan("plan\x00.toml")
    assert [str(p) for p in raised.value.problems] == ["plan\\x00.toml:0: file: embedded null byte"]


# --- control characters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "character"),
    [
        ('"\\u001b[2Jwestus2"', "\\x1b at position 1"),
        ('"we\\u001b]0;pwned\\u0007"', "\\x1b at position 3"),
        ('"west\tus2"', "\\t at position 5"),  # a literal tab: TOML allows it in a basic string
        ('"west\\tus2"', "\\t at position 5"),
        ("'west\tus2'", "\\t at position 5"),
        ('"""west\nus2"""', "\\n at position 5"),
        ('"west\\u0085us2"', "\\x85 at position 5"),
        ('"west\\u2028us2"', "\\u2028 at position 5"),
        ('"west\\u202eus2"', "\\u202e at position 5"),
    ],
    ids=[
        "ESC",
        "OSC title",
        "literal tab",
        "escaped tab",
        "literal string tab",
        "newline",
        "C1",
        "LS",
        "bidi",
    ],
)
def test_control_characters_in_a_value_are_refused(region: str, character: str) -> None:
    text = edit('region = "westus2"', f"region = {region}")
    # Only this problem: not also "not a known Azure region", and nothing quoting the value.
    assert problems(text) == [
        f"p.toml:10: clusters.dr.region: control characters are not allowed ({character})"
    ]


def test_a_refused_array_item_keeps_the_indices_of_the_others() -> None:
    text = BASE + 'topics = ["\\u001b", "(bad", "ok"]\n'
    assert problems(text) == [
        "p.toml:16: flows[0].topics[0]: control characters are not allowed (\\x1b at position 1)",
        "p.toml:16: flows[0].topics[1]: '(bad' is not a valid regular expression: missing ), unterminated "
        "subpattern at position 0",
    ]


def test_control_characters_in_a_key_are_refused() -> None:
    text = edit('region = "westus2"', '"reg\\nion" = "westus2"')
    assert problems(text) == [
        "p.toml:9: clusters.dr.region: required key is missing",
        "p.toml:10: clusters.dr.reg\\nion: control characters are not allowed in a key (\\n at position 4)",
    ]


def test_a_key_cannot_forge_a_problem_line() -> None:
    text = BASE + '"x\\np.toml:1: plan.name: all good" = 1\n'
    (line,) = problems(text)
    assert line == (
        "p.toml:16: flows[0].x\\np.toml:1: plan.name: all good: control characters are not allowed in a key "
        "(\\n at position 2)"
    )


def test_a_path_with_control_characters_is_escaped() -> None:
    with pytest.raises(PlanInvalid) as raised:
        parse_plan("x", "evil\x1b]0;title\x07\n.toml")
    (line,) = (str(p) for p in raised.value.problems)
    assert line.startswith("evil\\x1b]0;title\\x07\\n.toml:1: toml: invalid TOML: ")


# --- long values --------------------------------------------------------------------------------------


def test_a_20_mb_name_is_cut_with_its_length(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text(edit('name = "orders-dr"', f'name = "{"a" * 20_971_520}"'), encoding="utf-8")
    with pytest.raises(PlanInvalid) as raised:
        load_plan(path)
    (line,) = (str(p) for p in raised.value.problems)
    assert line == f"{path}:2: plan.name: '{'a' * 80}…' is 20971520 characters; a plan name needs 1 to 64"


def test_a_long_unknown_alias_is_cut_with_its_length() -> None:
    text = edit('source = "primary"', f'source = "{"p" * 100_000}"')
    assert problems(text) == [
        f"p.toml:14: flows[0].source: unknown cluster '{'p' * 80}…' (100,000 characters); clusters are: dr, "
        "primary"
    ]


def test_a_long_key_is_cut_in_the_field() -> None:
    text = BASE + f"{'k' * 100_000} = 1\n"
    assert problems(text) == [f"p.toml:16: flows[0].{'k' * 64}… (100,000 characters): unknown key"]


def test_a_problem_made_by_hand_still_prints_as_one_line() -> None:
    problem = PlanProblem("p.toml", 3, "a\nb", "bad \x1b[2J" + "x" * 5000)
    line = str(problem)
    assert SAFE_LINE.fullmatch(line)
    assert line.startswith("p.toml:3: a\\nb: bad \\x1b[2Jxxx")
    assert line.endswith("… (5,008 characters)")
