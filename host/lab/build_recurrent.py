"""A recurrent bench's extra hardware (wphil.lab.build): each neuron's integrator behind its
limiter stage, and the analog switches that empty the integrator capacitors on reset.

The integrator is an inverting MCP6004 stage, int_ohms in, int_ohms || int_farads across
(tau = int_ohms * int_farads, DC gain -1), on the op-amp sections after the VMID buffer's.
A DG412 (four normally-open SPST switches, closed while IN is high; 3V3 logic is enough:
V_INH 2.4 V) shorts each capacitor while the Pico holds [recurrent] reset_pin high.
"""

from __future__ import annotations

import math

from wphil.drivers.bench import Bench
from wphil.lab.board import MCP6004_SECTIONS, PICO_GPIO_PIN, Part, neurons, opamp_section

#: DG412 DIP-16: (IN, D, S) of switches 1..4; supply pins
DG412_SWITCHES = {1: (1, 2, 3), 2: (16, 15, 14), 3: (9, 10, 11), 4: (8, 7, 6)}
DG412_VPLUS, DG412_VMINUS, DG412_GND, DG412_VL = 13, 4, 5, 12


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
        note="integrator input")
    add("neurons", f"R {c.int_ohms / 1e3:g}k (Rfb)", f"{inv} to {o}", f"I{n}")
    add("neurons", f"C {c.int_farads * 1e9:g}nF film (Cint)", f"{inv} to {o}", f"I{n}",
        note=f"tau = {c.int_ohms * c.int_farads * 1e6:g} us")
    add("neurons", f"{sw} D{k} ({drain})", inv, f"I{n}", note="reset switch across Cint")
    add("neurons", f"{sw} S{k} ({source})", o, f"I{n}")
    add("neurons", "VMID bus", f"{chip} +IN{sec} ({plus})", "VMID")
    return o


def reset_wires(bench: Bench, add) -> None:
    """The DG412s' supplies and logic: every IN on the reset GPIO."""
    gp = bench.recurrent.reset_pin
    for chip in range(math.ceil(bench.n_neurons / 4)):
        sw = f"US{chip + 1}"
        add("reset", f"{sw} V+ ({DG412_VPLUS})", "+12V rail", "+12V", note="DG412")
        add("reset", f"{sw} V- ({DG412_VMINUS})", "-12V rail", "-12V")
        add("reset", f"{sw} GND ({DG412_GND})", "GND rail", "GND")
        add("reset", f"{sw} VL ({DG412_VL})", "3V3 rail", "3V3", note="logic supply")
        for k in range(1, 5):
            if chip * 4 + k <= bench.n_neurons:
                add("reset", f"Pico pin {PICO_GPIO_PIN.get(gp, '?')} (GP{gp})",
                    f"{sw} IN{k} ({DG412_SWITCHES[k][0]})", "RESET",
                    note="high: switch closed, capacitor shorted")


def recurrent_parts(bench: Bench) -> list:
    if not bench.is_recurrent:
        return []
    c, n = bench.circuit, bench.n_neurons
    return [Part("Rint", "resistor 1%", f"{c.int_ohms / 1e3:g}k", 2 * n, "integrators", 0.10),
            Part("Cint", "capacitor film 5%", f"{c.int_farads * 1e9:g}nF", n,
                 "integrators: tau = Rint Cint", 0.30),
            Part("US1..", "DG412DJ", "quad SPST analog switch, DIP-16", math.ceil(n / 4),
                 "capacitor reset", 4.00)]
