"""The build package's own tables, from the bench netlist (wphil.lab.components): the bill of
materials with manufacturer part numbers and footprints (bom.csv), the supply specification,
the breadboard placement plan (placement.csv), and build.md that puts them together.

Supply currents are datasheet maxima where the datasheet gives one: AD633 6 mA per chip
(quiescent, max; AD633 datasheet specifications table, drivers/circuit.py), MCP4728 1.4 mA
(IDD_EXT max, DS22187E [M3]), DG412 1 uA per supply (I+, I-, IL max at 25 C, Intersil FN3282
[DGi5]); MCP6004 100 uA per amplifier is typical ([OP] p.1; no maximum confirmed).
The Pico's 3V3(OUT) budget is 300 mA (Pico datasheet pin description, second-hand). Each
offset trimmer (10k across 3V3) draws 0.33 mA from 3V3.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from wphil.drivers.bench import Bench
from wphil.drivers.circuit import AD633_SUPPLY_AMPS
from wphil.drivers.hardware import TRIM_POT_OHMS
from wphil.lab.build_trim import FP_TRIMMER
from wphil.lab.components import Component, Netlist
from wphil.lab.components_analog import bench_netlist

MCP4728_AMPS, MCP6004_AMPS_PER_AMP, DG412_AMPS = 1.4e-3, 100e-6, 1e-6
PICO_3V3_BUDGET_AMPS = 0.300
#: I2C (NXP UM10204 standard/fast mode): 3 mA sink at 0.4 V, so Rp >= (3.3 - 0.4) / 3 mA
I2C_MIN_PULLUP_OHMS = (3.3 - 0.4) / 3e-3
#: a typical MCP4728 breakout's own pull-ups (check your board: some have none, some 4.7k)
BREAKOUT_PULLUP_OHMS = 10e3
#: an 830-point breadboard: 63 rows, a-e | f-j, a DIP straddles the centre gap
BOARD_ROWS, GAP_ROWS = 63, 2


@dataclass(frozen=True)
class Placement:
    board: int
    first_row: int
    last_row: int
    ref: str
    part: str
    note: str


def bom(netlist: Netlist) -> list[dict]:
    """One row per distinct part: references, quantity, value, MPN, KiCad symbol, footprint."""
    rows: dict[tuple, list[str]] = {}
    for c in netlist.components:
        rows.setdefault((c.mpn, c.value, f"{c.lib}:{c.symbol}", c.footprint), []).append(c.ref)
    return [{"refs": " ".join(refs), "qty": len(refs), "value": value, "mpn": mpn,
             "symbol": symbol, "footprint": fp}
            for (mpn, value, symbol, fp), refs in rows.items()]


def supply_rows(bench: Bench, netlist: Netlist) -> list[dict]:
    """Per rail: volts, the worst-case load, the current limit to set."""
    chips = [c.symbol for c in netlist.components]
    n_ad633, n_dg412 = chips.count("AD633"), chips.count("DG412xJ")
    volts = f"{bench.circuit.rail_volts:g}"
    analog = n_ad633 * AD633_SUPPLY_AMPS + n_dg412 * DG412_AMPS
    logic = (chips.count("MCP4728") * MCP4728_AMPS + chips.count("MCP6004") * 4 *
             MCP6004_AMPS_PER_AMP + n_dg412 * DG412_AMPS + 2 * 3.3 / 4.7e3
             + chips.count("R_Potentiometer_Trim") * 3.3 / TRIM_POT_OHMS)
    limits = dict(zip(bench.power.names, bench.power.current_limits))
    return [{"rail": "+12V", "volts": f"+{volts}",
             "source": f"bench supply {bench.power.names[0]}", "load_max_mA": round(analog * 1e3, 1),
             "limit_mA": round(limits.get(bench.power.names[0], 0) * 1e3)},
            {"rail": "-12V", "volts": f"-{volts}",
             "source": f"bench supply {bench.power.names[1]} (+ terminal to GND)",
             "load_max_mA": round(analog * 1e3, 1),
             "limit_mA": round(limits.get(bench.power.names[1], 0) * 1e3)},
            {"rail": "3V3", "volts": "+3.3", "source": "Pico pin 36 3V3(OUT)",
             "load_max_mA": round(logic * 1e3, 1), "limit_mA": round(PICO_3V3_BUDGET_AMPS * 1e3)}]


def _rows_of(c: Component) -> int:
    return {"AD633": 4, "MCP6004": 7, "DG412xJ": 8, "MCP4728": 5, "ADS1115IDGS": 5,
            "L78L05_TO92": 3, "RaspberryPi_Pico": 20, "R_Potentiometer_Trim": 3}[c.symbol]


def placement(netlist: Netlist) -> list[Placement]:
    """Chips in build order down the breadboards, straddling the centre gap, pin 1 at the
    top left (column e); GAP_ROWS free rows after each for its decoupling and passives."""
    out, board, row = [], 1, 1
    for c in netlist.components:
        if c.lib in ("Device", "Diode", "Connector") and c.footprint != FP_TRIMMER:
            continue
        rows = _rows_of(c)
        if row + rows - 1 > BOARD_ROWS:
            board, row = board + 1, 1
        left, right = ("c", "h") if c.symbol == "RaspberryPi_Pico" else ("e", "f")
        note = (f"pin 1 at row {row} column {left}, pin {2 * rows} at row {row} column {right}"
                + (", USB connector off the board's end" if left == "c" else ""))
        if c.symbol.startswith("L78L05"):
            note = f"TO-92 in column c, pins 1-3 (OUT, GND, IN) at rows {row}-{row + 2}"
        if c.footprint == FP_TRIMMER:
            note = (f"3296W in column c, pins 1-3 (end, wiper, end) at rows {row}-{row + 2}, "
                    "adjusting screw reachable")
        out.append(Placement(board, row, row + rows - 1, c.ref, c.mpn, note))
        row += rows + GAP_ROWS
    return out


def pullup_note(bench: Bench) -> str:
    """What the I2C bus sees with the breakouts' own pull-ups in parallel with R1/R2."""
    n = bench.dac.chips
    total = 1 / (1 / 4.7e3 + n / BREAKOUT_PULLUP_OHMS)
    verdict = "fine" if total >= I2C_MIN_PULLUP_OHMS else "too strong: leave R1/R2 out"
    return (f"I2C pull-ups: R1/R2 4.7k to 3V3 on SDA/SCL. On bare MCP4728 adapter boards these "
            f"are the only pull-ups. Vendor breakouts often carry their own (typically "
            f"{BREAKOUT_PULLUP_OHMS / 1e3:g}k each; check yours): with {n} such breakouts the bus "
            f"sees 4.7k || {n} x {BREAKOUT_PULLUP_OHMS / 1e3:g}k = {total / 1e3:.2f}k ({verdict}; "
            f"I2C needs >= {I2C_MIN_PULLUP_OHMS / 1e3:.2f}k at 3.3 V, 3 mA sink).")


def write_build_package(bench: Bench, out: Path) -> list[Path]:
    """bom.csv, placement.csv and build.md in `out`."""
    netlist = bench_netlist(bench)
    parts, supply, plan = bom(netlist), supply_rows(bench, netlist), placement(netlist)
    _csv(out / "bom.csv", parts)
    _csv(out / "placement.csv", [vars(p) for p in plan])
    md = [f"# Build package: {bench.name}", "",
          "Made by `wphil schematic`; the KiCad netlist, the drawings and these tables come from "
          "one netlist (docs/hardware/build-package.md).", "", "## Parts (manufacturer part numbers)",
          "", "| refs | qty | value | MPN | KiCad symbol | footprint |", "|---|---:|---|---|---|---|"]
    md += [f"| {r['refs']} | {r['qty']} | {r['value']} | {r['mpn']} | {r['symbol']} | "
           f"{r['footprint']} |" for r in parts]
    md += ["", "MCP4728-E/UN is MSOP-10 only: mount it on an MSOP-10-to-DIP-10 adapter (pins in "
           "chip order 1..10, as on the sheets) or use a breakout and wire by pin name.", "",
           pullup_note(bench), "", "## Supply", "",
           "| rail | volts | source | worst-case load (mA) | current limit (mA) |",
           "|---|---|---|---:|---:|"]
    md += [f"| {s['rail']} | {s['volts']} | {s['source']} | {s['load_max_mA']} | "
           f"{s['limit_mA']} |" for s in supply]
    trims = any(c.footprint == FP_TRIMMER for c in netlist.components)
    md += ["", "Loads: datasheet maxima (AD633 6 mA, MCP4728 1.4 mA, DG412 1 uA per supply), "
           "MCP6004 100 uA per amplifier typical, both I2C pull-ups pulled low"
           + (", each offset trimmer 0.33 mA (10k across 3V3)" if trims else "")
           + ". The 3V3 limit is the Pico's 3V3(OUT) budget.", "",
           "## Breadboard placement (in this order)", "",
           "| board | rows | ref | part | orientation |", "|---:|---|---|---|---|"]
    md += [f"| {p.board} | {p.first_row}-{p.last_row} | {p.ref} | {p.part} | {p.note} |"
           for p in plan]
    md += ["", f"Every chip straddles the centre gap; the {GAP_ROWS} free rows after each take "
           "its 0.1 uF decoupling capacitors (from each supply pin's row to the GND rail) and "
           "the passives of its neuron. Rails: the outer +/- strips of each board, +12V and "
           "-12V on one side, 3V3 and GND on the other; join the GND strips of all boards."]
    (out / "build.md").write_text("\n".join(md) + "\n")
    return [out / "bom.csv", out / "placement.csv", out / "build.md"]


def _csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
