"""The bench's circuit as a KiCad netlist, checked by SKiDL's electrical rules check.

Every component of wphil.lab.components becomes a SKiDL part made from KiCad's own symbol
libraries (Debian kicad-symbols: Analog_DAC:MCP4728, Amplifier_Operational:MCP6004,
Analog_Switch:DG412xJ, Diode:1N4148, Device:R/C/C_Polarized, Connector:Screw_Terminal_01x03)
or the project's (wphil.lab.kicad_lib: AD633, RaspberryPi_Pico), so pin numbers and pin
electrical types are KiCad's, not ours: a pin number our description names that the symbol
does not have is an error. The nets the bench supply drives through its (passive) terminal
block carry a power flag, as a KiCad schematic would (PWR_FLAG); nothing else is flagged.
Pins the description lists as unused get a no-connect; every other pin must be on a net.

Writes NAME.net (KiCad s-expression netlist, footprints assigned: Pcbnew's File > Import >
Netlist reads it) and erc.txt (the ERC report). SKiDL is an optional extra
(`pip install 'wphil[schematic]'`); the symbol libraries come from KICAD_SYMBOL_DIR or
/usr/share/kicad/symbols.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import tempfile
from pathlib import Path

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError
from wphil.lab.components import SUPPLY_NETS, Netlist
from wphil.lab.components_analog import bench_netlist
from wphil.lab.kicad_lib import write_library

log = logging.getLogger(__name__)

SYMBOL_DIRS = ("/usr/share/kicad/symbols",)
FOOTPRINT_DIRS = ("/usr/share/kicad/footprints",)


def kicad_dir(env: str, defaults: tuple[str, ...]) -> Path | None:
    for candidate in [os.environ.get(env, "")] + list(defaults):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def footprint_file(footprint: str, project: Path | None = None) -> Path | None:
    """The .kicad_mod of "Lib:Name" in kicad-footprints (or the project's wphil.pretty)."""
    lib, name = footprint.split(":")
    roots = [project] if lib == "wphil" and project else []
    root = kicad_dir("KICAD6_FOOTPRINT_DIR", FOOTPRINT_DIRS)
    roots += [root] if root else []
    for r in roots:
        path = r / f"{lib}.pretty" / f"{name}.kicad_mod"
        if path.is_file():
            return path
    return None


def _skidl():
    """Import SKiDL quietly: it opens log files in the working directory and warns about
    KiCad environment variables on import (we give it the library paths ourselves)."""
    try:
        with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp), \
                contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            import skidl
            from skidl.logger import stop_log_file_output

            stop_log_file_output()
    except ImportError:
        raise ConfigError("the KiCad export needs SKiDL: pip install 'wphil[schematic]'") from None
    return skidl


def export_kicad(bench: Bench, out: Path) -> list[Path]:
    """NAME.net, erc.txt and the project library in `out`; ConfigError when KiCad's symbol
    libraries are missing or a pin of the description is not on its symbol."""
    symbols = kicad_dir("KICAD_SYMBOL_DIR", SYMBOL_DIRS)
    if symbols is None:
        raise ConfigError("the KiCad export needs KiCad's symbol libraries: apt-get install "
                          "kicad-symbols kicad-footprints (or set KICAD_SYMBOL_DIR)")
    skidl = _skidl()
    out = out.resolve()
    written = write_library(out)
    netlist = bench_netlist(bench)
    missing = [c.footprint for c in netlist.components if footprint_file(c.footprint, out) is None]
    if missing:
        raise ConfigError(f"footprints not found in kicad-footprints: {sorted(set(missing))} "
                          "(apt-get install kicad-footprints)")
    net_path, erc_path = out / f"{bench.name}.net", out / "erc.txt"
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp), \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        # SKiDL writes a library cache (*_sklib.py) into the working directory: a scratch one
        circuit = _build(skidl, netlist, [str(symbols), str(out)])
        circuit.generate_netlist(file_=str(net_path), tool=skidl.KICAD6)
        report = erc_report(skidl, circuit, netlist)
    net_path.write_text(_reproducible(net_path.read_text()))
    erc_path.write_text(report)
    return [net_path, erc_path] + written


def _build(skidl, netlist: Netlist, lib_dirs: list[str]):
    tool = skidl.KICAD6
    skidl.lib_search_paths[tool] = lib_dirs
    circuit = skidl.Circuit()
    nets = {name: skidl.Net(name, circuit=circuit) for name in netlist.nets()}
    for name in SUPPLY_NETS:
        if name in nets:
            nets[name].drive = skidl.POWER    # the bench supply's PWR_FLAG
    for c in netlist.components:
        part = skidl.Part(c.lib, c.symbol, tool=tool, ref=c.ref, value=c.value,
                          footprint=c.footprint, tag=c.ref, circuit=circuit)
        part.fields["MPN"] = c.mpn
        numbers = {str(p.num) for p in part.pins}
        unknown = sorted((set(c.pins) | set(c.unused)) - numbers)
        if unknown:
            raise ConfigError(f"{c.ref}: pins {unknown} are not on KiCad's {c.lib}:{c.symbol}")
        if set(c.pins) & set(c.unused):
            raise ConfigError(f"{c.ref}: pins {sorted(set(c.pins) & set(c.unused))} are both "
                              "wired and listed unused")
        for number, net in c.pins.items():
            nets[net] += part.get_pins(number, only_search_numbers=True)
        for number in c.unused:
            circuit.NC += part.get_pins(number, only_search_numbers=True)
    return circuit


def _reproducible(text: str) -> str:
    """The same netlist for the same bench: no date, no script path, no SKiDL source line."""
    text = re.sub(r'\(date "[^"]*"\)', '(date "")', text)
    text = re.sub(r'\(source "[^"]*"\)', '(source "wphil schematic")', text)
    return re.sub(r'\n\s*\(field\n\s*\(name "SKiDL Line"\) "[^"]*"\)', "", text)


def erc_report(skidl, circuit, netlist: Netlist) -> str:
    """Run SKiDL's ERC; the report lists the counts, then every finding."""
    from skidl.logger import erc_logger

    records: list[str] = []
    handler = _Collect(records)
    erc_logger.addHandler(handler)
    try:
        circuit.ERC()
    finally:
        erc_logger.removeHandler(handler)
    errors = [r for r in records if r.startswith("ERROR")]
    warnings = [r for r in records if r.startswith("WARNING")]
    head = [f"ERC of {netlist.bench.name}: {len(errors)} errors, {len(warnings)} warnings",
            f"checker: SKiDL {skidl.__version__} ERC on KiCad's symbol pin types",
            f"{len(netlist.components)} components, {len(netlist.nets())} nets, "
            f"{sum(len(c.unused) for c in netlist.components)} pins marked no-connect "
            "(listed unused)", ""]
    return "\n".join(head + records) + "\n"


class _Collect(logging.Handler):
    def __init__(self, records: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.levelname}: {record.getMessage()}")
