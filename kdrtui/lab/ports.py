"""Local TCP ports: is one free for a broker to listen on?"""

from __future__ import annotations

import socket
from pathlib import Path

LOCALHOST = "127.0.0.1"


def port_in_use(port: int, host: str = LOCALHOST) -> bool:
    """Whether something already listens on ``host:port`` (so a broker could not bind it).

    Binds with ``SO_REUSEADDR`` like the JVM does, so sockets in TIME_WAIT left by a broker that was
    just killed do not count as "in use".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


class PortsUnavailable(ValueError):
    """Ports the lab was told to use are outside 1024-65535, overlap, or something already listens on
    one. ``str()`` is one line naming the port, what it is for and the option that chose it."""


def check_port(port: int) -> None:
    """Raise :class:`ValueError` unless ``port`` is a usable unprivileged TCP port."""
    if not 1024 <= port <= 65535:
        raise ValueError(f"port {port} is outside 1024-65535")


def port_span(ports: list[int]) -> str:
    """``19392-19403`` (or ``12232`` for one port)."""
    low, high = min(ports), max(ports)
    return str(low) if low == high else f"{low}-{high}"


def check_free(uses: dict[str, tuple[str, list[int]]], *, check_in_use: bool = True) -> None:
    """Check the port groups the lab is about to use: each within 1024-65535, no two sharing a port,
    and (``check_in_use``) nothing listening on any of them yet.

    Args:
        uses: what the ports are for (``"the brokers"``) -> (the option that chose them, the ports).

    Raises:
        PortsUnavailable: the first problem found.
    """
    owner: dict[int, str] = {}
    for what, (option, ports) in uses.items():
        if not all(1024 <= port <= 65535 for port in ports):
            raise PortsUnavailable(
                f"{option}: {what} would use port{'s' if len(set(ports)) > 1 else ''} {port_span(ports)}, "
                "outside 1024-65535; choose another"
            )
        for port in ports:
            if port in owner and owner[port] != what:
                raise PortsUnavailable(
                    f"{option}: port {port} would serve both {owner[port]} and {what}; choose another"
                )
            owner[port] = what
    if not check_in_use:
        return
    for what, (option, ports) in uses.items():
        for port in ports:
            if port_in_use(port):
                raise PortsUnavailable(
                    f"{option}: port {port} on {LOCALHOST} ({what}: {port_span(ports)}) is already in use; "
                    "stop what holds it or choose another"
                )


def ephemeral_range() -> tuple[int, int] | None:
    """The kernel's range for outgoing connections' local ports (Linux), None if unknown."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return None


def in_ephemeral_range(port: int) -> bool:
    """Whether a listener on ``port`` risks TCP self-connection.

    A client that keeps reconnecting to a stopped broker on a port inside the ephemeral range can
    be given that very port as its own local port and connect to itself; the socket then holds the
    port and the broker cannot bind it when it restarts. Ports below the range (the lab's 19092,
    29092) are safe.
    """
    span = ephemeral_range()
    return span is not None and span[0] <= port <= span[1]
