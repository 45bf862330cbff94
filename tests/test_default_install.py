"""`pip install .` runs every rule: twin's fitting dependency is a core dependency, and a
broken install without it is refused in one line before anything is written."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: run the CLI with some top-level modules unimportable (an import hook, as on an install
#: that lacks them); argv[1] is a comma-separated list of them, the rest the CLI's arguments
BLOCKED_CLI = """
import sys
blocked = set(filter(None, sys.argv[1].split(",")))
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Block())
from wphil.cli import main
sys.argv = ["wphil", *sys.argv[2:]]
main()
"""


def _run_blocked(blocked: set[str], *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKED_CLI, ",".join(sorted(blocked)), *args],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def _import_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower().replace("-", "_")


def _optional_only() -> set[str]:
    """Import names of every package an extra adds that the core dependencies do not have."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {_import_name(r) for r in project["dependencies"]}
    extras = {_import_name(r) for reqs in project["optional-dependencies"].values() for r in reqs}
    return extras - core


def test_twin_fitting_dependency_is_a_core_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "scipy" in {_import_name(r) for r in project["dependencies"]}


@pytest.mark.slow
def test_twin_trains_with_only_the_core_dependencies_importable(tmp_path: Path) -> None:
    blocked = _optional_only()
    assert {"cma", "matplotlib", "pytest"} <= blocked      # the hook really removes the extras
    done = _run_blocked(blocked, "train", "--algo", "twin", "--out", "run", "--no-progress",
                        cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "converged" in done.stdout
    assert (tmp_path / "run" / "twin.json").is_file()


def test_twin_without_scipy_is_refused_in_one_line_before_anything_is_written(
        tmp_path: Path) -> None:
    done = _run_blocked({"scipy"}, "train", "--algo", "twin", "--out", "run", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "scipy" in lines[0] and "twin" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []
