"""Fuzzing the plan loader: whatever the text, parse_plan returns a Plan or raises PlanInvalid.

A seeded corpus of mutations of valid plans (the test plans, the wizard's three topologies and the lab's
plan): byte flips, deletions, duplications, deep nesting, huge numbers, long dotted keys, control
characters, very long strings and unicode. Each mutated plan must give a Plan or PlanInvalid (nothing
else), and every problem must print as one safe line starting with ``PATH:LINE:``. The corpus is the
same on every run; ``KDRTUI_FUZZ_CASES`` (per family) and ``KDRTUI_FUZZ_SEED`` widen or move it.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable

import pytest
import tomli_w

from kdrtui.domain.plan import Plan, PlanInvalid, Topology, parse_plan, summarize
from kdrtui.domain.wizard import WizardAnswers, plan_toml
from kdrtui.lab.cluster import ClusterSpec
from kdrtui.lab.lab import DR, PRIMARY, SITES, render_plan
from tests.samples import PLANS

PATH = "fuzz/plan.toml"
CASES = int(os.environ.get("KDRTUI_FUZZ_CASES", "300"))
SEED = int(os.environ.get("KDRTUI_FUZZ_SEED", "20260601"))
LONGEST_LINE = 6000
"""No problem line gets longer: every value a problem quotes is cut."""
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""What a problem line never holds: control characters, line separators, bidi controls, surrogates."""


def _lab_plan() -> str:
    specs = {
        alias: ClusterSpec(alias, SITES[alias]["region"], port, port + 1)
        for alias, port in ((PRIMARY, 19092), (DR, 29092))
    }
    edge = {
        "name": "dr-edge",
        "cluster": DR,
        "host": "127.0.0.1",
        "port": 12222,
        "user": "kdrtui",
        "key_file": "/home/op/.local/share/kdrtui/lab/edge/client_key",
        "known_hosts": "/home/op/.local/share/kdrtui/lab/edge/known_hosts",
        "kafka_home": "/home/op/.cache/kdrtui/kafka-3.9.1",
    }
    return tomli_w.dumps(render_plan(specs, "3.9.1", [edge]))


def _seeds() -> list[str]:
    texts = [path.read_text(encoding="utf-8") for path in sorted(PLANS.glob("*.toml"))]
    texts += [plan_toml(WizardAnswers(topology=topology)) for topology in Topology]
    texts.append(_lab_plan())
    return texts


SEEDS = _seeds()

# --- mutations ----------------------------------------------------------------------------------------

CHARS = (
    "abcxyz019_-. =\"'#[]{},\n\t\r\\"
    "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x85\x9b\x9d"
    "é中ßΩ😀\u00a0\u0301\u200b\u200d\u2028\u2029\u202e\u2066\ufeff\ufffd"
)
ESCAPES = [r"\u001b[2J", r"\u001b]0;pwned\u0007", r"\n", r"\t", r"\r", r"\u0000", r"\u0085", r"\u009b31m"]
ESCAPES += [r"\u2028", r"\u202e", r"\b", r"\f", r"\u007f", "\t"]
Mutation = Callable[[random.Random, str], str]


def _value_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the value on each ``key = value`` line."""
    return [(m.start(1), m.end(1)) for m in re.finditer(r"^[^\[#\n][^=\n]*=[ \t]*(.*)$", text, re.M)]


def _replace_value(rng: random.Random, text: str, value: str) -> str:
    spans = _value_spans(text)
    if not spans:
        return text + f"\nx = {value}\n"
    start, end = rng.choice(spans)
    return text[:start] + value + text[end:]


def _insert(rng: random.Random, text: str, piece: str) -> str:
    at = rng.randrange(len(text) + 1)
    return text[:at] + piece + text[at:]


def flip(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 8)):
        chars[rng.randrange(len(chars))] = rng.choice(CHARS)
    return "".join(chars)


def delete(rng: random.Random, text: str) -> str:
    start = rng.randrange(len(text))
    return text[:start] + text[start + rng.randint(1, 200) :]


def duplicate(rng: random.Random, text: str) -> str:
    if rng.random() < 0.5:
        lines = text.splitlines(keepends=True)
        n = rng.randrange(len(lines))
        return "".join(lines[: n + 1] + [lines[n]] * rng.randint(1, 50) + lines[n + 1 :])
    start = rng.randrange(len(text))
    piece = text[start : start + rng.randint(1, 300)]
    return _insert(rng, text, piece * rng.randint(1, 5))


def nest(rng: random.Random, text: str) -> str:
    n = rng.choice([31, 32, 33, 40, 100, 340, 1000, 3000])
    shapes = [
        "[" * n + "]" * n,
        "{a=" * n + "1" + "}" * n,
        "[{a=" * n + "1" + "}]" * n,
        "[" * n,
        "{a=" * n,
        "[" * n + '"x"' + "]" * n,
    ]
    shape = rng.choice(shapes)
    if rng.random() < 0.7:
        return _replace_value(rng, text, shape)
    return _insert(rng, text, shape)


def big_number(rng: random.Random, text: str) -> str:
    k = rng.choice([19, 20, 400, 4300, 4301, 5000, 20000])
    numbers = [
        "9" * k,
        "-" + "9" * k,
        "+" + "1" * k,
        "1" + "_0" * k,
        "0x" + "f" * k,
        "-0x1",
        "0o" + "7" * k,
        "0b" + "1" * k,
        "9" * k + ".5",
        "1e" + "9" * min(k, 400),
        "-inf",
        "nan",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775809",
        "[" + ", ".join(["0x" + "f" * 40] * 3) + "]",
        "1979-05-27T07:32:00." + "9" * k,
    ]
    return _replace_value(rng, text, rng.choice(numbers))


def dotted(rng: random.Random, text: str) -> str:
    n = rng.choice([3, 31, 32, 33, 100, 1000, 3000])
    part = rng.choice(["a", '"a"', "'a.b'", "flows", "0"])
    key = ".".join([part] * n)
    line = rng.choice([f"[{key}]", f"[[{key}]]", f"{key} = 1", f"x = {{{key} = 1}}"])
    lines = text.splitlines(keepends=True)
    at = rng.randrange(len(lines) + 1)
    return "".join([*lines[:at], line + "\n", *lines[at:]])


def control(rng: random.Random, text: str) -> str:
    escape = rng.choice(ESCAPES)
    word = rng.choice(["eastus", "dr", "orders.*", "/opt/kafka", ""])
    cut = rng.randrange(len(word) + 1)
    value = f'"{word[:cut]}{escape}{word[cut:]}"'
    if rng.random() < 0.3:  # a key
        spans = _value_spans(text)
        line = f'"reg{escape}ion" = "eastus"'
        if spans:
            start = text.rfind("\n", 0, rng.choice(spans)[0]) + 1
            return text[:start] + line + "\n" + text[start:]
        return text + line + "\n"
    if rng.random() < 0.2:  # a multi-line string
        value = '"""\n' + word + "\n" + escape + '"""'
    return _replace_value(rng, text, value)


def long_string(rng: random.Random, text: str) -> str:
    n = rng.choice([65, 81, 1000, 20_000, 100_000])
    body = rng.choice(["a", "x-", "é", "😀", "\\\\"]) * n
    if rng.random() < 0.3:
        body += r"\u001b[2J"
    if rng.random() < 0.2:  # a long key
        return text + f'\n[clusters."{body}"]\nregion = "eastus"\n'
    quote = rng.choice(['"', "'", '"""'])
    return _replace_value(rng, text, f"{quote}{body}{quote}")


def unicode(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 6)):
        code = rng.choice(
            [rng.randrange(0x80, 0x800), rng.randrange(0x800, 0x10000), rng.randrange(0x10000, 0x110000)]
        )
        text = _insert(rng, text, chr(code))
    return text


def several(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(2, 4)):
        text = rng.choice(MUTATIONS[:-1])(rng, text)
    return text


MUTATIONS: list[Mutation] = [
    flip,
    delete,
    duplicate,
    nest,
    big_number,
    dotted,
    control,
    long_string,
    unicode,
    several,
]

# --- the test -----------------------------------------------------------------------------------------

PROBLEM_START = re.compile(rf"{re.escape(PATH)}:(\d+): ")


def check(text: str) -> str | None:
    """What is wrong with how parse_plan took ``text``; None when it returned a plan or PlanInvalid well."""
    try:
        plan = parse_plan(text, PATH)
    except PlanInvalid as exc:
        if not exc.problems:
            return "PlanInvalid without problems"
        for problem in exc.problems:
            line = str(problem)
            start = PROBLEM_START.match(line)
            if start is None or int(start.group(1)) != problem.line:
                return f"does not start with {PATH}:{problem.line}: {line[:200]!r}"
            if len(line.splitlines()) != 1 or UNSAFE.search(line):
                return f"not one safe line: {line[:200]!r}"
            if len(line) > LONGEST_LINE:
                return f"{len(line)} characters: {line[:200]!r}"
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    assert isinstance(plan, Plan)
    summarize(plan)
    return None


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.__name__)
def test_nothing_but_plan_invalid_escapes(mutation: Mutation) -> None:
    rng = random.Random(f"{SEED}-{mutation.__name__}")
    failures: list[str] = []
    for case in range(CASES):
        text = mutation(rng, rng.choice(SEEDS))
        failure = check(text)
        if failure is not None:
            failures.append(f"case {case}: {failure}")
    assert not failures, f"{len(failures)} of {CASES} {mutation.__name__} mutations:\n" + "\n".join(
        failures[:10]
    )


def test_the_seeds_are_valid_plans() -> None:
    for text in SEEDS:
        assert isinstance(parse_plan(text, PATH), Plan)
