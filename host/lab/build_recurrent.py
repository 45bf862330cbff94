"""A recurrent bench's extra hardware (wphil.lab.build): each neuron's integrator behind its
limiter stage, and the analog switches that empty the integrator capacitors on reset.

The integrator is an inverting MCP6004 stage, int_ohms in, int_ohms || int_farads across
(tau = int_ohms * int_farads, DC gain -1), on the op-amp sections after the VMID buffer's.
A DG412 (four normally-open SPST switches, closed while IN is high) shorts each capacitor
while the Pico holds [recurrent] reset_pin high. Its logic thresholds (V_INH 2.4 V, V_INL
0.8 V) are characterised at VL = 5 V only ([DGi], [DGm]), so VL comes from an L78L05A on the
+12 V rail: 5 V whenever V+ is up, and never above V+ (the abs-max VL <= V+ + 0.3 V, [DGi]),
as VBUS would be with the analog rails off. The Pico's VOH min 2.62 V [R634] through the
reset line's series/pull-down divider (drivers/hardware.py) stays above 2.4 V.
"""

from __future__ import annotations

import math

from wphil.drivers.bench import Bench
from wphil.drivers.hardware import (
    DG412_GND,
    DG412_SWITCHES,
    DG412_VL,
    DG412_VMINUS,
    DG412_VPLUS,
    RESET_PULLDOWN_OHMS,
    RESET_SERIES_OHMS,
    Hardware,
)
from wphil.lab.board import MCP6004_SECTIONS, Part, neurons, opamp_section
from wphil.lab.build_pico import ohms, pulled_line


def integrator_section(bench: Bench, n: int) -> tuple[str, str]:
    """(chip ref, section) of neuron n's integrator op-amp."""
    return opamp_section(len(neurons(bench)) + 1 + n)


def switch_of(n: int) -> tuple[str, int]:
    """(chip ref, switch 1..4) of the DG412 switch across neuron n's capacitor."""
    return f"US{n // 4 + 1}", n % 4 + 1


def integrator_wires(bench: Bench, add, n: int, limiter_out: str) -> str:
    """Wire neuron n's integrator behind its limiter output; returns the integrator output."""
    c = bench.circuit
    chip, sec = integrator_section(bench, n)
    out, minus, plus = MCP6004_SECTIONS[sec]
    inv, o = f"{chip} -IN{sec} ({minus})", f"{chip} OUT{sec} ({out})"
    sw, k = switch_of(n)
    _, drain, source = DG412_SWITCHES[k]
    add("neurons", f"R {c.int_ohms / 1e3:g}k (Rint)", f"{limiter_out} to {inv}", f"I{n}",
        note="integrator input", part="Rint", count=1)
    add("neurons", f"R {c.int_ohms / 1e3:g}k (Rfb)", f"{inv} to {o}", f"I{n}", part="Rint",
        count=1)
    add("neurons", f"C {c.int_farads * 1e9:g}nF film (Cint)", f"{inv} to {o}", f"I{n}",
        note=f"tau = {c.int_ohms * c.int_farads * 1e6:g} us", part="Cint", count=1)
    add("neurons", f"{sw} D{k} ({drain})", inv, f"I{n}", note="reset switch across Cint")
    add("neurons", f"{sw} S{k} ({source})", o, f"I{n}")
    add("neurons", "VMID bus", f"{chip} +IN{sec} ({plus})", "VMID")
    return o


def reset_wires(bench: Bench, hw: Hardware, add) -> None:
    """The DG412s' supplies, VL regulator, decoupling; every used IN on the reset GPIO through
    its series resistor, with a pull-down; unused INs to GND (switch open)."""
    add("reset", "UR1 L78L05A IN", "+12V rail", "+12V", note="DG412 logic supply VL = 5 V",
        part="UR1", count=1)
    add("reset", "UR1 L78L05A GND", "GND rail", "GND")
    add("reset", "UR1 L78L05A OUT", "VL5 bus", "VL5", note="pins by name: check your package")
    add("reset", "C 0.33uF at UR1", "+12V to GND", "+12V", note="regulator input", part="Creg",
        count=1)
    add("reset", "C 0.1uF at UR1", "VL5 to GND", "VL5", note="regulator output", part="Cdec",
        count=1)
    for chip in range(hw.reset_switches):
        sw = f"US{chip + 1}"
        add("reset", f"{sw} V+ ({DG412_VPLUS})", "+12V rail", "+12V", note="DG412", part="US1..",
            count=1)
        add("reset", f"{sw} V- ({DG412_VMINUS})", "-12V rail", "-12V")
        add("reset", f"{sw} GND ({DG412_GND})", "GND rail", "GND")
        add("reset", f"{sw} VL ({DG412_VL})", "VL5 bus", "VL5", note="logic supply, 5 V")
        for rail in ("+12V", "-12V", "VL5"):
            add("reset", f"C 0.1uF at {sw}", f"{rail} to GND", rail, note="decoupling",
                part="Cdec", count=1)
        for k in range(1, 5):
            if chip * 4 + k > bench.n_neurons:
                add("reset", f"{sw} IN{k} ({DG412_SWITCHES[k][0]})", "GND rail", "GND",
                    note="unused switch: input tied low (open); its S and D not connected")
    pulled_line(hw.signal("RESET"), "reset", add, "Rrs", "Rrpd",
                "high: switches closed, capacitors shorted; low at power-up")


def recurrent_parts(bench: Bench) -> list:
    if not bench.is_recurrent:
        return []
    c, n = bench.circuit, bench.n_neurons
    switches = math.ceil(n / 4)
    return [Part("Rint", "resistor 1%", f"{c.int_ohms / 1e3:g}k", 2 * n, "integrators", 0.10),
            Part("Cint", "capacitor film 5%", f"{c.int_farads * 1e9:g}nF", n,
                 "integrators: tau = Rint Cint", 0.30),
            Part("US1..", "DG412DJ", "quad SPST analog switch, DIP-16", switches,
                 "capacitor reset", 4.00),
            Part("UR1", "L78L05ACZ", "5 V 100 mA regulator, TO-92", 1,
                 "DG412 logic supply VL from +12 V", 0.40),
            Part("Creg", "capacitor X7R", "0.33uF", 1, "L78L05 input", 0.10),
            Part("Rrs", "resistor", ohms(RESET_SERIES_OHMS), 1, "reset line series", 0.05),
            Part("Rrpd", "resistor", ohms(RESET_PULLDOWN_OHMS), 1, "reset line pull-down",
                 0.05)]
