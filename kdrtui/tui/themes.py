"""Themes as ``.tcss`` files of Textual design variables.

The files live in the top-level ``themes/`` folder of the source tree and are shipped inside the wheel as
``kdrtui/themes``. A theme file is valid TCSS; kdrtui reads its ``$name: value;`` declarations and
registers a Textual :class:`~textual.theme.Theme` from them, so switching theme re-colours everything.
"""

from __future__ import annotations

import re
from pathlib import Path

from textual.theme import Theme

THEME_NAMES = ("dark", "light", "high-contrast")
"""The themes shipped with kdrtui, default first."""

_DECLARATION = re.compile(r"^\s*\$(?P<name>[a-z][a-z0-9-]*)\s*:\s*(?P<value>[^;]+?)\s*;", re.MULTILINE)
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_THEME_FIELDS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)


class ThemeError(ValueError):
    """A theme name or file that cannot be used."""


def themes_dir() -> Path:
    """Where the shipped themes are: inside the installed package, or the source tree's ``themes/``."""
    packaged = Path(__file__).resolve().parent.parent / "themes"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "themes"


def theme_path(name_or_path: str) -> Path:
    """Resolve ``dark`` / ``light`` / ``high-contrast`` or a path to a ``.tcss`` file."""
    if name_or_path.endswith(".tcss"):
        path = Path(name_or_path).expanduser()
    else:
        path = themes_dir() / f"{name_or_path}.tcss"
        if name_or_path not in THEME_NAMES and not path.is_file():
            raise ThemeError(f"unknown theme {name_or_path!r}; choose one of {', '.join(THEME_NAMES)}")
    if not path.is_file():
        raise ThemeError(f"theme file {path} not found")
    return path


def load_theme(name_or_path: str) -> Theme:
    """Build the Textual theme ``kdrtui-<name>`` from a theme file."""
    path = theme_path(name_or_path)
    values = {m["name"]: m["value"] for m in _DECLARATION.finditer(_COMMENT.sub("", path.read_text("utf-8")))}
    if "primary" not in values:
        raise ThemeError(f"{path}: a theme needs at least $primary")
    fields: dict[str, str] = {key: values.pop(key) for key in _THEME_FIELDS if key in values}
    dark = values.pop("dark", "true").lower() != "false"
    theme = Theme(name=f"kdrtui-{path.stem}", primary=fields.pop("primary"), dark=dark, variables=values)
    for key, value in fields.items():
        setattr(theme, key, value)
    return theme
