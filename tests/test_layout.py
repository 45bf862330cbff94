"""The package's shape: one namespace, no import cycles, groups that use each other only
through their packages, and a wheel that installs nothing but `wphil`."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: repository folder -> the package it installs as (pyproject.toml's package-dir)
PACKAGE_DIRS = {"host": "wphil", "drivers": "wphil.drivers", "firmware": "wphil.firmware"}
#: the groups inside host/; each may use another only through that group's package
GROUPS = ("cli", "learning", "runs", "lab", "compare")


def _modules() -> dict[str, Path]:
    """Every importable host-side module, by its dotted name (the board-only firmware files
    import each other by flat names on the Pico and are not part of the namespace's graph)."""
    found = {}
    for folder, package in PACKAGE_DIRS.items():
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            if folder == "firmware" and parts and parts[0] not in ("protocol", "version"):
                continue
            if (path.parent / "__init__.py").exists() or path.parent == ROOT / folder:
                found[".".join([package, *parts])] = path
    return found


def _bound_names(path: Path) -> set[str]:
    """Names a package's __init__ binds itself (so `from pkg import name` is not a module)."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The wphil modules `path` imports anywhere in its body (function-level imports too)."""
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            bound = _bound_names(modules[node.module]) if node.module in modules else set()
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names
                                    if a.name not in bound)]
        else:
            continue
        targets.update(n for n in names if n in modules)
    return targets


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


@pytest.mark.slow
def test_the_packages_modules_form_no_import_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        path = [*path, node]
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, path)
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.slow
def test_groups_use_each_other_only_through_their_packages() -> None:
    offences = []
    for module, targets in _graph().items():
        group = module.split(".")[1] if "." in module else None
        for target in targets:
            parts = target.split(".")
            if len(parts) < 2 or parts[1] not in GROUPS or parts[1] == group:
                continue
            if group in ("drivers", "firmware"):
                offences.append(f"{module} (a device layer) imports the host's {target}")
            elif len(parts) > 2:
                offences.append(f"{module} imports {target}, inside another group")
    assert not offences, "\n".join(sorted(offences))


@pytest.mark.slow
def test_the_graph_sees_the_packages_real_imports() -> None:
    """Guard for the two tests above: the graph is not empty and knows known edges."""
    graph = _graph()
    assert "wphil.learning.trainers" in graph["wphil.runs.session"] or \
        "wphil.learning" in graph["wphil.runs.session"]
    assert "wphil.drivers.caltable" in graph["wphil.drivers.bench_files"]
    assert len(graph) > 60


@pytest.mark.slow
def test_the_wheel_installs_only_the_wphil_namespace(tmp_path: Path) -> None:
    source = tmp_path / "src"
    skip_top = {".git", "runs", "build", "dist", "node_modules", ".pytest_cache", ".hypothesis"}
    shutil.copytree(ROOT, source, ignore=lambda folder, names: [
        n for n in names if (Path(folder) == ROOT and n in skip_top)
        or n == "__pycache__" or n.endswith(".egg-info")])
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "-q", "-w", str(tmp_path / "dist"), str(source)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    wheel = next((tmp_path / "dist").glob("wphil-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"wphil"}
    for needed in ("wphil/__init__.py", "wphil/cli/__init__.py", "wphil/drivers/mock.py",
                   "wphil/drivers/benches/xor-2-2-1.toml", "wphil/firmware/main.py",
                   "wphil/firmware/sim/board.py", "wphil/firmware/PROTOCOL.md",
                   "wphil/learning/data/iris.csv", "wphil/drivers/instruments/sim/instruments.yaml"):
        assert needed in names, needed
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "wphil = wphil.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


@pytest.mark.slow
def test_import_wphil_is_light_and_public_names_are_exactly_all(tmp_path: Path) -> None:
    code = ("import sys, wphil; heavy = [m for m in ('numpy', 'click', 'serial') if m in sys.modules];"
            "print(heavy); print(sorted(wphil.__all__)); print(wphil.__version__);"
            "print(all(callable(getattr(wphil, n)) for n in wphil.__all__))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout.splitlines()
    assert out[0] == "[]"
    assert out[1] == str(sorted(["Bench", "ConfigError", "Device", "DeviceError", "Run", "Training",
                                 "WphilError", "load_bench", "open_device", "train"]))
    assert out[2].count(".") == 2 and out[3] == "True"


def test_old_top_level_names_are_gone(tmp_path: Path) -> None:
    for name in ("host", "drivers", "firmware"):
        # from an empty folder: the one holding the clone (maybe named wphil) would shadow it
        proc = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True,
                              cwd=tmp_path)
        assert proc.returncode != 0, f"`import {name}` still works outside the repository"
