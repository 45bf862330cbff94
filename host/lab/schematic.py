"""The bench's schematic (schemdraw): each neuron's AD633 chain, its op-amp stage and ADC pin,
the DACs with the net each channel drives, and the VMID/reference circuit.

Nets are joined by name (REF1024, VMID, IN0, h0...), as on a hand-drawn schematic: a wire
is drawn only inside a neuron's chain. schemdraw is an optional extra (`pip install
wphil[schematic]`); without it `draw_schematic` raises one ConfigError naming it.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError
from wphil.drivers.hardware import ADS1115_PINS, ADS1115_VMID_BOTTOM_OHMS, hardware
from wphil.lab.build import (
    AD633_PINS,
    ADC_GPIO,
    MCP4728_BASE_ADDRESS,
    MCP4728_PINS,
    PICO_GPIO_PIN,
    multiplier_signals,
    neuron_name,
    neurons,
    opamp_section,
)
from wphil.lab.build_pico import ohms
from wphil.lab.build_recurrent import integrator_section, switch_of
from wphil.lab.components_analog import bench_netlist
from wphil.lab.schematic_sheets import draw_sheet, draw_sheets, sheet_groups, sheet_notes, sheet_title

log = logging.getLogger(__name__)

CHIP_W, CHIP_H, CHIP_STEP = 2.2, 3.0, 5.2     # AD633 box and pitch (schemdraw units)
ROW_STEP = 8.5


def _schemdraw():
    try:
        import matplotlib
        import schemdraw
        from schemdraw import elements as elm
    except ImportError:
        raise ConfigError("wphil schematic needs schemdraw and matplotlib: "
                          "pip install 'wphil[schematic]'") from None
    matplotlib.use("Agg")
    schemdraw.use("matplotlib")
    return schemdraw, elm


def draw_schematic(bench: Bench, out: Path) -> list[Path]:
    """schematic.svg/.png (the network, neuron by neuron) and the wiring sheets
    sheet-*.svg/.png (wphil.lab.schematic_sheets) of the bench's circuit, in `out`."""
    schemdraw, elm = _schemdraw()
    paths = [out / "schematic.svg", out / "schematic.png"]
    d = overview(bench, schemdraw, elm)
    d.save(str(paths[0]))
    d.save(str(paths[1]), dpi=110)
    return paths + draw_sheets(bench, out, schemdraw, elm)


def drawings(bench: Bench) -> dict[str, object]:
    """Every drawing of the bench by file stem, not yet saved (tests measure their labels)."""
    schemdraw, elm = _schemdraw()
    out = {"schematic": overview(bench, schemdraw, elm)}
    for group, components in sheet_groups(_netlist(bench)).items():
        out[f"sheet-{group}"] = draw_sheet(sheet_title(bench, group), components, schemdraw, elm,
                                           sheet_notes(bench, group))
    return out


def overview(bench: Bench, schemdraw, elm):
    """The network: each neuron's AD633 chain and stage, VMID, the DACs' channels."""
    d = schemdraw.Drawing(show=False)
    d.config(fontsize=11, unit=2.0)
    chains: dict[int, list] = {}
    for n, wnet, (y1, y2), _, _ in multiplier_signals(bench):
        chains.setdefault(n, []).append((int(wnet[1:]), y1, y2))
    for row, (n, depth, unit) in enumerate(neurons(bench)):
        _neuron_row(d, elm, bench, n, depth, unit, chains[n], y=-row * ROW_STEP)
    _support(d, elm, bench, -len(chains) * ROW_STEP)
    d.add(elm.Label().at((-1.5, 7.0)).label(
        f"{bench.name}: {bench.n_weights} x AD633 (W = (X1-X2)(Y1-Y2)/10V + Z, on +-"
        f"{bench.circuit.rail_volts:g} V), MCP6004 neurons on 3V3"
        f"{' (limiter, then integrator)' if bench.is_recurrent else ''}; nets join by name",
        loc="right", fontsize=13))
    d.add(elm.Label().at((-1.5, 6.0)).label(
        "supplies, decoupling, the Pico and every chip pin: the sheet-*.png drawings",
        loc="right", fontsize=11, color="dimgray"))
    return d


def _neuron_row(d, elm, bench: Bench, n: int, depth: int, unit: int, chain: list,
                y: float) -> None:
    """One neuron: its multipliers W -> Z chained from VMID, then the inverting limiter stage."""
    p = AD633_PINS
    prev_w = None
    for i, (k, _, _) in enumerate(chain):
        x = i * CHIP_STEP
        ic = elm.Ic(pins=[elm.IcPin(name="X1", pin=str(p["X1"]), side="left", slot="4/4"),
                          elm.IcPin(name="X2", pin=str(p["X2"]), side="left", slot="3/4"),
                          elm.IcPin(name="Y1", pin=str(p["Y1"]), side="left", slot="2/4"),
                          elm.IcPin(name="Y2", pin=str(p["Y2"]), side="left", slot="1/4"),
                          elm.IcPin(name="Z", pin=str(p["Z"]), side="bottom"),
                          elm.IcPin(name="W", pin=str(p["W"]), side="right")],
                     size=(CHIP_W, CHIP_H), pinspacing=0.6, edgepadW=0.4, leadlen=0.5)
        d.add(ic.at((x, y)).theta(0).anchor("center").label(f"U{k + 1}", loc="top", ofst=0.1))
        pins = _netlist(bench).by_ref()[f"U{k + 1}"].pins
        for pin, net in ((n_, pins[str(p[n_])]) for n_ in ("X1", "X2", "Y1", "Y2")):
            d.add(elm.Label().at(getattr(ic, pin)).theta(0).label(net, loc="left", fontsize=10,
                                                                  color="darkblue"))
        below = ic.Z[1] - 0.7
        if prev_w is None:      # VMID, or the offset trimmer's ZTn
            d.add(elm.Line().at(ic.Z).toy(below))
            z_net = pins[str(p["Z"])]
            if z_net == "VMID":
                d.add(elm.Label().at((ic.Z[0], below)).label(z_net, loc="bottom", fontsize=10,
                                                               color="darkblue"))
            else:
                _trimmer(d, elm, bench, neuron_name(bench, depth, unit), z_net, (ic.Z[0], below))
        else:
            d.add(elm.Line().at(prev_w).right(0.4))
            corner = d.here
            d.add(elm.Line().at(corner).toy(below))
            d.add(elm.Line().tox(ic.Z[0]))
            d.add(elm.Line().toy(ic.Z[1]))
        prev_w = ic.W
    _stage(d, elm, bench, n, depth, unit, prev_w)


def _trimmer(d, elm, bench: Bench, name: str, z_net: str, at: tuple[float, float]) -> None:
    """The offset trimmer at a chain's first Z: VMID through 10k, the trimmer's wiper (its
    track from 3V3 to GND) through 68k (wphil.lab.build_trim)."""
    refs, comps = _refs(bench), _netlist(bench).by_ref()
    rv = comps[refs[f"offset trimmer of {name}"][0]]
    series = comps[refs[f"trim series of {name}"][0]]
    to_vmid = comps[refs[f"trim to VMID of {name}"][0]]
    d.add(elm.Dot().at(at).label(z_net, loc="right", fontsize=10, color="darkblue"))
    d.add(elm.Resistor().at(at).left(2.2).label(f"{to_vmid.ref} {to_vmid.value}", fontsize=9))
    d.add(elm.Label().label("VMID", loc="left", fontsize=10, color="darkblue"))
    d.add(elm.Resistor().at(at).down(1.6).label(f"{series.ref} {series.value}", loc="bottom",
                                                fontsize=9))
    pot = elm.Potentiometer().right(2.4).anchor("tap").at(d.here).label(
        f"{rv.ref} {rv.value} trimmer, wiper (2)", loc="bottom", fontsize=9)
    d.add(pot)
    d.add(elm.Label().at(pot.start).label(f"{rv.pins['1']} (1)", loc="left", fontsize=10,
                                          color="darkred"))
    d.add(elm.Label().at(pot.end).label(f"(3) {rv.pins['3']}", loc="right", fontsize=10,
                                        color="darkred"))


@functools.lru_cache(maxsize=4)
def _netlist(bench: Bench):
    return bench_netlist(bench)


def _refs(bench: Bench) -> dict[str, list[str]]:
    """Component role -> its references in the netlist (the ones the sheets and KiCad use)."""
    out: dict[str, list[str]] = {}
    for c in _netlist(bench).components:
        out.setdefault(c.role, []).append(c.ref)
    return out


def _feedback(d, elm, x_in, x_out, y0: float, branches: list) -> None:
    """Parallel branches between an inverting input (x_in, y0) and the output column,
    stacked upwards: each (kind, label, count) is a resistor, capacitor, switch, or a string
    of `count` diodes pointing right ("diodes>") or left ("diodes<")."""
    span = x_out - x_in
    for i, (kind, label, count) in enumerate(branches):
        y = y0 + 1.3 * (i + 1)
        d.add(elm.Line().at((x_in, y - 1.3)).toy(y))
        d.add(elm.Line().at((x_out, y - 1.3)).toy(y))
        if kind.startswith("diodes"):
            step = span / count
            for j in range(count):
                a, b = x_in + j * step, x_in + (j + 1) * step
                diode = elm.Diode().at((a, y) if kind == "diodes>" else (b, y))
                d.add(diode.right(step) if kind == "diodes>" else diode.left(step))
            d.add(elm.Label().at((x_in + span / 2, y)).label(label, loc="top", fontsize=8,
                                                             ofst=0.35))
            continue
        sym = {"R": elm.Resistor, "C": elm.Capacitor, "S": elm.Switch}[kind]()
        d.add(sym.at((x_in, y)).right(span).label(label, loc="top", fontsize=9))


def _stage(d, elm, bench: Bench, n: int, depth: int, unit: int, w_last) -> None:
    c = bench.circuit
    chip, sec = opamp_section(n)
    name = neuron_name(bench, depth, unit)
    refs = _refs(bench)
    rin = refs[f"Rin of {name}"][0]
    d.add(elm.Resistor().at(w_last).right(2.4).label(f"{rin} {c.rin_ohms / 1e3:g}k",
                                                     fontsize=10))
    op = elm.Opamp(leads=True).theta(0).anchor("in1").label(f"{chip}{sec}\nMCP6004", loc="center",
                                                   ofst=(-0.35, 0), fontsize=9)
    d.add(op)
    d.add(elm.Line().at(op.in2).left(0.3))
    d.add(elm.Label().at(d.here).label("VMID", loc="left", fontsize=10, color="darkblue"))
    diodes = refs[f"limiter of {name}"]
    m = c.limiter_diodes
    branches = [("R", f"{refs[f'Rf of {name}'][0]} {c.rf_ohms / 1e3:g}k", 1)]
    if c.cf_farads > 0:
        branches.append(("C", f"{refs[f'Cf of {name}'][0]} {c.cf_farads * 1e12:g}p", 1))
    branches += [("diodes>", f"{diodes[0]}-{diodes[m - 1]} 1N4148", m),
                 ("diodes<", f"{diodes[m]}-{diodes[-1]} 1N4148", m)]
    _feedback(d, elm, op.in1[0], op.out[0], op.in1[1], branches)
    d.add(elm.Line().at((op.out[0], op.in1[1])).toy(op.out[1]))
    if bench.is_recurrent:
        op = _integrator(d, elm, bench, n, op.out, refs, name)
    readouts = list(bench.wiring.outputs) + list(bench.wiring.hidden)
    last = depth == len(bench.topology.layers) - 2
    order = ([m for m, dd, _ in neurons(bench) if dd == len(bench.topology.layers) - 2]
             + [m for m, dd, _ in neurons(bench) if dd < len(bench.topology.layers) - 2])
    adc = dict(zip(order, readouts)).get(n)
    d.add(elm.Line().at(op.out).right(0.6))
    d.add(elm.Dot().label(name, loc="top", fontsize=11, color="darkred"))
    if adc is not None:
        rout = [r for role, rs in refs.items() if role.startswith(f"{name} to ") for r in rs]
        d.add(elm.Resistor().right(2.2).label(f"{rout[0]} {c.rout_ohms / 1e3:g}k", fontsize=10))
        d.add(elm.Label().label(_adc_pin(bench, adc), loc="right", fontsize=11, color="darkred"))
    elif not last:
        d.add(elm.Line().right(0.8))
        d.add(elm.Label().label("(not read)", loc="right", fontsize=10))


def _adc_pin(bench: Bench, channel: int) -> str:
    if bench.adc.kind == "ads1115":
        return f"ADS1115 AIN{channel} (pin {ADS1115_PINS[f'AIN{channel}']})"
    gp = ADC_GPIO.get(channel, 26 + channel)
    return f"GP{gp} (pin {PICO_GPIO_PIN.get(gp, '?')}) ADC{channel}"


def _integrator(d, elm, bench: Bench, n: int, limiter_out, refs: dict, name: str):
    """The inverting integrator behind a recurrent neuron's limiter, its reset switch."""
    c = bench.circuit
    chip, sec = integrator_section(bench, n)
    sw, k = switch_of(n)
    rint = refs[f"Rint of {name}"][0]
    d.add(elm.Resistor().at(limiter_out).right(2.4).label(f"{rint} {c.int_ohms / 1e3:g}k",
                                                          fontsize=10))
    op = elm.Opamp(leads=True).theta(0).anchor("in1").label(f"{chip}{sec}\nMCP6004",
                                                            loc="center", ofst=(-0.35, 0),
                                                            fontsize=9)
    d.add(op)
    d.add(elm.Line().at(op.in2).left(0.3))
    d.add(elm.Label().at(d.here).label("VMID", loc="left", fontsize=10, color="darkblue"))
    _feedback(d, elm, op.in1[0], op.out[0], op.in1[1], [
        ("C", f"{refs[f'Cint of {name}'][0]} {c.int_farads * 1e9:g}n", 1),
        ("R", f"{refs[f'Rfb of {name}'][0]} {c.int_ohms / 1e3:g}k", 1),
        ("S", f"{sw} D{k}-S{k} (IN{k}: GP{hardware(bench).signal('RESET').gpio} high = reset)", 1)])
    d.add(elm.Line().at((op.out[0], op.in1[1])).toy(op.out[1]))
    return op


def _support(d, elm, bench: Bench, y: float) -> None:
    """The VMID divider and buffer, and the DACs' channel -> net table."""
    ads, r = bench.adc.kind == "ads1115", ohms(bench.circuit.vmid_divider_ohms)
    title, source, bottom, ground = (
        ("VMID = 3V3 x 165/265 (the ADS1115's mid-scale; ADS1115 0x48 on SDA/SCL, ADDR to GND)",
         "Pico pin 36 3V3", ohms(ADS1115_VMID_BOTTOM_OHMS), "GND") if ads else
        ("VMID = ADC_VREF / 2 (ratiometric with the ADC)", "Pico pin 35 ADC_VREF", r,
         "AGND (pin 33)"))
    refs = _refs(bench)
    r_top = refs["VMID divider top"][0]
    r_bottom = [rs[0] for role, rs in refs.items() if role.startswith("VMID divider bottom")][0]
    d.add(elm.Label().at((-1.5, y + 1.8)).label(title, loc="right", fontsize=11))
    d.add(elm.Label().at((-1.5, y + 0.6)).label(source, loc="left", fontsize=10))
    d.add(elm.Resistor().at((-1.5, y + 0.6)).theta(0).right(2.5).label(f"{r_top} {r}",
                                                                      fontsize=10))
    d.add(elm.Dot())
    mid = d.here
    d.add(elm.Line().down(0.6))
    node = d.here
    d.add(elm.Line().at(node).theta(0).left(0.8))
    d.add(elm.Resistor().down(2.0).label(f"{r_bottom} {bottom}", loc="top", fontsize=10))
    d.add(elm.Ground())
    d.add(elm.Line().at(node).theta(0).right(0.8))
    d.add(elm.Capacitor().down(2.0).label(f"{refs['VMID filter'][0]} 1uF", loc="bottom",
                                          fontsize=10))
    d.add(elm.Ground().label(ground, loc="right", fontsize=9))
    chip, sec = opamp_section(len(neurons(bench)))
    d.add(elm.Line().at(mid).theta(0).right(2.4))    # clear of the filter capacitor
    buf = elm.Opamp(leads=True).theta(0).flip().anchor("in2").label(
        f"{chip}{sec}", loc="center", ofst=(-0.35, 0), fontsize=9)
    d.add(buf)
    d.add(elm.Line().at(buf.out).theta(0).right(0.8))
    d.add(elm.Dot().label("VMID bus", loc="right", fontsize=11, color="darkblue"))
    d.add(elm.Line().at(buf.in1).down(0.8))
    d.add(elm.Line().tox(buf.out[0] + 0.4))
    d.add(elm.Line().toy(buf.out[1]))
    _dac_table(d, elm, bench, y)


def _dac_table(d, elm, bench: Bench, y: float) -> None:
    """Each MCP4728 as a box listing the net on each output."""
    nets = {ch: f"ch{ch} W{k}" for k, ch in enumerate(bench.wiring.weights)}
    nets.update({ch: f"ch{ch} IN{j}" for j, ch in enumerate(bench.wiring.inputs)})
    nets.update({f.channel: f"ch{f.channel} {f.name or 'fixed'}" for f in bench.wiring.fixed})
    hw = hardware(bench)
    for chip in range(bench.dac.chips):
        ldac = hw.signal(f"LDAC{chip}")
        pins = [elm.IcPin(name=nets.get(4 * chip + i, f"ch{4 * chip + i} -"),
                          pin=str(MCP4728_PINS[f"VOUT{'ABCD'[i]}"]), side="right",
                          slot=f"{4 - i}/4") for i in range(4)]
        x = 11.0 + (chip % 4) * 5.0
        row = y - 0.5 - (chip // 4) * 3.8
        d.add(elm.Ic(pins=pins, size=(3.4, 2.6), pinspacing=0.55, leadlen=0.3)
              .at((x, row)).theta(0).anchor("center")
              .label(f"DAC{chip} MCP4728 at 0x{MCP4728_BASE_ADDRESS + chip:02X}\nLDAC "
                     f"GP{ldac.gpio} (pin {ldac.pico_pin}) via {ohms(ldac.series_ohms)}\n"
                     f"LDAC {ohms(ldac.pull_ohms)} to GND", loc="top", fontsize=9))
