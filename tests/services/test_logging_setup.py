"""The log file: what goes there, and the chatty libraries kept to their warnings."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdrtui.logging_setup import log_to_file


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in ("asyncssh", "azure")}
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


@pytest.mark.usefixtures("restore_logging")
def test_kdrtui_info_is_logged_but_not_every_azure_request(tmp_path: Path) -> None:
    path = log_to_file(tmp_path / "kdrtui.log")
    logging.getLogger("kdrtui.services.azure").info("step clusters done")
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").info("Request URL: ...")
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").warning("throttled")
    logging.getLogger("asyncssh").info("channel opened")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = path.read_text(encoding="utf-8")
    assert "step clusters done" in text and "throttled" in text
    assert "Request URL" not in text and "channel opened" not in text
