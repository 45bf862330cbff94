"""What to buy and how to wire it: the parts list and the wiring table of a bench's circuit.

The circuit is the bench's [circuit] (kind "ad633", wphil.drivers.circuit): an AD633 per
weight chained W -> Z into an MCP6004 inverting neuron with a diode limiter, VMID from a
divider on the Pico's ADC_VREF, MCP4728 DACs on I2C. The Pico's pins, the LDAC and reset lines'
resistors and the supplies come from the bench's hardware description (wphil.drivers.hardware).
The wiring table has one row per wire, in build order; every DAC channel and ADC pin the bench
file uses appears in exactly one row (its `dac_channel` / `adc_pin` column); other wires start
from a named net (REF1024, VMID, h0). A row that places a part names its parts-list ref and
how many it places (`part`, `count`), so the two tables can be held to each other.
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict
from pathlib import Path

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError
from wphil.drivers.hardware import (
    ADS1115_PINS,
    ADS1115_VMID_BOTTOM_OHMS,
    LDAC_PULLDOWN_OHMS,
    LDAC_SERIES_OHMS,
    Hardware,
    hardware,
)
from wphil.drivers.netlist_tran import chains
from wphil.lab.board import (  # noqa: F401  (re-exported for the schematic)
    AD633_PINS,
    ADC_GPIO,
    MCP4728_BASE_ADDRESS,
    MCP4728_PINS,
    MCP6004_SECTIONS,
    MCP6004_VDD,
    MCP6004_VSS,
    PICO_3V3,
    PICO_ADC_VREF,
    PICO_GPIO_PIN,
    Part,
    Wire,
    neuron_name,
    neurons,
    opamp_chips,
    opamp_section,
)
from wphil.lab.build_pico import (
    ads1115_wires,
    dac_wires,
    i2c_wires,
    ohms,
    spare_opamp_wires,
    supply_wires,
)
from wphil.lab.build_recurrent import integrator_wires, recurrent_parts, reset_wires
from wphil.lab.build_trim import first_z, trim_parts, trim_wires


def dac_pin(channel: int) -> str:
    out = f"VOUT{'ABCD'[channel % 4]}"
    return f"DAC{channel // 4} {out} ({MCP4728_PINS[out]})"


def ref_net(bench: Bench) -> str:
    """The net name of the multipliers' reference channel."""
    named = {f.channel: f.name for f in bench.wiring.fixed}
    return named.get(bench.circuit.ref_channel) or "REF"


def multiplier_signals(bench: Bench) -> list[tuple[int, str, tuple[str, str], str, str]]:
    """Per weight, in chain order: (neuron, weight net, (Y1 net, Y2 net), Z net, W net). A
    recurrent bench's feedback weights continue their target neuron's chain."""
    names = [neuron_name(bench, d, u) for _, d, u in neurons(bench)]
    ref, out = ref_net(bench), []
    for n, chain in chains(bench).items():
        z = first_z(bench, n)
        for k, (kind, j) in chain:
            y = {"in": (f"IN{j}", ref), "bias": (ref, "GND")}.get(kind) or (names[j], "VMID")
            out.append((n, f"W{k}", y, z, f"S{n}_{k}"))
            z = f"S{n}_{k}"
    return out


def weight_x_pins(bench: Bench) -> tuple[str, str]:
    """(the weight DAC's pin, the reference's pin) of a weight's AD633: a recurrent neuron's
    two inverting stages take the weight DAC on X1 (drivers/netlist_tran.py), a
    feed-forward one's on X2."""
    return ("X1", "X2") if bench.is_recurrent else ("X2", "X1")


def weight_x_inputs(bench: Bench, channel: int) -> tuple[str, str]:
    """The (X1, X2) nets of a weight's AD633."""
    dac, ref = f"ch{channel}", ref_net(bench)
    return (dac, ref) if weight_x_pins(bench)[0] == "X1" else (ref, dac)


def wiring_table(bench: Bench) -> list[Wire]:
    """Every wire of the bench, in build order."""
    if bench.circuit.kind != "ad633":
        raise ConfigError(f"{bench.source}: [circuit] kind is {bench.circuit.kind!r}: wphil can "
                          "draw and list only the 'ad633' circuit")
    hw = hardware(bench)
    rows: list[tuple] = []
    add = lambda stage, src, dst, net, **kw: rows.append((stage, src, dst, net, kw))  # noqa: E731
    supply_wires(bench, add)
    i2c_wires(hw, add)
    dac_wires(hw, add)
    _vmid(bench, add)
    spare_opamp_wires(bench, add)
    _multipliers(bench, add)
    trim_wires(bench, add)
    _neurons(bench, hw, add)
    if bench.is_recurrent and hw.reset_switches:
        reset_wires(bench, hw, add)
    if bench.adc.kind == "ads1115":
        ads1115_wires(bench, add)
    return [Wire(i + 1, stage, src, dst, net, **kw) for i, (stage, src, dst, net, kw) in
            enumerate(rows)]


def _vmid(bench: Bench, add) -> None:
    buf_chip, buf = opamp_section(len(neurons(bench)))
    out, minus, plus = MCP6004_SECTIONS[buf]
    r = ohms(bench.circuit.vmid_divider_ohms)
    if bench.adc.kind == "ads1115":     # VMID at the ADS1115's mid-scale, from 3V3
        top, bottom = (f"Pico pin {PICO_3V3} (3V3)", "3V3"), \
            ("Rvmid2", ohms(ADS1115_VMID_BOTTOM_OHMS))
        ground = "GND rail"
        what = f"3V3 x {bottom[1]} / ({r} + {bottom[1]}), the ADS1115's mid-scale"
    else:
        top, bottom = (f"Pico pin {PICO_ADC_VREF} (ADC_VREF)", "ADC_VREF"), ("Rvmid", r)
        ground, what = "Pico pin 33 (AGND)", "ADC_VREF / 2"
    add("vmid", top[0], f"R {r} (VMID top)", top[1], part="Rvmid", count=1)
    add("vmid", f"R {r} (VMID top)", "VMID_DIV", "VMID_DIV")
    add("vmid", f"R {bottom[1]} (VMID bottom)", f"VMID_DIV to {ground}", "VMID_DIV",
        part=bottom[0], count=1)
    add("vmid", "C 1uF", f"VMID_DIV to {ground}", "VMID_DIV", note="filter",
        part="Cvmid", count=1)
    add("vmid", "VMID_DIV", f"{buf_chip} +IN{buf} ({plus})", "VMID_DIV")
    add("vmid", f"{buf_chip} OUT{buf} ({out})", f"{buf_chip} -IN{buf} ({minus})", "VMID",
        note=f"follower: VMID bus = {what}")
    add("vmid", f"{buf_chip} OUT{buf} ({out})", "VMID bus", "VMID")
    for c in range(1, opamp_chips(bench) + 1):
        add("vmid", f"UA{c} VDD ({MCP6004_VDD})", "3V3 rail", "3V3", note="MCP6004",
            part="UA1..", count=1)
        add("vmid", f"UA{c} VSS ({MCP6004_VSS})", "GND rail", "GND")
        add("vmid", f"C 0.1uF at UA{c}", "3V3 to GND", "3V3", note="decoupling", part="Cdec",
            count=1)
    for name, channel in sorted((f.name or f"FIXED{f.channel}", f.channel)
                                for f in bench.wiring.fixed):
        add("reference", dac_pin(channel), f"{name} bus", name, dac_channel=str(channel),
            note=f"held at code {bench.fixed_channels[channel]} by the firmware")
    for j, channel in enumerate(bench.wiring.inputs):
        add("inputs", dac_pin(channel), f"IN{j} bus", f"IN{j}", dac_channel=str(channel))


def _multipliers(bench: Bench, add) -> None:
    p = AD633_PINS
    for _, wnet, (y1, y2), z, w in multiplier_signals(bench):
        k = int(wnet[1:])
        u = f"U{k + 1}"
        channel = bench.wiring.weights[k]
        add("multipliers", f"{u} +Vs ({p['+Vs']})", "+12V rail", "+12V", note="AD633",
            part="U1..", count=1)
        add("multipliers", f"{u} -Vs ({p['-Vs']})", "-12V rail", "-12V")
        add("multipliers", f"C 0.1uF at {u}", "+12V to GND", "+12V", note="decoupling",
            part="Cdec", count=1)
        add("multipliers", f"C 0.1uF at {u}", "-12V to GND", "-12V", note="decoupling",
            part="Cdec", count=1)
        dac_x, ref_pin = weight_x_pins(bench)
        add("multipliers", f"{ref_net(bench)} bus", f"{u} {ref_pin} ({p[ref_pin]})",
            ref_net(bench))
        add("multipliers", dac_pin(channel), f"{u} {dac_x} ({p[dac_x]})", wnet,
            dac_channel=str(channel), note=f"weight {k}")
        add("multipliers", f"{y1} bus", f"{u} Y1 ({p['Y1']})", y1)
        add("multipliers", f"{y2} {'rail' if y2 == 'GND' else 'bus'}", f"{u} Y2 ({p['Y2']})", y2)
        add("multipliers", f"{z} {'bus' if z == 'VMID' else ''}".strip(), f"{u} Z ({p['Z']})", z)
        add("multipliers", f"{u} W ({p['W']})", w, w)


def _neurons(bench: Bench, hw: Hardware, add) -> None:
    chains = {}
    for n, _, _, _, w in multiplier_signals(bench):
        chains[n] = w
    readouts = list(bench.wiring.outputs) + list(bench.wiring.hidden)
    read_neurons = [n for n, d, _ in neurons(bench) if d == len(bench.topology.layers) - 2]
    read_neurons += [n for n, d, _ in neurons(bench) if d < len(bench.topology.layers) - 2]
    adc_of = dict(zip(read_neurons, readouts))
    c = bench.circuit
    for n, depth, unit in neurons(bench):
        chip, sec = opamp_section(n)
        out, minus, plus = MCP6004_SECTIONS[sec]
        name = neuron_name(bench, depth, unit)
        inv, o = f"{chip} -IN{sec} ({minus})", f"{chip} OUT{sec} ({out})"
        add("neurons", f"R {c.rin_ohms / 1e3:g}k (Rin)", f"{chains[n]} to {inv}", f"N{n}",
            part="Rin", count=1)
        add("neurons", f"R {c.rf_ohms / 1e3:g}k (Rf)", f"{inv} to {o}", f"N{n}", part="Rf",
            count=1)
        if c.cf_farads > 0:
            add("neurons", f"C {c.cf_farads * 1e12:g}pF (Cf)", f"{inv} to {o}", f"N{n}",
                part="Cf", count=1)
        for way, (a, k) in (("one way", (inv, o)), ("the other way", (o, inv))):
            add("neurons", f"{c.limiter_diodes}x 1N4148 in series", f"anode {a}, cathode {k}",
                f"N{n}", note=f"limiter, {way}", part="D", count=c.limiter_diodes)
        add("neurons", "VMID bus", f"{chip} +IN{sec} ({plus})", "VMID")
        if bench.is_recurrent:
            o = integrator_wires(bench, add, n, o)
        add("neurons", o, f"{name} bus", name, note=f"neuron {name}")
        if n in adc_of:
            ch = adc_of[n]
            pin = (f"ADS1 AIN{ch} ({ADS1115_PINS[f'AIN{ch}']})" if bench.adc.kind == "ads1115"
                   else hw.signal(f"ADC{ch}").label.replace(")", f" ADC{ch})"))
            add("adc", f"{name} bus", f"R {c.rout_ohms / 1e3:g}k to {pin}", name,
                adc_pin=f"ADC{ch}", part="Rout", count=1)


def parts_list(bench: Bench) -> list[Part]:
    """What to buy for the bench, with approximate single-unit prices (USD, 2024-25)."""
    c, ads = bench.circuit, bench.adc.kind == "ads1115"
    n_w, n_n = bench.n_weights, len(neurons(bench))
    opamps = opamp_chips(bench)
    n_read = len(bench.wiring.outputs) + len(bench.wiring.hidden)
    parts = [
        Part("Pico", "Raspberry Pi Pico (RP2040)", "with headers", 1, "controller, ADC", 5.00),
        Part("DAC0..", "MCP4728 breakout", "4-ch 12-bit I2C DAC", bench.dac.chips,
             "weights, inputs, reference", 7.50),
        Part("U1..", "AD633JNZ", "analog multiplier, DIP-8", n_w, "one per weight", 12.50),
        Part("UA1..", "MCP6004-I/P", "quad op-amp, DIP-14", opamps,
             "neurons and the VMID buffer", 0.60),
        Part("D", "1N4148", "signal diode", 2 * c.limiter_diodes * n_n, "neuron limiters", 0.03),
        Part("Rin", "resistor 1%", f"{c.rin_ohms / 1e3:g}k", n_n, "neuron input", 0.10),
        Part("Rf", "resistor 1%", f"{c.rf_ohms / 1e3:g}k", n_n, "neuron feedback", 0.10),
        Part("Cf", "capacitor C0G", f"{c.cf_farads * 1e12:g}pF", n_n if c.cf_farads > 0 else 0,
             "neuron noise filter", 0.10),
        Part("Rout", "resistor", f"{c.rout_ohms / 1e3:g}k", n_read, "ADC pin protection", 0.05),
        Part("Rvmid", "resistor 1%", f"{c.vmid_divider_ohms / 1e3:g}k", 1 + (not ads),
             "VMID divider", 0.10),
        Part("Rvmid2", "resistor 1%", ohms(ADS1115_VMID_BOTTOM_OHMS), int(ads),
             "VMID divider, bottom", 0.10),
        Part("ADS1", "ADS1115 breakout", "16-bit I2C ADC, ADDR to GND (0x48)", int(ads),
             "reads the neurons", 15.00),
        Part("Cvmid", "capacitor", "1uF", 1, "VMID filter", 0.15),
        Part("Rpu", "resistor", "4.7k", 2, "I2C pull-ups", 0.05),
        Part("Rldac", "resistor", ohms(LDAC_SERIES_OHMS), bench.dac.chips,
             "LDAC line series (one per DAC)", 0.05),
        Part("Rpd", "resistor", ohms(LDAC_PULLDOWN_OHMS), bench.dac.chips,
             "LDAC pull-down at each DAC", 0.05),
        Part("Cdec", "capacitor X7R", "0.1uF", 2 * n_w + opamps + bench.dac.chips + int(ads)
             + (3 * math.ceil(bench.n_neurons / 4) + 1 if bench.is_recurrent else 0),
             "decoupling at every chip (DG412: V+, V-, VL; the L78L05 output)", 0.05),
        Part("Cbulk", "capacitor", "10uF 25V", 2, "rail bulk decoupling", 0.20),
        Part("BB", "breadboard 830 points", "", math.ceil((n_w + opamps) / 6) + 1,
             "the circuit", 5.00),
        Part("J", "jumper wires", "assorted", 1, "wiring", 6.00),
        Part("PSU", "bench supply, two outputs", f"+-{c.rail_volts:g} V", 1,
             "AD633 rails (e.g. Rigol DP832)", 0.0),
    ] + trim_parts(bench) + recurrent_parts(bench)
    return [p for p in parts if p.qty > 0]      # a part the circuit does without: no row


def write_tables(bench: Bench, out: Path) -> list[Path]:
    """parts.csv, parts.md, wiring.csv, wiring.md in `out`."""
    parts, wires = parts_list(bench), wiring_table(bench)
    written = [_csv(out / "parts.csv", [{**asdict(p), "cost_usd": round(p.cost_usd, 2)}
                                       for p in parts]),
               _csv(out / "wiring.csv", [asdict(w) for w in wires])]
    total = sum(p.cost_usd for p in parts)
    lines = [f"# Parts: {bench.name}", "", "| ref | part | value | qty | purpose | approx. USD |",
             "|---|---|---|---:|---|---:|"]
    lines += [f"| {p.ref} | {p.part} | {p.value} | {p.qty} | {p.purpose} | {p.cost_usd:.2f} |"
              for p in parts]
    lines += ["", f"Total about ${total:.0f} (single-unit prices; the supply not included)."]
    (out / "parts.md").write_text("\n".join(lines) + "\n")
    rows = [f"# Wiring: {bench.name} (build in this order, supplies off)", "",
            "| # | stage | from | to | net | DAC ch | ADC | note |",
            "|---:|---|---|---|---|---|---|---|"]
    rows += [f"| {w.step} | {w.stage} | {w.source} | {w.dest} | {w.net} | {w.dac_channel} | "
             f"{w.adc_pin} | {w.note} |" for w in wires]
    (out / "wiring.md").write_text("\n".join(rows) + "\n")
    return written + [out / "parts.md", out / "wiring.md"]


def _csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path
