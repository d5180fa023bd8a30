"""Widgets shared by the console's panes."""
