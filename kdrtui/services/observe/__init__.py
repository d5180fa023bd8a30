"""Observing a plan's DR from a long-running process: the status view that ``kdrtui status`` prints and
``kdrtui exporter`` exports (:mod:`~kdrtui.services.observe.status_view`), and the exporter's own parts
(MirrorMaker reads over SSH, the last failover, the Prometheus collector)."""
