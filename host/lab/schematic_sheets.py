"""Wiring sheets a builder can wire from: every chip as seen from above on the breadboard
(pin numbers, pin names, the net on each pin), every resistor, capacitor and diode as its
symbol between the two nets it joins, with its reference and value.

Drawn from the bench's netlist (wphil.lab.components), the one the KiCad export writes, so
the sheets and the netlist cannot disagree. One sheet per group: the supply, the Pico, I2C,
the DACs and VMID; each layer of neurons (their multipliers and their passives); the op-amps
and switches. Nets join by name: every pin and every part end carries its net's name.
"""

from __future__ import annotations

from pathlib import Path

from wphil.drivers.bench import Bench
from wphil.drivers.hardware import ADS1115_PINS
from wphil.lab.board import AD633_PINS, MCP4728_PINS, MCP6004_SECTIONS, MCP6004_VDD, MCP6004_VSS
from wphil.lab.build_package import pullup_note
from wphil.lab.build_recurrent import DG412_GND, DG412_SWITCHES, DG412_VL, DG412_VMINUS, DG412_VPLUS
from wphil.lab.build_trim import has_trimmers
from wphil.lab.components import RAILS, Component, Netlist
from wphil.lab.components_analog import bench_netlist
from wphil.lab.pico_pins import header

NET_FONT, NAME_FONT, PART_FONT = 9, 8, 9
RAIL_COLOR, NET_COLOR, GREY = "darkred", "darkblue", "dimgray"
PASSIVE_W, COLUMN_W, ROW_H = 2.4, 9.0, 2.4
CHIPS_PER_ROW = 5
SHEET_TITLES = {"power": "supply, Pico, I2C, DACs, VMID", "opamps": "op-amps and switches"}


def pin_names(c: Component) -> dict[int, str]:
    """Pin number -> the name printed on the chip's pin (datasheet names)."""
    if c.symbol == "AD633":
        return {p: n for n, p in AD633_PINS.items()}
    if c.symbol == "MCP4728":
        return {p: n for n, p in MCP4728_PINS.items()}
    if c.symbol == "MCP6004":
        names = {MCP6004_VDD: "VDD", MCP6004_VSS: "VSS"}
        for sec, (out, minus, plus) in MCP6004_SECTIONS.items():
            names.update({out: f"OUT{sec}", minus: f"-IN{sec}", plus: f"+IN{sec}"})
        return names
    if c.symbol.startswith("DG412"):
        names = {DG412_VPLUS: "V+", DG412_VMINUS: "V-", DG412_GND: "GND", DG412_VL: "VL"}
        for k, (in_, drain, source) in DG412_SWITCHES.items():
            names.update({in_: f"IN{k}", drain: f"D{k}", source: f"S{k}"})
        return names
    if c.symbol == "RaspberryPi_Pico":
        return {p: name for p, (name, _) in header().items()}
    if c.symbol == "ADS1115IDGS":
        return {p: n for n, p in ADS1115_PINS.items()}
    if c.symbol.startswith("L78L05"):
        return {1: "OUT", 2: "GND", 3: "IN"}        # KiCad's VO, GND, VI (TO-92: check yours)
    return {int(p): p for p in c.pins}


def sheet_groups(netlist: Netlist) -> dict[str, list[Component]]:
    out: dict[str, list[Component]] = {}
    for c in netlist.components:
        out.setdefault(c.group, []).append(c)
    return dict(sorted(out.items(), key=lambda kv: (kv[0] == "opamps", kv[0] != "power", kv[0])))


def sheet_title(bench: Bench, group: str) -> str:
    if group.startswith("layer"):
        return f"{bench.name}, sheet {group}: neurons of layer {group[5:]}, their multipliers"
    return f"{bench.name}, sheet {group}: {SHEET_TITLES.get(group, group)}"


def draw_sheets(bench: Bench, out: Path, schemdraw, elm) -> list[Path]:
    """sheet-GROUP.svg/.png for every group of the bench's netlist."""
    written = []
    for group, components in sheet_groups(bench_netlist(bench)).items():
        d = draw_sheet(sheet_title(bench, group), components, schemdraw, elm,
                       sheet_notes(bench, group))
        for ext in ("svg", "png"):
            path = out / f"sheet-{group}.{ext}"
            d.save(str(path), **({"dpi": 110} if ext == "png" else {}))
            written.append(path)
    return written


def sheet_notes(bench: Bench, group: str) -> list[str]:
    """What a builder must know that the symbols do not say."""
    if group.startswith("layer") and has_trimmers(bench):
        return ["RVn (Bourns 3296W): each neuron's offset trimmer, 3V3 to GND, wiper through 68k "
                "to ZTn, the Z pin of the neuron's first AD633 (VMID through 10k). Turn it at "
                "bring-up until the neuron reads VMID (docs/hardware/bring-up.md)."]
    if group != "power":
        return []
    return [pullup_note(bench),
            "MCP4728 (MSOP-10) on an MSOP-10 to DIP-10 adapter, pins in chip order; on a vendor "
            "breakout wire by pin name (VCC = VDD, GND = VSS, VA..VD = VOUTA..VOUTD).",
            "3V3 comes from Pico pin 36 only; J1 brings the bench supply's +12V, GND and -12V; "
            "all supplies off while wiring (power-up order: docs/hardware)."]


def draw_sheet(title: str, components: list[Component], schemdraw, elm,
               notes: list[str] = ()):
    d = schemdraw.Drawing(show=False)
    d.config(fontsize=NET_FONT, unit=2.0)
    passives = [c for c in components if is_passive(c)]
    chips = [c for c in components if not is_passive(c)]
    top, right = 0.0, 3 * COLUMN_W
    for start in range(0, len(chips), CHIPS_PER_ROW):
        row, x = chips[start:start + CHIPS_PER_ROW], 0.0
        for c in row:
            x = _chip(d, elm, c, x, top) + 7.5
        right = max(right, x)
        top -= max(_chip_height(c) for c in row) + 3.6
    bottom = top + 0.6
    per_row = int(right // COLUMN_W)
    for i, c in enumerate(passives):
        col, row = i % per_row, i // per_row
        _passive(d, elm, c, col * COLUMN_W, bottom - row * ROW_H)
    for i, note in enumerate(notes):
        d.add(elm.Label().at((-4.0, 2.2 + 0.8 * (len(notes) - i))).label(
            note, loc="right", fontsize=9))
    y = 2.2 + 0.8 * len(notes)
    d.add(elm.Label().at((-4.0, y + 1.0)).label(title, loc="right", fontsize=13))
    d.add(elm.Label().at((-4.0, 2.2)).label(
        "chips seen from above (notch up, pin 1 top left); each pin and part end names its net; "
        "nets of one name are one wire", loc="right", fontsize=9, color=GREY))
    return d


def is_passive(c: Component) -> bool:
    return c.lib in ("Device", "Diode")


def _chip_height(c: Component) -> float:
    n = _pin_count(c)
    return n / 2 * 0.6 + 0.5 * (n / 2 + 1)


def _pin_count(c: Component) -> int:
    return {"RaspberryPi_Pico": 40, "MCP4728": 10, "ADS1115IDGS": 10, "AD633": 8,
            "MCP6004": 14}.get(
        c.symbol, 16 if c.symbol.startswith("DG412") else max(int(p) for p in c.pins))


def _chip(d, elm, c: Component, x: float, top: float) -> float:
    """One chip (or the Pico, or the terminal block) from above; returns its right edge."""
    n = _pin_count(c)
    names = pin_names(c)
    if n % 2 or n < 4:
        return _terminal(d, elm, c, x, top, names)
    width = 4.2 if n == 40 else 2.8
    dip = elm.IcDIP(pins=n, names=[names.get(p, "") for p in range(1, n + 1)], width=width,
                    fontsize=NAME_FONT, pfontsize=7)
    d.add(dip.at((x, top - _chip_height(c))).label(f"{c.ref} {c.value}", loc="top",
                                                  fontsize=PART_FONT + 1))
    d.add(elm.Label().at((x + width / 2, top - _chip_height(c) - 0.5)).label(
        c.mpn, loc="center", fontsize=NAME_FONT, color=GREY))
    for pin in range(1, n + 1):
        net = c.pins.get(str(pin), "nc" if str(pin) in c.unused else "")
        left = pin <= n // 2
        color = RAIL_COLOR if net in RAILS else (GREY if net == "nc" else NET_COLOR)
        d.add(elm.Line().at(getattr(dip, f"p{pin}")).theta(180 if left else 0).length(0.5))
        d.add(elm.Label().label(net, loc="left" if left else "right", fontsize=NET_FONT,
                                color=color))
    return x + width + 0.6


def _terminal(d, elm, c: Component, x: float, top: float, names: dict[int, str]) -> float:
    """A terminal block or a three-pin part: a box with its pins down the right side."""
    pins = [elm.IcPin(name="" if names.get(int(p), p) == p else names[int(p)], pin=str(p),
                      side="right", slot=f"{4 - int(p)}/3") for p in sorted(c.pins)]
    box = elm.Ic(pins=pins, size=(1.6, 2.4), pinspacing=0.7, leadlen=0.4)
    d.add(box.at((x, top - 2.4)).anchor("center").label(f"{c.ref}\n{c.value}", loc="top",
                                                        fontsize=PART_FONT))
    for p, net in c.pins.items():
        d.add(elm.Label().at(getattr(box, f"pin{p}")).label(
            net, loc="right", fontsize=NET_FONT, color=RAIL_COLOR if net in RAILS else NET_COLOR))
    return x + 2.0


def _passive(d, elm, c: Component, x: float, y: float) -> None:
    """A resistor, capacitor or diode between its two nets (a diode: anode left); a trimmer
    between its track's ends (pin 1 left, pin 3 right), its wiper's net below."""
    trimmer, role_y = c.symbol.startswith("R_Potentiometer"), y - 0.75
    ends = ("2", "1") if c.ref[0] == "D" else ("1", "3") if trimmer else ("1", "2")
    if trimmer:
        sym = elm.Potentiometer()
        wiper = c.pins["2"]
        d.add(elm.Label().at((x + PASSIVE_W / 2, y - 0.8)).label(
            f"wiper (2): {wiper}", loc="center", fontsize=NET_FONT, color=NET_COLOR))
        role_y = y - 1.35
    elif c.ref[0] == "D":
        sym = elm.Diode()
    elif c.ref[0] == "C":
        sym = elm.Capacitor(polar=c.symbol == "C_Polarized")
    else:
        sym = elm.Resistor()
    for pin, at, loc in ((ends[0], (x, y), "left"), (ends[1], (x + PASSIVE_W, y), "right")):
        net = c.pins[pin]
        text = (f"{net} ({pin})" if loc == "left" else f"({pin}) {net}") if trimmer else net
        d.add(elm.Label().at(at).label(text, loc=loc, fontsize=NET_FONT,
                                       color=RAIL_COLOR if net in RAILS else NET_COLOR))
    d.add(sym.at((x, y)).right(PASSIVE_W).label(
        f"{c.ref} {c.value}", loc="top", fontsize=PART_FONT,
        ofst=0.5 if c.symbol == "C_Polarized" else None))
    d.add(elm.Label().at((x + PASSIVE_W / 2, role_y)).label(c.role, loc="center",
                                                            fontsize=NAME_FONT, color=GREY))
