"""Theme colours for text the panes draw themselves (Rich ``Text`` rather than CSS)."""

from __future__ import annotations

from textual.app import App


def theme_colour(app: App[object], name: str) -> str:
    """The Rich style of theme colour ``name`` (``success``, ``warning``, ``error``…): ``""`` for no colour,
    the dimmed foreground for ``text-muted``, the foreground for a name the theme lacks."""
    if not name:
        return ""
    theme = app.current_theme
    if name == "text-muted":
        return f"dim {theme.foreground or ''}".strip()
    return str(getattr(theme, name, None) or theme.foreground or "")
