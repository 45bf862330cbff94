"""The bench's schematic (schemdraw): each neuron's AD633 chain, its op-amp stage and ADC pin,
the DACs with the net each channel drives, and the VMID/reference circuit.

Nets are joined by name (REF1024, VMID, IN0, h0...), as on a hand-drawn schematic: a wire
is drawn only inside a neuron's chain. schemdraw is an optional extra (`pip install
wphil[schematic]`); without it `draw_schematic` raises one ConfigError naming it.
"""

from __future__ import annotations

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
    weight_x_inputs,
)
from wphil.lab.build_pico import ohms
from wphil.lab.build_recurrent import integrator_section, switch_of

log = logging.getLogger(__name__)

CHIP_W, CHIP_H, CHIP_STEP = 2.2, 3.0, 5.2     # AD633 box and pitch (schemdraw units)
ROW_STEP = 6.5


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
    """schematic.svg and schematic.png of the bench's circuit, in `out`."""
    schemdraw, elm = _schemdraw()
    with schemdraw.Drawing(show=False) as d:
        d.config(fontsize=11, unit=2.0)
        chains: dict[int, list] = {}
        for n, wnet, (y1, y2), _, _ in multiplier_signals(bench):
            chains.setdefault(n, []).append((int(wnet[1:]), y1, y2))
        for row, (n, depth, unit) in enumerate(neurons(bench)):
            _neuron_row(d, elm, bench, n, depth, unit, chains[n], y=-row * ROW_STEP)
        bottom = -len(chains) * ROW_STEP
        _support(d, elm, bench, bottom)
        d.add(elm.Label().at((-1.5, 2.8)).label(
            f"{bench.name}: {bench.n_weights} x AD633 (W = (X1-X2)(Y1-Y2)/10V + Z, on +-"
            f"{bench.circuit.rail_volts:g} V), MCP6004 neurons on 3V3"
            f"{' (limiter, then integrator)' if bench.is_recurrent else ''}; nets join by name",
            loc="right", fontsize=13))
        paths = [out / "schematic.svg", out / "schematic.png"]
        d.save(str(paths[0]))
        d.save(str(paths[1]), dpi=110)
    return paths


def _neuron_row(d, elm, bench: Bench, n: int, depth: int, unit: int, chain: list,
                y: float) -> None:
    """One neuron: its multipliers W -> Z chained from VMID, then the inverting limiter stage."""
    p = AD633_PINS
    prev_w = None
    for i, (k, y1, y2) in enumerate(chain):
        x = i * CHIP_STEP
        channel = bench.wiring.weights[k]
        ic = elm.Ic(pins=[elm.IcPin(name="X1", pin=str(p["X1"]), side="left", slot="4/4"),
                          elm.IcPin(name="X2", pin=str(p["X2"]), side="left", slot="3/4"),
                          elm.IcPin(name="Y1", pin=str(p["Y1"]), side="left", slot="2/4"),
                          elm.IcPin(name="Y2", pin=str(p["Y2"]), side="left", slot="1/4"),
                          elm.IcPin(name="Z", pin=str(p["Z"]), side="bottom"),
                          elm.IcPin(name="W", pin=str(p["W"]), side="right")],
                     size=(CHIP_W, CHIP_H), pinspacing=0.6, edgepadW=0.4, leadlen=0.5)
        d.add(ic.at((x, y)).theta(0).anchor("center").label(f"U{k + 1}", loc="top", ofst=0.1))
        x1, x2 = weight_x_inputs(bench, channel)
        for pin, net in (("X1", x1), ("X2", x2), ("Y1", y1), ("Y2", y2)):
            d.add(elm.Label().at(getattr(ic, pin)).theta(0).label(net, loc="left", fontsize=10,
                                                                  color="darkblue"))
        below = ic.Z[1] - 0.7
        if prev_w is None:
            d.add(elm.Line().at(ic.Z).toy(below))
            d.add(elm.Label().at((ic.Z[0], below)).label("VMID", loc="bottom", fontsize=10,
                                                           color="darkblue"))
        else:
            d.add(elm.Line().at(prev_w).right(0.4))
            corner = d.here
            d.add(elm.Line().at(corner).toy(below))
            d.add(elm.Line().tox(ic.Z[0]))
            d.add(elm.Line().toy(ic.Z[1]))
        prev_w = ic.W
    _stage(d, elm, bench, n, depth, unit, prev_w)


def _stage(d, elm, bench: Bench, n: int, depth: int, unit: int, w_last) -> None:
    c = bench.circuit
    chip, sec = opamp_section(n)
    d.add(elm.Resistor().at(w_last).right(2.4).label(f"{c.rin_ohms / 1e3:g}k", fontsize=10))
    op = elm.Opamp(leads=True).theta(0).anchor("in1").label(f"{chip}{sec}\nMCP6004", loc="center",
                                                   ofst=(-0.35, 0), fontsize=9)
    d.add(op)
    d.add(elm.Line().at(op.in2).left(0.3))
    d.add(elm.Label().at(d.here).label("VMID", loc="left", fontsize=10, color="darkblue"))
    top = op.in1[1] + 1.4
    d.add(elm.Line().at(op.in1).up(top - op.in1[1]))
    cf = f" || {c.cf_farads * 1e12:g}p" if c.cf_farads > 0 else ""
    d.add(elm.Resistor().right(op.out[0] - op.in1[0]).label(
        f"{c.rf_ohms / 1e3:g}k{cf} || {c.limiter_diodes}x1N4148 each way", fontsize=9))
    d.add(elm.Line().toy(op.out[1]))
    if bench.is_recurrent:
        op = _integrator(d, elm, bench, n, op.out)
    name = neuron_name(bench, depth, unit)
    readouts = list(bench.wiring.outputs) + list(bench.wiring.hidden)
    last = depth == len(bench.topology.layers) - 2
    order = ([m for m, dd, _ in neurons(bench) if dd == len(bench.topology.layers) - 2]
             + [m for m, dd, _ in neurons(bench) if dd < len(bench.topology.layers) - 2])
    adc = dict(zip(order, readouts)).get(n)
    d.add(elm.Line().at(op.out).right(0.6))
    d.add(elm.Dot().label(name, loc="top", fontsize=11, color="darkred"))
    if adc is not None:
        d.add(elm.Resistor().right(2.2).label(f"{c.rout_ohms / 1e3:g}k", fontsize=10))
        d.add(elm.Label().label(_adc_pin(bench, adc), loc="right", fontsize=11, color="darkred"))
    elif not last:
        d.add(elm.Label().label("(not read)", loc="right", fontsize=10))


def _adc_pin(bench: Bench, channel: int) -> str:
    if bench.adc.kind == "ads1115":
        return f"ADS1115 AIN{channel} (pin {ADS1115_PINS[f'AIN{channel}']})"
    gp = ADC_GPIO.get(channel, 26 + channel)
    return f"GP{gp} (pin {PICO_GPIO_PIN.get(gp, '?')}) ADC{channel}"


def _integrator(d, elm, bench: Bench, n: int, limiter_out):
    """The inverting integrator behind a recurrent neuron's limiter, its reset switch."""
    c = bench.circuit
    chip, sec = integrator_section(bench, n)
    sw, k = switch_of(n)
    d.add(elm.Resistor().at(limiter_out).right(2.4).label(f"{c.int_ohms / 1e3:g}k", fontsize=10))
    op = elm.Opamp(leads=True).theta(0).anchor("in1").label(f"{chip}{sec}\nMCP6004",
                                                            loc="center", ofst=(-0.35, 0),
                                                            fontsize=9)
    d.add(op)
    d.add(elm.Line().at(op.in2).left(0.3))
    d.add(elm.Label().at(d.here).label("VMID", loc="left", fontsize=10, color="darkblue"))
    top = op.in1[1] + 1.4
    d.add(elm.Line().at(op.in1).up(top - op.in1[1]))
    d.add(elm.Capacitor().right(op.out[0] - op.in1[0]).label(
        f"{c.int_farads * 1e9:g}n || {c.int_ohms / 1e3:g}k || {sw} sw{k} "
        f"(GP{hardware(bench).signal('RESET').gpio}: reset)", fontsize=9))
    d.add(elm.Line().toy(op.out[1]))
    return op


def _support(d, elm, bench: Bench, y: float) -> None:
    """The VMID divider and buffer, and the DACs' channel -> net table."""
    ads, r = bench.adc.kind == "ads1115", ohms(bench.circuit.vmid_divider_ohms)
    title, source, bottom, ground = (
        ("VMID = 3V3 x 165/265 (the ADS1115's mid-scale; ADS1115 0x48 on SDA/SCL, ADDR to GND)",
         "Pico pin 36 3V3", ohms(ADS1115_VMID_BOTTOM_OHMS), "GND") if ads else
        ("VMID = ADC_VREF / 2 (ratiometric with the ADC)", "Pico pin 35 ADC_VREF", r,
         "AGND (pin 33)"))
    d.add(elm.Label().at((-1.5, y + 1.8)).label(title, loc="right", fontsize=11))
    d.add(elm.Label().at((-1.5, y + 0.6)).label(source, loc="left", fontsize=10))
    d.add(elm.Resistor().at((-1.5, y + 0.6)).theta(0).right(2.5).label(r, fontsize=10))
    d.add(elm.Dot())
    mid = d.here
    d.add(elm.Resistor().down(2.0).label(f"{bottom} || 1uF", loc="bottom", fontsize=10))
    d.add(elm.Ground().label(ground, loc="right", fontsize=9))
    chip, sec = opamp_section(len(neurons(bench)))
    d.add(elm.Line().at(mid).theta(0).right(1.0))
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
