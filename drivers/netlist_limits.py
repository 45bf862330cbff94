"""The circuit with its supplies: DC operating points at the rails' extremes and with the
analog rails off, checked against every part's absolute maximum ratings.

drivers/netlist.py solves the analog core as if every supply were ideal and always on.
Here the same netlist gets its supplies (VA+, VA- for the AD633s, the Pico's 3V3 for the
MCP6004, the MCP4728s and ADC_VREF) as sources of their own, and the behavioural parts
obey them: an AD633 output swings to within AD633_HEADROOM of its rails and is 0 V when
its rails are below the datasheet's +-8 V minimum (unpowered); the MCP6004 outputs stay
in 0..3V3 (both clamps smooth, tanh, for Newton's sake); each neuron output reaches its
Pico ADC pin through [circuit] rout_ohms into the ADC's input resistance.
`operating_point` solves one supply state; `violations` lists every node outside its
part's ratings (the constants below, each with its source).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from wphil.drivers.bench import Bench
from wphil.drivers.circuit import AD633_MIN_RAIL, CircuitParts
from wphil.drivers.netlist import Sweep, netlist, neuron_nodes
from wphil.drivers.spice_engine import SpiceEngine

#: AD633 output swing short of each rail (V): +-11 V at +-15 V (datasheet table, unconfirmed)
AD633_HEADROOM = 4.0
#: AD633 absolute maximum: supply +-18 V; input voltages +-18 V (unconfirmed: the AD633 spec
#: table was not among the pages read; HARDWARE-FACTS "Unverified")
AD633_MAX_SUPPLY, AD633_MAX_INPUT = 18.0, 18.0
#: MCP6004 (DS21733J p.1): common-mode input range VSS - 0.3 V .. VDD + 0.3 V
MCP6004_CM_MARGIN = 0.3
#: MCP6004 supply 1.8..6.0 V (DS21733J p.1); MCP4728 VDD abs max 6.5 V (DS22187E p.3)
MCP6004_MAX_SUPPLY, MCP4728_MAX_VDD = 6.0, 6.5
#: MCP4728 output pins +-25 mA abs max (DS22187E p.3)
MCP4728_MAX_OUTPUT_AMPS = 0.025
#: RP2040 ADC input resistance (Table 634: RIN_ADC 100 kOhm)
ADC_INPUT_OHMS = 100e3


@dataclass(frozen=True)
class Supplies:
    """One power state: the AD633 rails (V, each >= 0; 0 = off) and the Pico's 3V3."""

    va_pos: float
    va_neg: float
    v3v3: float

    def label(self) -> str:
        return f"VA+ {self.va_pos:g} V, VA- -{self.va_neg:g} V, 3V3 {self.v3v3:g} V"


def supplied_netlist(bench: Bench, parts: CircuitParts, dac_volts: dict[int, float],
                     supplies: Supplies) -> list[str]:
    """The bench's netlist with `supplies` wired in and every channel at `dac_volts`."""
    sweep = Sweep(rows=1, patterns=1, row_volts={}, pattern_volts={}, constant=dac_volts)
    lines = []
    powered = min(supplies.va_pos, supplies.va_neg) >= AD633_MIN_RAIL
    w_mid = (supplies.va_pos - supplies.va_neg) / 2
    w_half = (supplies.va_pos + supplies.va_neg) / 2 - AD633_HEADROOM
    out_half = supplies.v3v3 / 2
    for line in netlist(bench, parts, sweep):
        if line.startswith("Varef "):
            lines += [f"Varef aref 0 {supplies.v3v3:g}", f"Vapos vapos 0 {supplies.va_pos:g}",
                      f"Vaneg vaneg 0 {-supplies.va_neg:g}"]
        elif line.startswith("Bm"):
            # tanh: a smooth clamp (hard min/max leave ngspice's Newton without a gradient)
            name, expr = line.split(" V = ", 1)
            lines.append(f"{name} V = {w_mid:g}+{w_half:g}*tanh(({expr}-{w_mid:g})/{w_half:g})"
                         if powered else f"{name} V = 0")
        elif line.startswith("Eop"):
            n = re.match(r"Eop(\d+) ", line).group(1)
            gain = float(line.split()[-1])
            lines.append(f"Bop{n} o{n} 0 V = {out_half:g}+{out_half:g}*tanh("
                         f"{gain / out_half:g}*(V(p{n})-V(n{n})))")
            lines += [f"Rout{n} o{n} adc{n} {bench.circuit.rout_ohms:g}",
                      f"Radc{n} adc{n} 0 {ADC_INPUT_OHMS:g}"]
        else:
            lines.append(line)
    return lines


def probe_vectors(bench: Bench) -> list[str]:
    """Every node the limits are checked on, and each DAC source's current."""
    neurons = [n for layer in neuron_nodes(bench) for n in layer]
    nodes = ([f"adc{n}" for n in neurons] + [f"o{n}" for n in neurons]
             + [f"n{n}" for n in neurons] + [f"p{n}" for n in neurons]
             + [f"w{k}" for k in range(bench.n_weights)]
             + [f"d{ch}" for ch in range(bench.dac_channels)] + ["vmid"])
    return [f"v({node})" for node in nodes] + [f"vd{ch}#branch" for ch in
                                                range(bench.dac_channels)]


def operating_point(engine: SpiceEngine, bench: Bench, parts: CircuitParts,
                    dac_volts: dict[int, float], supplies: Supplies) -> dict[str, float]:
    """Node volts (`v(...)`) and DAC source currents of one DC operating point."""
    vectors = probe_vectors(bench)
    values = engine.solve(supplied_netlist(bench, parts, dac_volts, supplies), vectors, 1)
    return {name: float(np.ravel(column)[0]) for name, column in zip(vectors, values)}


def violations(bench: Bench, supplies: Supplies, op: dict[str, float]) -> list[str]:
    """What in `op` breaks a part's absolute maximum rating, or leaves a Pico pin's 0..3V3."""
    s, out = supplies, []
    neurons = [n for layer in neuron_nodes(bench) for n in layer]

    def check(what: str, volts: float, lo: float, hi: float, source: str) -> None:
        if not lo - 1e-6 <= volts <= hi + 1e-6:
            out.append(f"{s.label()}: {what} = {volts:.4g} outside {lo:.4g}..{hi:.4g} ({source})")

    check("AD633 supply VA+", s.va_pos, 0, AD633_MAX_SUPPLY, "AD633 abs max +-18 V")
    check("AD633 supply VA-", s.va_neg, 0, AD633_MAX_SUPPLY, "AD633 abs max +-18 V")
    check("3V3 (MCP6004 VDD)", s.v3v3, 0, MCP6004_MAX_SUPPLY, "DS21733J p.1")
    check("3V3 (MCP4728 VDD)", s.v3v3, 0, MCP4728_MAX_VDD, "DS22187E p.3")
    for n in neurons:
        check(f"Pico ADC pin of neuron {n}", op[f"v(adc{n})"], 0, s.v3v3, "RP2040 Table 634")
        for node in ("n", "p"):
            check(f"MCP6004 input {node}{n}", op[f"v({node}{n})"], -MCP6004_CM_MARGIN,
                  s.v3v3 + MCP6004_CM_MARGIN, "DS21733J p.1 common-mode range")
    ad633_inputs = [f"v(d{ch})" for ch in range(bench.dac_channels)] + [
        f"v(o{n})" for n in neurons] + [f"v(w{k})" for k in range(bench.n_weights)] + ["v(vmid)"]
    for name in ad633_inputs:
        check(f"AD633 input/output {name}", op[name], -AD633_MAX_INPUT, AD633_MAX_INPUT,
              "AD633 abs max inputs +-18 V")
    for ch in range(bench.dac_channels):
        amps = op[f"vd{ch}#branch"]
        check(f"MCP4728 channel {ch} output current", amps, -MCP4728_MAX_OUTPUT_AMPS,
              MCP4728_MAX_OUTPUT_AMPS, "DS22187E p.3 +-25 mA")
        check(f"MCP4728 channel {ch} output", op[f"v(d{ch})"], -0.3, s.v3v3 + 0.3,
              "DS22187E p.3: any I/O VSS-0.3..VDD+0.3")
    return out
