"""Fakes for the services' tests: an edge node that answers the MirrorMaker manager from a script."""

from __future__ import annotations

from typing import Any


class ScriptedNode:
    """Answers the manager's probes like an HDInsight edge node where the user is root."""

    def __init__(self) -> None:
        self.commands: list[str] = []
        self.uploads: dict[str, str] = {}
        self.running = False
        self.state = "connected"

    async def run(self, command: str, **_: Any) -> Any:
        self.commands.append(command)
        out = ""
        if command.startswith('printf %s "$HOME"'):
            out = "/home/sshuser"
        elif "command -v java" in command:
            out = 'java=openjdk version "17.0.9"\nlibs=1\nmm2=1\ncore=1\n'
        elif "/run/systemd/system" in command:
            out = "root\n"
        elif command.startswith("d="):
            out = (
                "deployed=1\nmm.pid=4242\nstarted_at=100\nalive=1\nnow=160\n---log---\n"
                if self.running
                else "deployed=1\n"
            )
        elif "systemctl start" in command:
            self.running = True
        elif "systemctl stop" in command:
            self.running = False
        elif command.startswith("kill -0"):
            out = "alive" if self.running else ""
        return type("Result", (), {"stdout": out, "exit_status": 0})()

    async def upload(self, data: str, path: str, **_: Any) -> None:
        self.uploads[path] = data

    async def read_file(self, path: str) -> str | None:
        return self.uploads.get(path)

    async def close(self) -> None:
        pass
