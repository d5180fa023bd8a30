"""The rules of single plan keys that several tables share, and the model settings every table uses.

A naming rule is a function from a value to a message (or None); :func:`rule` makes one a pydantic
validator whose message quotes the refused value escaped and cut. The rules that only one table uses live
beside that table.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, ConfigDict

from kdrtui.domain.safe_text import quoted, shown

MODEL_CONFIG = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
"""Every plan table: unknown keys refused, values frozen, attribute docstrings as field descriptions."""

_RULE_CHARS = 400
"""How long a rule's message may get with the value it quotes cut (it may quote parts of it, too)."""


def _safe_message(value: str, message: str) -> str:
    """``message`` with each copy of ``value`` shown escaped and cut; cut itself past a readable length.

    The naming rules quote the value they refuse as it is (``'<value>' is not ...``); a plan's value is
    outside text, so this is where it is made safe to print.
    """
    if value and shown(value) != value:
        # "'<name>' is 65 characters; ... needs 3 to 59" gives the length already.
        size = f"{len(value)} characters" not in message
        message = message.replace(f"'{value}'", quoted(value, size=size)).replace(value, shown(value))
    return shown(message, _RULE_CHARS)


def rule(check: Callable[[str], str | None]) -> AfterValidator:
    """Turn a naming rule (value -> message or None) into a pydantic validator."""

    def run(value: str) -> str:
        message = check(value)
        if message is not None:
            raise ValueError(_safe_message(value, message))
        return value

    return AfterValidator(run)


def _non_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _regex(value: str) -> str | None:
    if "," in value:
        # MirrorMaker reads its pattern lists (and MM1 its --include) split at commas.
        return (
            f"'{value}' contains a comma, which MirrorMaker reads as a list separator; topic names never "
            "contain one, so write the pattern without it (e.g. x{1,2} as (x|xx))"
        )
    try:
        with warnings.catch_warnings():
            # "Possible nested set" and friends: fine for Java's regex engine, noise on a terminal.
            warnings.simplefilter("ignore")
            re.compile(value)
    except (re.error, OverflowError) as exc:  # OverflowError: a repeat count like x{99999999999}
        return f"'{value}' is not a valid regular expression: {shown(str(exc))}"
    except RecursionError:  # Python's regex parser recurses once per nested group
        return f"'{value}' is not a usable regular expression: its groups are nested too deep"
    return None


Text = Annotated[str, rule(_non_empty)]
"""A string that is not blank."""
Pattern = Annotated[str, rule(_regex)]
"""A regular expression MirrorMaker can take in a comma-separated list."""


def blank_to_none(value: object) -> object:
    """Optional keys written as ``""`` mean "not set"."""
    return None if isinstance(value, str) and not value.strip() else value
