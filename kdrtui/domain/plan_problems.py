"""What is wrong with a plan file: each problem with its place, and the error that lists them all."""

from __future__ import annotations

from dataclasses import dataclass

from kdrtui.domain.safe_text import shown
from kdrtui.domain.toml_lines import KeyPath

Found = list[tuple[KeyPath, str]]
"""Problems before they get a file and a line: (key path, message)."""

# The most of each part of a problem that is printed: generous, as the messages cut what they quote.
_PATH_CHARS = 4096
_FIELD_CHARS = 400
_MESSAGE_CHARS = 2000


@dataclass(frozen=True, slots=True)
class PlanProblem:
    """One thing wrong with a plan file, located by line and dotted field name."""

    path: str
    """The plan file as the user named it."""
    line: int
    """1-based line of the offending key (or of its table header when the key is missing); 0 = no line."""
    field: str
    """Dotted key path with list indices, e.g. ``clusters.dr.hdinsight.name`` or ``flows[0].target``."""
    message: str
    """What is wrong and, where possible, how to fix it."""

    def __str__(self) -> str:
        # The last safety net: whatever a message embeds, the problem prints as one line.
        return f"{shown(self.path, _PATH_CHARS)}:{self.line}: {self.describe()}"

    def describe(self) -> str:
        """``field: message`` on one line, escaped and cut (what ``str()`` prints after the place)."""
        return f"{shown(self.field, _FIELD_CHARS)}: {shown(self.message, _MESSAGE_CHARS)}"


class PlanInvalid(Exception):
    """A plan file could not be used; :attr:`problems` lists every reason, sorted by line."""

    def __init__(self, path: str, problems: list[PlanProblem]) -> None:
        self.path = path
        self.problems = problems
        count = len(problems)
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"{path}: {count} problem{'s' if count != 1 else ''}\n{lines}")
