"""What ``kdrtui lab``'s commands share (:mod:`kdrtui.commands.lab` and its Azure emulator part,
:mod:`kdrtui.commands.lab_azure`): the error handling, progress lines and tables.

Its own module so that ``lab_azure`` need not import ``lab``, which imports it: ``lab`` also runs as
``python -m kdrtui.commands.lab`` (the background traffic generator), where an import cycle would load
it twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from kdrtui.lab import jars
from kdrtui.lab.azure.emulator import EmulatorError
from kdrtui.lab.cluster import ClusterError
from kdrtui.lab.edge import EdgeError
from kdrtui.lab.lab import LabError
from kdrtui.lab.ports import PortsUnavailable
from kdrtui.lab.prereqs import PrerequisiteError
from kdrtui.lab.traffic import TrafficError


@contextlib.contextmanager
def lab_errors() -> Iterator[None]:
    """Turn the lab's errors into one message on stderr and an exit code (2: prerequisites, ports that
    are taken or out of range)."""
    ctx = click.get_current_context()
    try:
        yield
    except (PrerequisiteError, PortsUnavailable) as exc:
        click.echo(f"kdrtui lab: {exc}", err=True)
        ctx.exit(2)
    except (
        LabError,
        ClusterError,
        EdgeError,
        EmulatorError,
        jars.FetchError,
        TrafficError,
        ValueError,
    ) as exc:
        click.echo(f"kdrtui lab: {exc}", err=True)
        ctx.exit(1)


def say(message: str) -> None:
    click.echo(message)


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )
