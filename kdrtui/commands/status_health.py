"""The clusters' health in ``kdrtui status``: see :mod:`kdrtui.services.observe.cluster_health`, which
``kdrtui exporter`` shares (these names stay importable from here)."""

from __future__ import annotations

from kdrtui.services.observe.cluster_health import ClusterHealthReader, health_exit, health_json, health_lines

__all__ = ["ClusterHealthReader", "health_exit", "health_json", "health_lines"]
