"""The analog half of a bench's netlist (wphil.lab.components): the AD633 chains, the neuron
stages with their diode limiters, a recurrent bench's integrators and reset switches, the
ADC series resistors; and `bench_netlist`, the whole board in build order.
"""

from __future__ import annotations

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError
from wphil.drivers.hardware import ADS1115_ADDRESS, ADS1115_PINS, hardware
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
from wphil.lab.build_trim import trim_components
from wphil.lab.components import (
    FP_C_CERAMIC,
    FP_C_FILM,
    FP_DIODE,
    FP_DIP8,
    FP_DIP16,
    FP_TO92,
    FP_VSSOP10,
    Component,
    Netlist,
    dac_nets,
    dacs,
    decouple,
    farads,
    ohms,
    opamps,
    pico,
    signal_nets,
    signal_resistors,
    supply,
    vmid,
)


def bench_netlist(bench: Bench) -> Netlist:
    """Every component of the bench's circuit, in build order (the wiring table's)."""
    if bench.circuit.kind != "ad633":
        raise ConfigError(f"{bench.source}: [circuit] kind is {bench.circuit.kind!r}: wphil can "
                          "export only the 'ad633' circuit")
    net, sections = Netlist(bench, hardware(bench)), {}
    supply(net)
    pico(net)
    signal_resistors(net)
    dacs(net)
    if bench.adc.kind == "ads1115":
        ads1115(net)
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


def multipliers(net: Netlist, n: int) -> None:
    """Neuron n's AD633s, chained W -> Z from VMID or from its offset trimmer
    (wphil.lab.build.multiplier_signals, build_trim)."""
    b, p = net.bench, AD633_PINS
    trim_components(net, n)
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
        ads = b.adc.kind == "ads1115"
        to = f"ADS1 AIN{channel}" if ads else f"GP{adc_gpio(channel)} (ADC{channel})"
        net.passive("R", ohms(c.rout_ohms), name, f"AIN{channel}" if ads else f"ADC{channel}",
                    f"{name} to {to}", mpn=f"{ohms(c.rout_ohms)} 5% 0.25W")


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
    """DG412s: switch k of chip s across neuron 4s+k-1's Cint, each used IN on the reset line,
    an unused IN to GND (its S and D unused); VL from an L78L05 on +12 V (build_recurrent)."""
    b, signals = net.bench, signal_nets(net.hw)
    net.add(Component("UR1", "Regulator_Linear", "L78L05_TO92", "L78L05", FP_TO92, "L78L05ACZ",
                      "DG412 logic supply VL = 5 V", {"3": "+12V", "2": "GND", "1": "VL5"}))
    net.passive("C", "0.33uF", "+12V", "GND", "L78L05 input", footprint=FP_C_CERAMIC,
                mpn="0.33uF 50V X7R ceramic, 5.08 mm")
    decouple(net, "UR1", "VL5")
    for chip in range(net.hw.reset_switches):
        ref = f"US{chip + 1}"
        pins = {str(DG412_VPLUS): "+12V", str(DG412_VMINUS): "-12V", str(DG412_GND): "GND",
                str(DG412_VL): "VL5"}
        unused = []
        for n in range(4 * chip, 4 * chip + 4):
            _, k = switch_of(n)
            in_, drain, source = DG412_SWITCHES[k]
            if n < b.n_neurons:
                name = [neuron_name(b, d, u) for m, d, u in neurons(b) if m == n][0]
                pins.update({str(in_): signals[(ref, str(in_))], str(drain): f"I{n}",
                             str(source): name})
            else:
                pins[str(in_)] = "GND"
                unused += [str(drain), str(source)]
        net.add(Component(ref, "Analog_Switch", "DG412xJ", "DG412", FP_DIP16, "DG412DJZ",
                          "integrator reset switches", pins, tuple(unused)))
        for rail in ("+12V", "-12V", "VL5"):
            decouple(net, ref, rail)


def ads1115(net: Netlist) -> None:
    """The ADS1115 on the DACs' bus at 3.3 V, ADDR to GND (0x48), ALERT/RDY unused, unused
    inputs to GND (build_pico.ads1115_wires)."""
    b, p = net.bench, ADS1115_PINS
    used = set(b.wiring.outputs) | set(b.wiring.hidden)
    pins = {str(p["VDD"]): "3V3", str(p["GND"]): "GND", str(p["ADDR"]): "GND"}
    pins.update({pin: n for (r, pin), n in signal_nets(net.hw).items() if r == "ADS1"})
    pins.update({str(p[f"AIN{ch}"]): f"AIN{ch}" if ch in used else "GND" for ch in range(4)})
    net.add(Component("ADS1", "Analog_ADC", "ADS1115IDGS", "ADS1115", FP_VSSOP10,
                      "ADS1115IDGSR on an MSOP-10 to DIP-10 adapter",
                      f"ADC at 0x{ADS1115_ADDRESS:02X}", pins, (str(p["ALERT/RDY"]),)))
    decouple(net, "ADS1", "3V3")


__all__ = ["bench_netlist", "dac_nets", "readouts"]
