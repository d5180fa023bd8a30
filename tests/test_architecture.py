"""The shape of kdrtui, read from its source with :mod:`ast` (nothing is imported, nothing runs).

- the module import graph has no cycle; every import counts: top level, inside functions, under
  ``if TYPE_CHECKING:``; relative imports resolved; ``from pkg import name`` is an edge to ``pkg.name``
  when that is a module, else to ``pkg``;
- ``kdrtui/domain/`` is pure: it imports nothing from kdrtui outside ``domain/``, no I/O or UI library,
  and makes no file-system call;
- only ``kdrtui/tui/`` imports textual; the rest of kdrtui reaches ``kdrtui.tui`` only from a function
  of ``kdrtui/commands/`` (the ``console`` and ``demo`` commands), so ``kdrtui --help`` and every
  automation command start without Textual;
- no module is past 500 lines, ``kdrtui/tui/app.py`` not past 350;
- no ``getattr(<...>.app, ...)``: the app is reached through its typed accessor;
- no module of ``tests/`` imports a ``test_*`` module: shared helpers live in helper modules.

Each finder is pure (source text in, findings out) and has a self-test on a synthetic snippet that
shows it finds what it looks for.
"""

from __future__ import annotations

import ast
import itertools
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "kdrtui"
TESTS = REPO / "tests"

MAX_LINES = 500
"""STYLE.md: a file past ~400 lines is asking to be split, past 500 it must be."""
MAX_APP_LINES = 350
"""The app holds modes, bindings and theme loading; everything else lives in screens and widgets."""

DOMAIN_FORBIDDEN: dict[str, frozenset[str]] = {
    "UI": frozenset({"textual", "rich", "click", "prompt_toolkit", "curses"}),
    "networking": frozenset(
        {"socket", "ssl", "select", "selectors", "http", "urllib", "requests", "httpx", "aiohttp"}
    ),
    "processes and event loops": frozenset(
        {"subprocess", "multiprocessing", "threading", "concurrent", "signal", "asyncio", "pty"}
    ),
    "file system": frozenset(
        {"os", "io", "pathlib", "shutil", "tempfile", "glob", "fileinput", "mmap", "sqlite3", "platformdirs"}
    ),
    "SDKs": frozenset({"asyncssh", "paramiko", "confluent_kafka", "azure", "trustme"}),
}
"""Top-level packages ``kdrtui/domain/`` may not import, by what they would bring in. The domain takes
and returns values (plan text in, plan out; plan in, configs and scripts out); services/ does the I/O."""

FILE_METHODS = frozenset(
    {
        "read_text",
        "write_text",
        "read_bytes",
        "write_bytes",
        "open",
        "mkdir",
        "unlink",
        "touch",
        "rmdir",
        "iterdir",
        "rglob",
        "exists",
        "is_file",
        "is_dir",
        "symlink_to",
        "chmod",
    }
)
"""Methods that touch the file system (``pathlib.Path``'s, a file object's ``open``)."""
FILE_MODULES = frozenset({"os", "io", "shutil", "tempfile"})
"""Modules whose every function is an OS or file call (``os.path.exists`` included)."""


# --- the import graph ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    """One import statement's module, resolved to an absolute dotted name."""

    module: str
    """The importing module."""
    name: str
    """The module imported: ``a.b`` for ``import a.b`` and for ``from a.b import c``."""
    names: tuple[str, ...]
    """What ``from a.b import ...`` takes out of it (empty for ``import a.b``)."""
    line: int
    """Line of the import statement."""
    lazy: bool
    """Inside a function (runs when the function is called, not at import time)."""

    @property
    def targets(self) -> list[str]:
        """The module and each ``module.name`` (which may be a submodule or an attribute)."""
        return [self.name, *(f"{self.name}.{n}" for n in self.names)]


def source_modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``root`` (the folder of ``package``)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = (package, *path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _absolute(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of ``from <level dots><target> import ...`` written in ``module``."""
    if not level:
        return target or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    base = parts[: len(parts) - level + 1]
    return ".".join([*base, target] if target else base)


def _in_functions(tree: ast.AST) -> set[int]:
    """Ids of the nodes that stand inside a function body."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            inside.update(id(child) for child in ast.walk(node) if child is not node)
    return inside


def imports(module: str, source: str, *, is_package: bool = False) -> list[Import]:
    """Every import in ``module``, wherever the statement stands (top level, function, ``if``), in order."""
    tree = ast.parse(source)
    lazy = _in_functions(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(module, a.name, (), node.lineno, id(node) in lazy) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.level, node.module)
            names = tuple(a.name for a in node.names if a.name != "*")
            found.append(Import(module, base, names, node.lineno, id(node) in lazy))
    return sorted(found, key=lambda imp: imp.line)


def _known(name: str, modules: Mapping[str, object]) -> str | None:
    """The longest prefix of ``name`` that is one of ``modules`` (``pkg.func`` -> ``pkg``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


@dataclass(frozen=True)
class Source:
    """A module's text, and whether it is a package's ``__init__``."""

    text: str
    is_package: bool = False


Graph = dict[str, dict[str, int]]
"""Module -> the modules it imports -> the line of (one of) the import statement(s)."""


def import_graph(sources: Mapping[str, Source]) -> Graph:
    """The import graph among ``sources`` (imports of anything else are left out).

    ``from pkg import a, b`` is an edge to ``pkg.a`` when that is a module, else to ``pkg``: a submodule
    imported by name is a dependency on the submodule, an attribute one on the package.
    """
    graph: Graph = {name: {} for name in sources}
    for name, source in sources.items():
        for imp in imports(name, source.text, is_package=source.is_package):
            targets = [f"{imp.name}.{n}" for n in imp.names if f"{imp.name}.{n}" in sources]
            if len(targets) < len(imp.names) or not imp.names:
                targets.append(imp.name)  # an attribute of the module (or a plain ``import``)
            for target in filter(None, (_known(t, sources) for t in targets)):
                if target != name:
                    graph[name].setdefault(target, imp.line)
    return graph


def strongly_connected(graph: Mapping[str, Mapping[str, int]]) -> list[list[str]]:
    """The import cycles: every strongly connected component of two or more modules (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def one_cycle(graph: Mapping[str, Mapping[str, int]], component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module, as ``a:line -> b:line -> ... -> a``."""
    members, start = set(component), component[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w not in members or w in came_from:
                    continue
                came_from[w] = v
                if w == start:
                    path = [start]
                    while path[-1] != start or len(path) == 1:
                        path.append(came_from[path[-1]])
                    path.reverse()
                    return [f"{a} (line {graph[a][b]})" for a, b in itertools.pairwise(path)] + [start]
                following.append(w)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # a component of 2+ always has one


def kdrtui_sources() -> dict[str, Source]:
    """kdrtui's modules, as text."""
    return {
        name: Source(path.read_text(encoding="utf-8"), path.name == "__init__.py")
        for name, path in source_modules(PACKAGE, "kdrtui").items()
    }


def cycle_report(graph: Graph) -> str:
    """Each import cycle: its modules, and one concrete loop through them with the import lines."""
    lines = []
    for component in strongly_connected(graph):
        lines.append(f"{len(component)} modules import each other: {', '.join(component)}")
        lines.append("  for instance: " + " -> ".join(one_cycle(graph, component)))
    return "\n".join(lines)


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph(kdrtui_sources())
    assert not strongly_connected(graph), "import cycles (function-level imports count):\n" + cycle_report(
        graph
    )


def test_the_cycle_finder_finds_a_cycle_through_type_checking_relative_and_function_imports() -> None:
    sources = {
        "pkg": Source("", is_package=True),
        "pkg.a": Source("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n"),
        "pkg.b": Source("def f():\n    from . import c\n"),
        "pkg.c": Source("from .a import A\nimport json\n"),
        "pkg.d": Source("from pkg import a\n"),  # into the cycle, not part of it
    }
    graph = import_graph(sources)
    assert graph["pkg.b"] == {"pkg.c": 2}, "from . import c is an edge to the submodule, not the package"
    assert strongly_connected(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
    assert one_cycle(graph, ["pkg.a", "pkg.b", "pkg.c"]) == [
        "pkg.a (line 3)",
        "pkg.b (line 2)",
        "pkg.c (line 1)",
        "pkg.a",
    ]
    assert "pkg.a, pkg.b, pkg.c" in cycle_report(graph)
    del sources["pkg.c"]
    assert strongly_connected(import_graph(sources)) == []


def test_relative_imports_resolve_from_modules_and_packages() -> None:
    assert _absolute("kdrtui.services.ssh.session", False, 1, "errors") == "kdrtui.services.ssh.errors"
    assert _absolute("kdrtui.services.ssh", True, 1, "errors") == "kdrtui.services.ssh.errors"
    assert _absolute("kdrtui.services.ssh.session", False, 2, None) == "kdrtui.services"
    assert _absolute("kdrtui.tui.app", False, 0, "textual.app") == "textual.app"


# --- the domain is pure ---------------------------------------------------------------------------------


def forbidden_imports(module: str, source: str, *, is_package: bool = False) -> list[str]:
    """The imports of ``source`` that :data:`DOMAIN_FORBIDDEN` names, as ``module:line name (why)``."""
    found = []
    for imp in imports(module, source, is_package=is_package):
        top = imp.name.partition(".")[0]
        found += [
            f"{module}:{imp.line} imports {imp.name} ({why})"
            for why, n in DOMAIN_FORBIDDEN.items()
            if top in n
        ]
    return found


def file_io_calls(module: str, source: str) -> list[str]:
    """Calls in ``source`` that touch the file system: builtin ``open``, :data:`FILE_METHODS`, and any
    function of :data:`FILE_MODULES` (``os.remove``, ``os.path.exists``, ``io.open``, ...)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "open":
            found.append(f"{module}:{node.lineno} open(...)")
        elif isinstance(func, ast.Attribute):
            root: ast.expr = func
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in FILE_MODULES:
                found.append(f"{module}:{node.lineno} {ast.unparse(func)}(...)")
            elif func.attr in FILE_METHODS:
                found.append(f"{module}:{node.lineno} .{func.attr}(...)")
    return found


def domain_sources() -> dict[str, Source]:
    return {name: s for name, s in kdrtui_sources().items() if name.startswith("kdrtui.domain")}


def test_domain_imports_no_io_or_ui_library() -> None:
    found = [
        problem
        for name, source in domain_sources().items()
        for problem in forbidden_imports(name, source.text, is_package=source.is_package)
    ]
    assert not found, "kdrtui/domain/ is pure Python; move the I/O to services/:\n" + "\n".join(found)


def test_domain_does_no_file_io() -> None:
    found = [
        problem for name, source in domain_sources().items() for problem in file_io_calls(name, source.text)
    ]
    assert not found, (
        "kdrtui/domain/ takes and returns text; services/ reads and writes files:\n" + "\n".join(found)
    )


def test_domain_depends_on_nothing_outside_domain() -> None:
    graph = import_graph(kdrtui_sources())
    found = [
        f"{name}:{line} imports {target}"
        for name, targets in graph.items()
        if name.startswith("kdrtui.domain")
        for target, line in targets.items()
        if not target.startswith("kdrtui.domain")
    ]
    assert not found, "the arrows point one way (tui -> services -> domain):\n" + "\n".join(found)


def test_the_io_finders_find_io() -> None:
    snippet = textwrap.dedent(
        """\
        import json, subprocess
        from pathlib import Path
        from rich.markup import escape
        import azure.identity as ai

        def load(path):
            import confluent_kafka
            with open(path) as f:
                return f.read()

        def save(path, text):
            Path(path).write_text(text)
            path.parent.mkdir(parents=True)
            os.path.exists(path)
            io.open(path)
            return text.replace("a", "b"), json.loads(text)
        """
    )
    assert forbidden_imports("m", snippet) == [
        "m:1 imports subprocess (processes and event loops)",
        "m:2 imports pathlib (file system)",
        "m:3 imports rich.markup (UI)",
        "m:4 imports azure.identity (SDKs)",
        "m:7 imports confluent_kafka (SDKs)",
    ]
    assert sorted(file_io_calls("m", snippet)) == [
        "m:12 .write_text(...)",
        "m:13 .mkdir(...)",
        "m:14 os.path.exists(...)",
        "m:15 io.open(...)",
        "m:8 open(...)",
    ]
    assert file_io_calls("m", "text.replace('a', 'b').split()\nplan.model_copy()\n") == []


# --- only the TUI imports textual -------------------------------------------------------------------------


def _in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def outside_tui_problems(sources: Mapping[str, Source]) -> list[str]:
    """Imports of textual outside ``kdrtui.tui``, and imports of ``kdrtui.tui`` that are not inside a
    function of ``kdrtui.commands``."""
    found = []
    for name, source in sources.items():
        if _in_package(name, "kdrtui.tui"):
            continue
        for imp in imports(name, source.text, is_package=source.is_package):
            tui = [t for t in imp.targets if _in_package(t, "kdrtui.tui")]
            if _in_package(imp.name, "textual"):
                found.append(f"{name}:{imp.line} imports {imp.name}")
            elif tui and not (_in_package(name, "kdrtui.commands") and imp.lazy):
                where = "outside kdrtui/commands/" if imp.lazy else "at import time"
                found.append(f"{name}:{imp.line} imports {tui[0]} {where}")
    return sorted(found)


def test_only_the_tui_imports_textual() -> None:
    found = outside_tui_problems(kdrtui_sources())
    assert not found, (
        "only kdrtui/tui/ imports textual; a command that opens the console imports kdrtui.tui inside "
        "its function:\n" + "\n".join(found)
    )


def test_the_textual_rule_finds_textual_outside_the_tui() -> None:
    sources = {
        "kdrtui.tui.app": Source("from textual.app import App\n"),
        "kdrtui.commands.console": Source("def run():\n    from kdrtui.tui.app import make_app\n"),
        "kdrtui.commands.status": Source("from kdrtui.tui.text import shorten\n"),
        "kdrtui.services.alerts": Source("def f():\n    from textual.widgets import Static\n"),
        "kdrtui.lab.edge": Source("def f():\n    import kdrtui.tui\n"),
        "kdrtui.cli": Source("from kdrtui import tui\n"),
    }
    assert outside_tui_problems(sources) == [
        "kdrtui.cli:1 imports kdrtui.tui at import time",
        "kdrtui.commands.status:1 imports kdrtui.tui.text at import time",
        "kdrtui.lab.edge:2 imports kdrtui.tui outside kdrtui/commands/",
        "kdrtui.services.alerts:2 imports textual.widgets",
    ]


# --- sizes, the typed app -------------------------------------------------------------------------------


def oversized(files: Mapping[str, int], limits: Mapping[str, int], default: int) -> list[str]:
    """``path: N lines (limit L)`` for each file longer than its limit, longest first."""
    over = [(n, path) for path, n in files.items() if n > limits.get(path, default)]
    return [
        f"{path}: {n} lines (limit {limits.get(path, default)})" for n, path in sorted(over, reverse=True)
    ]


def line_counts() -> dict[str, int]:
    return {
        str(path.relative_to(REPO)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def test_no_module_is_past_500_lines_and_the_app_past_350() -> None:
    found = oversized(line_counts(), {"kdrtui/tui/app.py": MAX_APP_LINES}, MAX_LINES)
    assert not found, "split these modules (STYLE.md: past 500 lines a file must be split):\n" + "\n".join(
        found
    )


def test_the_size_rule_finds_long_files() -> None:
    counts = {"kdrtui/a.py": 501, "kdrtui/b.py": 500, "kdrtui/tui/app.py": 351}
    assert oversized(counts, {"kdrtui/tui/app.py": 350}, 500) == [
        "kdrtui/a.py: 501 lines (limit 500)",
        "kdrtui/tui/app.py: 351 lines (limit 350)",
    ]


def untyped_app_access(module: str, source: str) -> list[str]:
    """``getattr(x.app, ...)`` calls: the app reached by name instead of through its typed accessor."""
    return [
        f"{module}:{node.lineno} {ast.unparse(node)}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and node.args
        and isinstance(node.args[0], ast.Attribute)
        and node.args[0].attr == "app"
    ]


def test_no_getattr_on_the_app() -> None:
    found = [
        problem
        for name, source in kdrtui_sources().items()
        for problem in untyped_app_access(name, source.text)
    ]
    assert not found, "reach the app through its typed accessor (kdr_app), never getattr:\n" + "\n".join(
        found
    )


def test_the_getattr_finder_finds_getattr_on_the_app() -> None:
    snippet = (
        "x = getattr(self.app, 'services', None)\ny = getattr(self.screen.app, 'mode')\nz = getattr(e, 'k')\n"
    )
    assert untyped_app_access("m", snippet) == [
        "m:1 getattr(self.app, 'services', None)",
        "m:2 getattr(self.screen.app, 'mode')",
    ]


# --- tests share helpers through helper modules -----------------------------------------------------------


def imports_of_test_modules(module: str, source: str, *, is_package: bool = False) -> list[str]:
    """Imports of a ``test_*`` module in ``source``: ``from tests.x.test_y import z``,
    ``from tests.x import test_y``, ``import tests.x.test_y``, relative ones too."""
    found = []
    for imp in imports(module, source, is_package=is_package):
        for target in imp.targets:
            parts = target.split(".")
            tests = [i for i, part in enumerate(parts) if part.startswith("test_")]
            if tests:
                found.append(f"{module}:{imp.line} imports {'.'.join(parts[: tests[0] + 1])}")
                break
    return found


def test_no_test_module_imports_another() -> None:
    found = [
        problem
        for name, path in source_modules(TESTS, "tests").items()
        for problem in imports_of_test_modules(
            name, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py"
        )
    ]
    assert not found, (
        "tests share helpers through helper modules (tests/kafka_helpers.py, tests/lab_helpers.py, "
        "tests/samples.py, tests/services/fakes.py, tests/tui/fakes.py, tests/tui/pilot_helpers.py, "
        "conftest fixtures), never by importing another test module:\n" + "\n".join(found)
    )


def test_the_test_import_finder_finds_test_modules() -> None:
    snippet = textwrap.dedent(
        """\
        from tests.domain.test_plan import GOOD
        from tests.tui import test_lag_pane
        from .test_mm_systemd import ScriptedNode
        from tests.kafka_helpers import create_topic
        import tests.integration.test_failover_lab as failover
        """
    )
    assert imports_of_test_modules("tests.services.test_x", snippet) == [
        "tests.services.test_x:1 imports tests.domain.test_plan",
        "tests.services.test_x:2 imports tests.tui.test_lag_pane",
        "tests.services.test_x:3 imports tests.services.test_mm_systemd",
        "tests.services.test_x:5 imports tests.integration.test_failover_lab",
    ]
