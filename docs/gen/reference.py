"""Reference pages generated from the code at build time, so they cannot drift from it.

Each function returns Markdown for one `<!-- generated: NAME -->` marker (docs/hooks.py).
A thing the code has and these pages cannot describe (a bench key without a doc string, a
URL option its backend's `URL format:` comment does not mention, a run file without a
description) is reported as a problem, which fails `mkdocs build --strict`.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import re
import tempfile
import textwrap
import tomllib
from pathlib import Path

import numpy as np

Problems = list[str]


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


# -- bench-file keys ---------------------------------------------------------------------

def _type_name(hint: object) -> str:
    text = getattr(hint, "__name__", None) if not hasattr(hint, "__args__") else None
    if text:
        return text
    text = str(hint).replace("typing.", "")
    text = re.sub(r"wphil\.drivers\.bench_tables\.(\w+)", r"\1", text)
    return text.replace("tuple[int, ...]", "list of int").replace(
        "tuple[float, ...]", "list of float").replace("tuple[str, ...]", "list of str").replace(
        "tuple[FixedChannel, ...]", "list of tables")


def _allowed(meta: dict) -> str:
    if meta["choices"]:
        return ", ".join(f"`{c!r}`" for c in meta["choices"])
    if meta["lo"] is not None:
        return f"{meta['lo']:g} .. {meta['hi']:g}"
    return "any"


def _default(field: dataclasses.Field) -> str:
    if field.default is dataclasses.MISSING:
        return "**required**"
    value = field.default
    if isinstance(value, tuple):
        value = list(value)
    return f"`{json.dumps(value) if not isinstance(value, float) else f'{value:g}'}`"


def _key_table(cls: type, prefix: str, problems: Problems) -> list[str]:
    import typing
    hints = typing.get_type_hints(cls)
    rows = ["| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for f in dataclasses.fields(cls):
        doc = f.metadata.get("doc", "")
        if not doc:
            problems.append(f"bench key {prefix} {f.name} has no doc= in drivers/bench_tables.py")
        rows.append(f"| `{f.name}` | {_type_name(hints[f.name])} | {_default(f)} | "
                    f"{_allowed(f.metadata)} | {_cell(doc)} |")
    return rows


def bench_keys(problems: Problems) -> str:
    """Every table and key of a bench file, from drivers/bench_tables.py's declarations."""
    from wphil.drivers.bench_tables import SECTIONS, FixedChannel

    out = []
    for name, cls in SECTIONS.items():
        out += [f"## `[{name}]`", ""]
        doc = inspect.getdoc(cls)
        if not doc or doc.startswith(cls.__name__ + "("):
            problems.append(f"bench table [{name}] ({cls.__name__}) has no docstring")
        else:
            out += [doc, ""]
        out += _key_table(cls, f"[{name}]", problems) + [""]
        if name == "wiring":
            out += ["Each entry of `fixed` is a table with these keys:", ""]
            out += _key_table(FixedChannel, "[wiring] fixed", problems) + [""]
    return "\n".join(out)


# -- device URLs -------------------------------------------------------------------------

def _url_format(module) -> str:
    """The `URL format:` block of a backend module's docstring (pyserial's convention)."""
    doc = inspect.getdoc(module) or ""
    match = re.search(r"^URL format:.*?(?=\n\n|\Z)", doc, re.S | re.M)
    return match.group(0) if match else ""


def _backend_options(module) -> dict:
    for attr in ("_OPTIONS", "OPTIONS"):
        if isinstance(getattr(module, attr, None), dict):
            return getattr(module, attr)
    return {}


def device_urls(problems: Problems) -> str:
    """One section per URL scheme in the backend registry (drivers/urls.py BACKENDS)."""
    from wphil.drivers.urls import BACKENDS

    by_module: dict[str, list[str]] = {}
    for scheme, target in BACKENDS.items():
        by_module.setdefault(target.split(":")[0], []).append(scheme)
    out = []
    for module_name, schemes in by_module.items():
        module = importlib.import_module(module_name)
        title = ", ".join(f"`{s}://`" for s in schemes)
        summary = (inspect.getdoc(module) or "").split("\n\n")[0].replace("\n", " ")
        block = _url_format(module)
        if not block:
            problems.append(f"{module_name}: no 'URL format:' block in its docstring")
        options = _backend_options(module)
        out += [f"## {title}", "", summary, "", "```text", block, "```", ""]
        if options:
            out += ["| option | value |", "|---|---|"]
            for name, convert in options.items():
                if not re.search(rf"\b{re.escape(name)}\b", block):
                    problems.append(f"{module_name}: URL option {name!r} is accepted but its "
                                    "'URL format:' block does not mention it")
                kind = getattr(convert, "__name__", "text")
                kind = {"str": "text", "int": "an integer", "float": "a number"}.get(kind, kind)
                out.append(f"| `{name}` | {_cell(kind)} |")
            out.append("")
        out += [f"Module: `{module_name}`.", ""]
    return "\n".join(out)


# -- run directories ---------------------------------------------------------------------

#: metrics.csv columns; a column the code writes and this does not describe is a problem
METRIC_COLUMNS = {
    "epoch": "epoch number, from 1",
    "queries": "forward passes of one pattern so far, every evaluation counted",
    "loss": "mean squared error on the whole set after the epoch (V²); for sequence tasks, "
            "over every scored step",
    "accuracy": "fraction of patterns (or scored steps) right by the decision margin",
    "elapsed_s": "wall time since the run started (s)",
    "train_loss": "mean of the base losses measured during the epoch's steps (V²)",
    "grad_norm": "norm of the last gradient estimate",
}


def _run_files() -> dict[str, str]:
    """File name -> meaning, from the table in wphil.runs.rundir's docstring."""
    from wphil.runs import rundir
    files = {}
    for line in (rundir.__doc__ or "").splitlines():
        match = re.match(r"^    (\S+\.\w+|\.wphil\.lock)\s{2,}(.+)$", line)
        if match:
            files[match.group(1)] = match.group(2)
    return files


def _npz_table(path: Path) -> list[str]:
    rows = ["| array | dtype | shape (this run) |", "|---|---|---|"]
    with np.load(path) as archive:
        for name in archive.files:
            rows.append(f"| `{name}` | `{archive[name].dtype}` | {archive[name].shape} |")
    return rows


def run_directory(problems: Problems) -> str:
    """Train a short XOR run on mock:// and describe what it wrote, file by file."""
    import wphil
    from wphil.learning import EpochRecord

    described = _run_files()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run"
        wphil.train(device="mock://", bench="xor-2-2-1", seed=0, epochs=3, out=path).wait()
        written = sorted(p.name for p in path.iterdir())
        out = ["Files of a run directory, as `wphil train --epochs 3` on `mock://` writes them "
               "(generated when this site was built):", "",
               "| file | what it holds |", "|---|---|"]
        for name in written:
            if name not in described:
                problems.append(f"run directory file {name} is not described in "
                                "wphil.runs.rundir's docstring")
            out.append(f"| `{name}` | {_cell(described.get(name, ''))} |")
        others = [name for name in described if name not in written]
        if others:
            out += ["", "Written by some runs only, or while a run is going:", "",
                    "| file | what it holds |", "|---|---|"]
            out += [f"| `{name}` | {_cell(described[name])} |" for name in others]
        out += [""]
        out += ["### `metrics.csv`", "", "| column | meaning |", "|---|---|"]
        for column in EpochRecord.COLUMNS:
            if column not in METRIC_COLUMNS:
                problems.append(f"metrics.csv column {column} is not described in docs/gen")
            out.append(f"| `{column}` | {METRIC_COLUMNS.get(column, '')} |")
        head = (path / "metrics.csv").read_text().splitlines()[:3]
        out += ["", "```text", *head, "...", "```", ""]
        summary = json.loads((path / "summary.json").read_text())
        summary["finished"] = "2026-01-01T00:00:00+00:00"
        summary["wall_s"] = 0.01
        out += ["### `summary.json`", "", "Strict JSON (a loss never measured is `null`):", "",
                "```json", json.dumps(summary, indent=2), "```", ""]
        config = tomllib.loads((path / "config.toml").read_text())
        out += ["### `config.toml`", "",
                "The `[run]` table holds every training setting, resolved; the other tables are "
                "the full bench ([Bench files](bench-files.md)): "
                + ", ".join(f"`[{t}]`" for t in config if t != "run") + ".", "", "```toml", "[run]"]
        out += [f"{k} = {json.dumps(v)}" for k, v in config["run"].items()] + ["```", ""]
        for name in ("weights.npz", "checkpoint.npz"):
            out += [f"### `{name}`", ""] + _npz_table(path / name) + [""]
    return "\n".join(out)


# -- the Python API ----------------------------------------------------------------------

def python_api(problems: Problems) -> str:
    """A mkdocstrings block for each name in `wphil.__all__`, from the module defining it."""
    import wphil

    out = [textwrap.dedent("""\
        Everything in `wphil.__all__`; anything else may change between versions. Each entry
        says where it is defined.
        """)]
    for name in wphil.__all__:
        module = wphil._EXPORTS[name]
        out += [f"::: {module}.{name}", "    options:", "      heading_level: 2",
                "      show_root_full_path: false", ""]
    return "\n".join(out)


GENERATORS = {
    "bench-keys": bench_keys,
    "device-urls": device_urls,
    "run-directory": run_directory,
    "python-api": python_api,
}
