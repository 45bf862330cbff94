"""The KiCad export of a bench (wphil.lab.kicad): a netlist Pcbnew can import, read back with
kinparse and held to the bench's netlist and to the written wiring table; pins and pin types
from KiCad's own symbol libraries; an ERC with nothing to report, that does report faults.

Needs Debian's kicad-symbols and kicad-footprints and the Python packages skidl and kinparse:
skipped without them, except under CI (CI=true), where their absence is a failure.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import re
from pathlib import Path

import pytest

from wphil.drivers.bench_files import load_bench
from wphil.drivers.errors import ConfigError
from wphil.lab.board import MCP4728_PINS, MCP6004_SECTIONS
from wphil.lab.build_recurrent import DG412_SWITCHES, DG412_VL, DG412_VMINUS, DG412_VPLUS
from wphil.lab.components_analog import bench_netlist
from wphil.lab.kicad import export_kicad, footprint_file

SYMBOLS, FOOTPRINTS = Path("/usr/share/kicad/symbols"), Path("/usr/share/kicad/footprints")


def _require_kicad() -> None:
    missing = [str(p) for p in (SYMBOLS, FOOTPRINTS) if not p.is_dir()]
    missing += [m for m in ("skidl", "kinparse") if importlib.util.find_spec(m) is None]
    if missing:
        message = f"KiCad export needs {', '.join(missing)} (apt: kicad-symbols kicad-footprints)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def xor_package(tmp_path_factory) -> Path:
    _require_kicad()
    from wphil.lab import write_tables

    out = tmp_path_factory.mktemp("xor-package")
    bench = load_bench("xor-2-2-1")
    write_tables(bench, out)
    export_kicad(bench, out)
    return out


@pytest.fixture(scope="module")
def xor_parsed(xor_package: Path):
    """The exported netlist as kinparse (the reader SKiDL and KiCad tooling use) reads it."""
    import kinparse

    return kinparse.parse_netlist((xor_package / "xor-2-2-1.net").read_text())


def _kicad_symbol(lib: str, name: str) -> dict[str, tuple[str, str]]:
    """Pin number -> (type, name) of a symbol, read from the .kicad_sym text itself."""
    text = (SYMBOLS / f"{lib}.kicad_sym").read_text()
    start = text.index(f'(symbol "{name}"')
    end = text.find('\n  (symbol "', start + 1)
    body = text[start:end]
    extends = re.search(r'\(extends "([^"]+)"\)', body)
    if extends:
        return _kicad_symbol(lib, extends.group(1))
    pins = re.findall(r'\(pin (\w+) \w+ .*?\(name "([^"]*)".*?\(number "([^"]+)"', body, re.S)
    return {number: (kind, pin_name) for kind, pin_name, number in pins}


@pytest.mark.slow
def test_netlist_reads_back_with_every_part_footprint_and_net_of_the_description(
        xor_package: Path, xor_parsed) -> None:
    parsed = xor_parsed
    description = bench_netlist(load_bench("xor-2-2-1"))
    parts = {p.ref: p for p in parsed.parts}
    assert set(parts) == {c.ref for c in description.components}
    for c in description.components:
        assert parts[c.ref].footprint == c.footprint
        assert footprint_file(c.footprint, xor_package) is not None, c.footprint
    nets = {n.name: {(p.ref, p.num) for p in n.pins} for n in parsed.nets}
    want = {name: set(pins) for name, pins in description.nets().items()}
    assert nets == want
    # a pin listed unused (no-connect flag) is on no net
    unused = {(c.ref, p) for c in description.components for p in c.unused}
    assert unused and not unused & set().union(*nets.values())


@pytest.mark.parametrize("name", ["xor-2-2-1", "delayed-xor", "xor-2-2-1-ads1115"])
def test_every_connected_pin_has_a_pad_on_its_footprint(name: str, tmp_path: Path) -> None:
    """What Pcbnew checks on import: each netlist node (ref, pin) lands on a pad of the
    footprint assigned to ref (a missing pad is an import error)."""
    _require_kicad()
    from wphil.lab.kicad_lib import write_library

    write_library(tmp_path)                      # the project's Pico footprint
    for c in bench_netlist(load_bench(name)).components:
        text = footprint_file(c.footprint, tmp_path).read_text()
        pads = set(re.findall(r'\(pad "([^"]+)"', text))
        assert set(c.pins) | set(c.unused) <= pads, (c.ref, c.footprint, sorted(pads))


@pytest.mark.slow
def test_the_erc_of_the_xor_bench_reports_no_errors_and_no_warnings(xor_package: Path) -> None:
    report = (xor_package / "erc.txt").read_text()
    assert report.splitlines()[0] == "ERC of xor-2-2-1: 0 errors, 0 warnings"
    assert "WARNING" not in report and "ERROR" not in report


@pytest.mark.slow
def test_every_wire_of_the_written_wiring_table_joins_one_net_of_the_netlist(
        xor_package: Path, xor_parsed) -> None:
    """A row whose two ends are each a chip pin, a Pico pin or a named rail/bus/net is a wire:
    both ends must be on one net of the exported netlist, a named end on the net of its name."""
    parsed = xor_parsed
    net_of = {(p.ref, p.num): n.name for n in parsed.nets for p in n.pins}
    names = {n.name for n in parsed.nets}

    def node(end: str) -> str | None:
        """The net of a wire's end; "NC" for a pin on no net (a no-connect flag)."""
        if end == "not connected":
            return "NC"
        if m := re.fullmatch(r"Pico pin (\d+) \(.*\)", end):
            return net_of.get(("Pico", m.group(1)), "NC")
        if m := re.fullmatch(r"([A-Z]+\d+) \S+ \((\d+)\)", end):
            return net_of.get((m.group(1), m.group(2)), "NC")
        name = re.sub(r" (rail|bus)$", "", end)
        return name if name in names else None

    with (xor_package / "wiring.csv").open() as f:
        rows = list(csv.DictReader(f))
    checked = 0
    for row in rows:
        a, b = node(row["source"]), node(row["dest"])
        if a is not None and b is not None:
            assert a == b, row
            checked += 1
    assert checked > 100            # most of the wiring table is wires between named ends


def test_the_description_pin_numbers_are_kicads_pins_of_the_same_function() -> None:
    _require_kicad()
    dac = _kicad_symbol("Analog_DAC", "MCP4728")
    for name, number in MCP4728_PINS.items():
        assert dac[str(number)][1].replace("~{", "").replace("}", "").startswith(name), name
    opamp = _kicad_symbol("Amplifier_Operational", "MCP6004")
    for out, minus, plus in MCP6004_SECTIONS.values():
        assert [opamp[str(p)] for p in (out, minus, plus)] == [
            ("output", "~"), ("input", "-"), ("input", "+")]
    switch = _kicad_symbol("Analog_Switch", "DG412xJ")
    for in_, drain, source in DG412_SWITCHES.values():
        assert [switch[str(p)][0] for p in (in_, drain, source)] == ["input", "passive", "passive"]
    assert [switch[str(p)][1] for p in (DG412_VPLUS, DG412_VMINUS, DG412_VL)] == ["V+", "V-", "VL"]


def test_project_symbols_follow_the_datasheet_pinouts(xor_package: Path) -> None:
    text = (xor_package / "wphil.kicad_sym").read_text()
    body = text[text.index('(symbol "AD633"'):text.index('(symbol "RaspberryPi_Pico"')]
    pins = dict((n, name) for name, n in re.findall(r'\(name "([^"]+)".*?\(number "(\d+)"', body))
    # AD633 DIP-8, datasheet Rev B p.1 / Rev E Fig. 1
    assert pins == {"1": "X1", "2": "X2", "3": "Y1", "4": "Y2", "5": "-Vs", "6": "Z", "7": "W",
                    "8": "+Vs"}
    body = text[text.index('(symbol "RaspberryPi_Pico"'):]
    pico = dict((n, name) for name, n in re.findall(r'\(name "([^"]+)".*?\(number "(\d+)"', body))
    # the official Pico R3 pinout (HARDWARE-FACTS [PIN])
    assert {k: pico[k] for k in ("6", "7", "20", "29", "31", "32", "33", "34", "35", "36", "38")} \
        == {"6": "GP4", "7": "GP5", "20": "GP15", "29": "GP22", "31": "GP26/ADC0",
            "32": "GP27/ADC1", "33": "AGND", "34": "GP28/ADC2", "35": "ADC_VREF",
            "36": "3V3(OUT)", "38": "GND"}
    assert [pico[str(p)] for p in (3, 8, 13, 18, 23, 28, 38)] == ["GND"] * 7
    pads = re.findall(r'\(pad "(\d+)"', (xor_package / "wphil.pretty" /
                                         "RaspberryPi_Pico_THT.kicad_mod").read_text())
    assert pads == [str(p) for p in range(1, 41)]


@pytest.mark.slow
def test_the_erc_reports_a_floating_pin_and_two_outputs_on_one_net(tmp_path: Path,
                                                                   monkeypatch) -> None:
    _require_kicad()
    import wphil.lab.kicad as kicad

    def broken(bench):
        netlist = bench_netlist(bench)
        dac = netlist.by_ref()["DAC0"]
        dac.unused = dac.unused[1:]                      # RDY/BSY left open, not flagged
        netlist.by_ref()["U1"].pins["7"] = "W0"          # AD633 W onto a DAC output
        return netlist

    monkeypatch.setattr(kicad, "bench_netlist", broken)
    kicad.export_kicad(load_bench("xor-2-2-1"), tmp_path)
    report = (tmp_path / "erc.txt").read_text()
    assert "1 errors" in report.splitlines()[0]
    assert "OUTPUT connected to OUTPUT" in report and "Unconnected pin" in report


@pytest.mark.slow
def test_a_pin_the_kicad_symbol_does_not_have_is_refused(tmp_path: Path, monkeypatch) -> None:
    _require_kicad()
    import wphil.lab.kicad as kicad

    def extra_pin(bench):
        netlist = bench_netlist(bench)
        netlist.by_ref()["J1"].pins["4"] = "GND"         # a 3-way terminal has no pin 4
        return netlist

    monkeypatch.setattr(kicad, "bench_netlist", extra_pin)
    with pytest.raises(ConfigError, match=r"J1: pins \['4'\] are not on KiCad's"):
        kicad.export_kicad(load_bench("xor-2-2-1"), tmp_path)


@pytest.mark.parametrize("name", ["xor-2-2-1", "parity4", "iris", "delayed-xor", "oscillator-2",
                                  "xor-2-2-1-ads1115"])
def test_committed_packages_pass_erc_and_list_the_parts_of_the_description(name: str) -> None:
    committed = Path(__file__).resolve().parents[1] / "bench" / "schematic" / name
    assert (committed / "erc.txt").read_text().splitlines()[0] == \
        f"ERC of {name}: 0 errors, 0 warnings"
    refs = re.findall(r'\(comp\n\s+\(ref "([^"]+)"\)', (committed / f"{name}.net").read_text())
    assert sorted(refs) == sorted(c.ref for c in bench_netlist(load_bench(name)).components)


def test_the_offset_trimmer_symbol_and_footprint_put_the_wiper_on_pin_2() -> None:
    """Device:R_Potentiometer_Trim: three passive pins, 2 the wiper (drawn at the side); the
    Bourns 3296W footprint: pad 2 is the middle pin of the three in line, as the 3296
    datasheet's wiper is; the netlist puts the track ends on 3V3/GND and the wiper on TWn."""
    _require_kicad()
    from wphil.lab.build_trim import FP_TRIMMER, TRIMMER_SYMBOL

    assert {k: v[0] for k, v in _kicad_symbol(*TRIMMER_SYMBOL).items()} == \
        {"1": "passive", "2": "passive", "3": "passive"}
    text = footprint_file(FP_TRIMMER).read_text()
    x = {p: float(v) for p, v in re.findall(r'\(pad "(\d)" thru_hole \w+ \(at ([-\d.]+) ', text)}
    assert sorted(x) == ["1", "2", "3"] and min(x["1"], x["3"]) < x["2"] < max(x["1"], x["3"])
    trimmers = [c for c in bench_netlist(load_bench("xor-2-2-1")).components
                if c.symbol == TRIMMER_SYMBOL[1]]
    assert [c.pins for c in trimmers] == [{"1": "3V3", "2": f"TW{n}", "3": "GND"}
                                          for n in range(3)]
