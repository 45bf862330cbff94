"""The analog half of a bench's netlist (wphil.lab.components): the AD633 chains, the neuron
stages with their diode limiters, a recurrent bench's integrators and reset switches, the
ADC series resistors; and `bench_netlist`, the whole board in build order.
"""

from __future__ import annotations

import math

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError
from wphil.drivers.netlist import readout_neurons
from wphil.lab.board import AD633_PINS, ADC_GPIO, MCP6004_SECTIONS, neuron_name, neurons, opamp_section
from wphil.lab.build import multiplier_signals, weight_x_inputs
from wphil.lab.build_recurrent import (
    DG412_GND,
    DG412_SWITCHES,
    DG412_VL,
    DG412_VMINUS,
    DG412_VPLUS,
    integrator_section,
    switch_of,
)
from wphil.lab.components import (
    FP_C_CERAMIC,
    FP_C_FILM,
    FP_DIODE,
    FP_DIP8,
    FP_DIP16,
    Component,
    Netlist,
    dac_nets,
    dacs,
    decouple,
    farads,
    i2c,
    ohms,
    opamps,
    pico,
    supply,
    vmid,
)


def bench_netlist(bench: Bench) -> Netlist:
    """Every component of the bench's circuit, in build order (the wiring table's)."""
    if bench.circuit.kind != "ad633":
        raise ConfigError(f"{bench.source}: [circuit] kind is {bench.circuit.kind!r}: wphil can "
                          "export only the 'ad633' circuit")
    net, sections = Netlist(bench), {}
    supply(net)
    pico(net, _pico_gpios(bench))
    i2c(net)
    dacs(net)
    vmid(net, sections)
    for n, depth, unit in neurons(bench):
        net.group = f"layer{depth + 1}"
        multipliers(net, n)
        neuron(net, sections, n, neuron_name(bench, depth, unit))
    net.group = "opamps"
    if bench.is_recurrent:
        reset_switches(net)
    opamps(net, sections)
    return net


def readouts(bench: Bench) -> dict[int, int]:
    """Neuron -> the ADC channel that reads it (outputs first, then the hidden units)."""
    channels = list(bench.wiring.outputs) + list(bench.wiring.hidden)
    return dict(zip(readout_neurons(bench, hidden=True), channels))


def adc_gpio(channel: int) -> int:
    return ADC_GPIO.get(channel, 26 + channel)


def _pico_gpios(bench: Bench) -> dict[int, str]:
    """GPIO -> net, for every GPIO the bench wires."""
    used = {bench.dac.sda: "SDA", bench.dac.scl: "SCL"}
    used.update({adc_gpio(ch): f"ADC{ch}" for ch in readouts(bench).values()})
    if bench.is_recurrent and bench.recurrent.reset_pin >= 0:
        used[bench.recurrent.reset_pin] = "RESET"
    return used


def multipliers(net: Netlist, n: int) -> None:
    """Neuron n's AD633s, chained W -> Z from VMID (wphil.lab.build.multiplier_signals)."""
    b, p = net.bench, AD633_PINS
    for _, wnet, (y1, y2), z, w in [m for m in multiplier_signals(b) if m[0] == n]:
        k = int(wnet[1:])
        ref = f"U{k + 1}"
        x1, x2 = weight_x_inputs(b, b.wiring.weights[k])
        x1, x2 = (wnet if x.startswith("ch") else x for x in (x1, x2))
        pins = {"X1": x1, "X2": x2, "Y1": y1, "Y2": y2, "Z": z, "W": w,
                "+Vs": "+12V", "-Vs": "-12V"}
        net.add(Component(ref, "wphil", "AD633", "AD633JN", FP_DIP8, "AD633JNZ",
                          f"multiplier, weight {k}", {str(p[k_]): v for k_, v in pins.items()}))
        decouple(net, ref, "+12V")
        decouple(net, ref, "-12V")


def neuron(net: Netlist, sections: dict[str, str], n: int, name: str) -> None:
    """Neuron n: Rin from its chain's last W, Rf || Cf || two diode strings, + at VMID."""
    b = net.bench
    c = b.circuit
    chip, sec = opamp_section(n)
    out, minus, plus = MCP6004_SECTIONS[sec]
    inv = f"N{n}"
    o = f"L{n}" if b.is_recurrent else name
    last_w = [w for m, _, _, _, w in multiplier_signals(b) if m == n][-1]
    sections.update({f"{chip}.{out}": o, f"{chip}.{minus}": inv, f"{chip}.{plus}": "VMID"})
    net.passive("R", ohms(c.rin_ohms), last_w, inv, f"Rin of {name}",
                mpn=f"{ohms(c.rin_ohms)} 1% 0.25W metal film")
    net.passive("R", ohms(c.rf_ohms), inv, o, f"Rf of {name}",
                mpn=f"{ohms(c.rf_ohms)} 1% 0.25W metal film")
    if c.cf_farads > 0:
        net.passive("C", farads(c.cf_farads), inv, o, f"Cf of {name}", footprint=FP_C_CERAMIC,
                    mpn=f"{farads(c.cf_farads)} 50V C0G ceramic, 5.08 mm")
    for way, (anode, cathode) in enumerate(((inv, o), (o, inv))):
        nodes = [anode] + [f"{inv}_{'ud'[way]}{i}" for i in range(1, c.limiter_diodes)] + [cathode]
        for i in range(c.limiter_diodes):
            # Diode:1N4148 pin 1 is K, pin 2 is A
            net.passive("D", "1N4148", nodes[i + 1], nodes[i], f"limiter of {name}",
                        footprint=FP_DIODE, mpn="1N4148 (DO-35)")
    if b.is_recurrent:
        integrator(net, sections, n, o, name)
    channel = readouts(b).get(n)
    if channel is not None:
        net.passive("R", ohms(c.rout_ohms), name, f"ADC{channel}",
                    f"{name} to GP{adc_gpio(channel)} (ADC{channel})",
                    mpn=f"{ohms(c.rout_ohms)} 5% 0.25W")


def integrator(net: Netlist, sections: dict[str, str], n: int, limiter_out: str,
               name: str) -> None:
    """A recurrent neuron's inverting integrator: Rint in, Rfb || Cint across, + at VMID."""
    c = net.bench.circuit
    chip, sec = integrator_section(net.bench, n)
    out, minus, plus = MCP6004_SECTIONS[sec]
    inv = f"I{n}"
    sections.update({f"{chip}.{out}": name, f"{chip}.{minus}": inv, f"{chip}.{plus}": "VMID"})
    r = ohms(c.int_ohms)
    net.passive("R", r, limiter_out, inv, f"Rint of {name}", mpn=f"{r} 1% 0.25W metal film")
    net.passive("R", r, inv, name, f"Rfb of {name}", mpn=f"{r} 1% 0.25W metal film")
    net.passive("C", farads(c.int_farads), inv, name, f"Cint of {name}", footprint=FP_C_FILM,
                mpn=f"{farads(c.int_farads)} 5% 63V film, 5.08 mm")


def reset_switches(net: Netlist) -> None:
    """DG412s: switch k of chip s across neuron 4s+k-1's Cint, every IN on the reset GPIO."""
    b = net.bench
    for chip in range(math.ceil(b.n_neurons / 4)):
        ref = f"US{chip + 1}"
        pins = {str(DG412_VPLUS): "+12V", str(DG412_VMINUS): "-12V", str(DG412_GND): "GND",
                str(DG412_VL): "3V3"}
        unused = []
        for n in range(4 * chip, 4 * chip + 4):
            sw, k = switch_of(n)
            in_, drain, source = DG412_SWITCHES[k]
            if n < b.n_neurons:
                name = [neuron_name(b, d, u) for m, d, u in neurons(b) if m == n][0]
                pins.update({str(in_): "RESET", str(drain): f"I{n}", str(source): name})
            else:
                unused += [str(drain), str(source)]
        net.add(Component(ref, "Analog_Switch", "DG412xJ", "DG412", FP_DIP16, "DG412DJZ",
                          "integrator reset switches", pins, tuple(unused)))
        decouple(net, ref, "+12V")
        decouple(net, ref, "-12V")


__all__ = ["bench_netlist", "dac_nets", "readouts"]
