"""`wphil schematic`: the build package of a bench's circuit: drawings, parts list, wiring
table, bill of materials, supply specification, placement plan, KiCad netlist and ERC report.

Registered on the `wphil` group in host/cli/__init__.py. The drawings need the optional
extra `schematic` (schemdraw), the KiCad netlist SKiDL (same extra) and Debian's
kicad-symbols/kicad-footprints; the tables need nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from wphil.drivers import DEFAULT_BENCH
from wphil.drivers.bench_files import load_bench
from wphil.lab import (
    draw_schematic,
    export_kicad,
    parts_list,
    write_build_package,
    write_tables,
)

TABLE_FILES = ("parts.csv", "parts.md", "wiring.csv", "wiring.md")
DRAWING_FILES = ("schematic.svg", "schematic.png")
PACKAGE_FILES = ("bom.csv", "build.md", "placement.csv")
KICAD_FILES = ("erc.txt", "wphil.kicad_sym", "sym-lib-table", "fp-lib-table")


def _check_out(out: Path, names: tuple[str, ...], force: bool) -> None:
    """Refuse, before writing anything, an --out that is a file or already holds our files."""
    if out.exists() and not out.is_dir():
        raise click.UsageError(f"--out {out}: is a file, not a folder")
    clash = [name for name in names if (out / name).exists()]
    if clash and not force:
        raise click.UsageError(f"--out {out}: already has {', '.join(clash)}; choose another "
                               "folder, or --force to replace them")


@click.command(name="schematic")
@click.option("--bench", default=DEFAULT_BENCH, show_default=True, help="Bench name or file.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the build package  [default: schematic-BENCH]")
@click.option("--no-drawing", is_flag=True, help="No SVG/PNG drawings.")
@click.option("--no-kicad", is_flag=True, help="No KiCad netlist and ERC report.")
@click.option("--force", is_flag=True, help="Replace the build package's files if OUT already "
              "has them.")
def schematic_cmd(bench: str, out_dir: Path | None, no_drawing: bool, no_kicad: bool,
                  force: bool) -> None:
    """Write the build package of the bench's circuit: drawings, tables, KiCad netlist, ERC."""
    b = load_bench(bench)
    out = out_dir or Path(f"schematic-{b.name}")
    names = TABLE_FILES + PACKAGE_FILES + (() if no_drawing else DRAWING_FILES) \
        + (() if no_kicad else (f"{b.name}.net",) + KICAD_FILES)
    _check_out(out, names, force)
    top = next((p for p in [*reversed(out.parents), out] if not p.exists()), None)
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = write_tables(b, out) + write_build_package(b, out)
        if not no_kicad:
            written += export_kicad(b, out)
        if not no_drawing:
            written = draw_schematic(b, out) + written
    except BaseException:
        if top is not None and not any(p.is_file() for p in top.rglob("*")):
            shutil.rmtree(top, ignore_errors=True)   # refused late: leave no empty folder
        raise
    total = sum(p.cost_usd for p in parts_list(b))
    click.echo(f"{b.name}: {b.n_weights} weights, about ${total:.0f} of parts")
    if not no_kicad:
        click.echo("  " + (out / "erc.txt").read_text().splitlines()[0])
    for path in written:
        click.echo(f"  {path}")
