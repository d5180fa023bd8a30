"""Logging for the console: everything to a file, nothing to the terminal the TUI draws on."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from kdrtui import settings


def log_to_file(path: Path | None = None, level: int = logging.INFO) -> Path:
    """Send kdrtui's and librdkafka's log records to a rotating file; returns its path.

    Called by commands at run time, never at import time.
    """
    path = path or settings.log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    if not any(isinstance(h, RotatingFileHandler) and Path(h.baseFilename) == path for h in root.handlers):
        handler = RotatingFileHandler(path, maxBytes=5_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    # asyncssh logs every channel and command at INFO: too much for a console polling every 3 s.
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    # azure-core logs every request's URL and headers at INFO (a provisioning polls for minutes); its
    # warnings and errors still come through, and kdrtui logs each step and error itself.
    logging.getLogger("azure").setLevel(logging.WARNING)
    return path
