"""Finding and loading bench files: a built-in bench by name or a file by path, with a
non-ideality profile applied and a measured calibration table attached.

Kept apart from `bench` (the tables and their validation) so that `caltable`, which builds
benches, and the loader, which attaches tables, do not import each other.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from wphil.drivers.bench import Bench, bench_from_dict
from wphil.drivers.caltable import attach_table
from wphil.drivers.circuit import check_circuit, circuit_defaults
from wphil.drivers.errors import ConfigError
from wphil.drivers.hardware import hardware
from wphil.drivers.profiles import apply_profile


def builtin_benches() -> list[str]:
    """Names of the benches shipped with the package."""
    folder = resources.files("wphil.drivers") / "benches"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def resolve_bench_path(name_or_path: str) -> tuple[str, str]:
    """Return (source label, TOML text) for a built-in bench name or a file path."""
    if name_or_path in builtin_benches():
        text = (resources.files("wphil.drivers") / "benches" / f"{name_or_path}.toml").read_text()
        return f"{name_or_path} (built-in)", text
    path = Path(name_or_path)
    if path.exists() and not path.is_file():
        kind = "a folder" if path.is_dir() else "a device or special file, not a regular file"
        raise ConfigError(f"{path}: is {kind}; a bench is a TOML file or a built-in bench name "
                          f"({', '.join(builtin_benches())})")
    if not path.is_file():
        raise ConfigError(f"bench file not found: {name_or_path} "
                          f"(built-in benches: {', '.join(builtin_benches())})")
    if path.stat().st_size == 0:
        raise ConfigError(f"{path}: is empty; a bench file is TOML with [topology], [dac], ...; "
                          "start from a copy of one of the bench/*.toml examples")
    try:
        return str(path), path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text TOML file (not UTF-8)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror}") from None


def load_bench(name_or_path: str, profile: str = "default",
               overrides: dict[str, dict[str, Any]] | None = None) -> Bench:
    """Load, apply a non-ideality profile and overrides, and validate a bench."""
    source, text = resolve_bench_path(name_or_path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    data = apply_profile(data, profile)
    for section, table in (overrides or {}).items():
        data.setdefault(section, {}).update(table)
    bench = bench_from_dict(data, source, profile)
    bench = circuit_defaults(bench, data)      # settle time and rails follow from [circuit]
    hardware(bench)             # every GPIO exists, is free, does its job; the ADC can be built
    check_circuit(bench)
    if bench.calibration.table:
        builtin = name_or_path in builtin_benches()
        package = Path(str(resources.files("wphil.drivers") / "benches"))
        here = package if builtin else Path(name_or_path).parent
        bench = attach_table(bench, here)
    return bench
