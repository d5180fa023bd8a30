"""The wheel ships what kdrtui reads at run time and nothing else.

Built from this source tree (``pip wheel``, with the venv's hatchling when it has one, else in an
isolated build that fetches it), installed with ``pip install --target`` into a folder of its own, and
used from a fresh interpreter that finds kdrtui only there: the edge-node scripts as package data, the
``.tcss`` files beside the TUI modules, the themes from the top-level ``themes/`` folder, no tests.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "kdrtui"
SCRIPTS = PACKAGE / "services" / "mirrormaker" / "scripts"
THEMES = REPO / "themes"

pytestmark = pytest.mark.timeout(240)

# Run in a fresh interpreter: what it imports must come from the installed copy alone.
PROBE = """\
import json, sys
from importlib.resources import files

import kdrtui
from kdrtui.services.mirrormaker import node_scripts
from kdrtui.tui import themes

scripts = files("kdrtui.services.mirrormaker") / "scripts"
tui = files("kdrtui.tui")
print(json.dumps({
    "kdrtui": kdrtui.__file__,
    "node_scripts": node_scripts.__file__,
    "scripts": sorted(entry.name for entry in scripts.iterdir()),
    "supervise.sh": node_scripts.script("supervise.sh"),
    "schedule.awk": node_scripts.run_dir_scripts().schedule_awk,
    "tcss": [name for name in sys.argv[1:] if tui.joinpath(name).is_file()],
    "themes_dir": str(themes.themes_dir()),
    "themes": sorted(path.name for path in themes.themes_dir().glob("*.tcss")),
    "dark": themes.load_theme("dark").name,
}))
"""


def shipped_files() -> list[str]:
    """Every file of the package in the source tree (what the wheel must hold), as wheel paths."""
    return sorted(
        str(path.relative_to(REPO))
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this source tree."""
    out = tmp_path_factory.mktemp("dist")
    offline = ["--no-build-isolation"] if importlib.util.find_spec("hatchling") else []
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", *offline, "-w", str(out), str(REPO)]
    done = subprocess.run(build, capture_output=True, text=True, timeout=200)
    how = "the venv's hatchling" if offline else "an isolated build (needs PyPI, or: pip install hatchling)"
    assert done.returncode == 0, f"building the wheel with {how} failed:\n{done.stdout}\n{done.stderr}"
    (built,) = out.glob("kdrtui-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the wheel is installed into (no dependencies: the venv has them)."""
    target = tmp_path_factory.mktemp("site")
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target)]
    done = subprocess.run([*install, str(wheel)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def test_the_wheel_holds_every_file_of_the_package_and_the_themes_and_no_tests(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in shipped_files() if name not in names]
    assert not missing, f"the wheel lacks files of the source tree: {missing}"
    themes = sorted(f"kdrtui/themes/{path.name}" for path in THEMES.glob("*.tcss"))
    assert len(themes) >= 3 and set(themes) <= names, sorted(n for n in names if "themes" in n)
    outside = sorted(n for n in names if n.split("/")[0] != "kdrtui" and ".dist-info/" not in n)
    assert not outside, f"the wheel holds files outside the package: {outside}"
    assert not [n for n in names if "/tests/" in f"/{n}" or "/__pycache__/" in n]


def test_the_installed_package_finds_its_scripts_css_and_themes(installed: Path, tmp_path: Path) -> None:
    tcss = sorted(str(path.relative_to(PACKAGE / "tui")) for path in (PACKAGE / "tui").rglob("*.tcss"))
    env = {**os.environ, "PYTHONPATH": str(installed)}
    # From an empty folder, so the interpreter's first path entry holds no kdrtui of its own.
    probe = [sys.executable, "-c", PROBE, *tcss]
    done = subprocess.run(probe, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)

    assert Path(found["kdrtui"]).is_relative_to(installed), f"kdrtui came from {found['kdrtui']}"
    assert Path(found["node_scripts"]).is_relative_to(installed)
    wanted = sorted(path.name for path in SCRIPTS.iterdir() if path.suffix in (".sh", ".awk"))
    assert wanted and set(wanted) <= set(found["scripts"]), found["scripts"]
    assert found["supervise.sh"] == (SCRIPTS / "supervise.sh").read_text(encoding="utf-8")
    assert found["schedule.awk"] == (SCRIPTS / "schedule.awk").read_text(encoding="utf-8")
    assert len(tcss) >= 2 and found["tcss"] == tcss, f"beside the TUI modules: {tcss}"
    assert Path(found["themes_dir"]).is_relative_to(installed), found["themes_dir"]
    assert found["themes"] == sorted(path.name for path in THEMES.glob("*.tcss"))
    assert found["dark"] == "kdrtui-dark"
