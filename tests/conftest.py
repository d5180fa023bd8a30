"""Shared fixtures: the real two-cluster Kafka lab (once per session), unique names, waiting.

The session lab uses its own ports (19192/19193 and 29192/29193, or the next free pair 100 up; its
SSH edge node 12322 or the next free port 100 up) and a temporary lab directory, so a developer's
own lab on the default ports keeps running beside the tests, and two test sessions on one machine
do not collide (each holds a lock on its ports). The ports stay below the kernel's ephemeral range
(32768+): there, a client retrying a stopped broker can connect to itself and hold the port the
broker needs to restart on. Jars come from the normal cache (a warm cache makes the lab start in
seconds).
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kdrtui.lab import jars
from kdrtui.lab.edge import EDGE_PORT_ENV, SSHD, LabEdgeNode, default_backend
from kdrtui.lab.lab import Lab
from kdrtui.lab.ports import port_in_use

#: First client ports tried for the session lab; each controller listens on port + 1.
TEST_PRIMARY_PORT = 19192
TEST_DR_PORT = 29192
#: First client port tried for the three-broker lab's primary (dr: 10000 up); brokers use 6 ports each.
TEST_LAB3_PRIMARY_PORT = 18192
#: First SSH port tried for test edge nodes (the developer's lab uses 12222).
TEST_EDGE_PORT = 12322

ReservePorts = Callable[[int, int], contextlib.AbstractContextManager[tuple[int, int]]]


@contextlib.contextmanager
def reserved_ports(
    primary: int, dr: int, *, step: int = 100, tries: int = 20, span: int = 2
) -> Iterator[tuple[int, int]]:
    """Hold a free (primary, dr) client-port pair for a lab, trying ``primary + k*step``, ``dr + k*step``.

    A lock file per pair keeps concurrent test sessions apart; ports something already listens on
    (a developer's lab, another program) are skipped. ``span``: ports each cluster takes from its
    first (2 a broker: client and controller).
    """
    for k in range(tries):
        pair = (primary + k * step, dr + k * step)
        with open(Path(tempfile.gettempdir()) / f"kdrtui-test-ports-{pair[0]}-{pair[1]}.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            if any(port_in_use(p) for port in pair for p in range(port, port + span)):
                continue
            yield pair
            return
    raise RuntimeError(f"no free port pair from {primary}/{dr} in {tries} tries")


@contextlib.contextmanager
def reserved_port(first: int, *, step: int = 100, tries: int = 20) -> Iterator[int]:
    """Hold one free port (``first + k*step``) for this session, like :func:`reserved_ports`."""
    for k in range(tries):
        port = first + k * step
        with open(Path(tempfile.gettempdir()) / f"kdrtui-test-port-{port}.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            if port_in_use(port):
                continue
            yield port
            return
    raise RuntimeError(f"no free port from {first} in {tries} tries")


def wait_until(
    predicate: Callable[[], object],
    timeout: float = 30.0,
    interval: float = 0.1,
    message: str | Callable[[], str] = "condition",
) -> float:
    """Poll ``predicate`` until it is truthy; return the seconds it took; fail after ``timeout`` (a callable
    ``message`` is asked then: what was last seen)."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            said = message() if callable(message) else message
            raise AssertionError(f"{said} not met within {timeout} s")
        time.sleep(interval)
    return time.monotonic() - started


def require_java() -> None:
    """Skip (with the reason) when Java is missing; CI has Java, so lab tests run there."""
    if shutil.which("java") is None:
        pytest.skip("java not found on PATH: the lab runs real Apache Kafka on Java 17+")


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[..., float]:
    """:func:`wait_until` as a fixture, for tests that cannot import conftest."""
    return wait_until


@pytest.fixture(name="reserved_ports", scope="session")
def reserved_ports_fixture() -> ReservePorts:
    """:func:`reserved_ports` as a fixture, for a test that needs a lab of its own."""
    return reserved_ports


@pytest.fixture(name="reserved_port", scope="session")
def reserved_port_fixture() -> Callable[[int], contextlib.AbstractContextManager[int]]:
    """:func:`reserved_port` as a fixture, for a test that needs an edge node of its own."""
    return reserved_port


@pytest.fixture(scope="session", autouse=True)
def _state_dir_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Journals, DR states, remembered lag and logs of the whole session go to a directory of its own,
    never into the developer's ~/.local/state/kdrtui (a test wanting its own sets KDRTUI_STATE_DIR)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KDRTUI_STATE_DIR", str(tmp_path_factory.mktemp("state")))
        yield


@pytest.fixture(scope="session", autouse=True)
def _edge_port_of_other_labs() -> Iterator[None]:
    """Labs a test builds without an edge port get a reserved test port, never the developer's 12222."""
    with pytest.MonkeyPatch.context() as mp, reserved_port(TEST_EDGE_PORT) as port:
        mp.setenv(EDGE_PORT_ENV, str(port))
        yield


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The two-cluster lab with its SSH edge node, started once per session and purged at the end.

    ``KDRTUI_LAB_DIR`` points at it for the whole session, so ``kdrtui lab ...`` invocations and
    ``--plan lab`` in tests see this lab. Its edge node runs the default backend (sshd if installed).
    """
    require_java()
    home = tmp_path_factory.mktemp("lab")
    with (
        pytest.MonkeyPatch.context() as mp,
        reserved_ports(TEST_PRIMARY_PORT, TEST_DR_PORT) as ports,
        reserved_port(TEST_EDGE_PORT) as edge_port,
    ):
        mp.setenv("KDRTUI_LAB_DIR", str(home))
        the_lab = Lab(home, primary_port=ports[0], dr_port=ports[1], edge_port=edge_port)
        try:
            the_lab.up()
            yield the_lab
        finally:
            the_lab.down(purge=True)


@pytest.fixture(scope="session")
def lab3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The session's HDInsight-shaped lab: three brokers per cluster (replication factor 3,
    ``min.insync.replicas`` 2, a fault domain each), PLAINTEXT, with its own SSH edge node; started the
    first time a test asks for it, purged at the end.

    Like :func:`_secured_lab` it does not set ``KDRTUI_LAB_DIR``: a test running ``kdrtui lab ...``
    against it passes ``KDRTUI_LAB_DIR=<lab3.home>`` in that command's environment.
    """
    require_java()
    home = tmp_path_factory.mktemp("lab3")
    with (
        reserved_ports(TEST_LAB3_PRIMARY_PORT, TEST_LAB3_PRIMARY_PORT + 10000, span=6) as ports,
        reserved_port(TEST_EDGE_PORT + 70) as edge_port,
    ):
        the_lab = Lab(home, primary_port=ports[0], dr_port=ports[1], edge_port=edge_port, brokers=3)
        try:
            the_lab.up()
            yield the_lab
        finally:
            the_lab.down(purge=True)


@pytest.fixture(scope="session")
def other_edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabEdgeNode]:
    """An edge node of the backend the session lab does NOT use, in its own directory and port.

    Skipped when that backend is sshd and OpenSSH's server is not installed (CI installs it).
    """
    backend = "asyncssh" if default_backend() == "sshd" else "sshd"
    if backend == "sshd" and not SSHD.exists():
        pytest.skip(f"{SSHD} not found: install openssh-server to test the sshd edge node backend")
    with reserved_port(TEST_EDGE_PORT) as port:
        node = LabEdgeNode(
            tmp_path_factory.mktemp("edge") / "edge",
            port=port,
            backend=backend,
            kafka_libs=jars.distribution().libs,
        )
        try:
            node.start()
            yield node
        finally:
            node.stop()


@pytest.fixture(params=["lab", "other"], ids=lambda which: f"{which}-edge")
def edge_node(request: pytest.FixtureRequest) -> LabEdgeNode:
    """Each backend's edge node in turn: the session lab's, then one of the other backend."""
    if request.param == "lab":
        the_lab: Lab = request.getfixturevalue("lab")
        return the_lab.edge
    node: LabEdgeNode = request.getfixturevalue("other_edge")
    return node


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """``t-<test name>-<random6>``: topics and groups of one test never meet another test's."""
    base = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    base = base.removeprefix("test-")[:40].rstrip("-")
    return f"t-{base}-{secrets.token_hex(3)}"


def _secured_lab(tmp_path_factory: pytest.TempPathFactory, mode: str, first: int) -> Iterator[Lab]:
    """A lab of its own in ``mode`` (``ssl`` or ``sasl_ssl``) on its own ports, purged at the end.

    Unlike :func:`lab`, it does not set ``KDRTUI_LAB_DIR``: a test that runs ``kdrtui lab ...`` against it
    passes ``KDRTUI_LAB_DIR=<lab.home>`` in that command's environment. Loading its plan
    (``load_plan(lab.plan_path)``) makes kdrtui's Kafka clients connect to it as the plan says.
    """
    require_java()
    home = tmp_path_factory.mktemp(f"lab-{mode}")
    with (
        reserved_ports(first, first + 10000) as ports,
        reserved_port(TEST_EDGE_PORT + 50) as edge_port,
    ):
        the_lab = Lab(home, primary_port=ports[0], dr_port=ports[1], edge_port=edge_port, security=mode)
        try:
            the_lab.up()
            yield the_lab
        finally:
            the_lab.down(purge=True)


@pytest.fixture(scope="session")
def secured_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The session's SASL_SSL lab (SCRAM-SHA-512 over TLS, StandardAuthorizer, users admin, app and
    mirrormaker), started the first time a test asks for it; kdrtui connects as admin."""
    yield from _secured_lab(tmp_path_factory, "sasl_ssl", 17192)


@pytest.fixture(scope="session")
def mtls_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The session's mutual-TLS lab (SSL listener, client certificates, StandardAuthorizer)."""
    yield from _secured_lab(tmp_path_factory, "ssl", 16192)
