"""The parts a bench is built from, named once: chip pinouts, the Pico's pins, the wire and
part records, and where each neuron's op-amp sits (wphil.lab.build lists and wires them)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from wphil.drivers.bench import Bench
from wphil.drivers.hardware import (  # noqa: F401  (the Pico and MCP4728 pins, named once)
    ADC_GPIO,
    MCP4728_BASE_ADDRESS,
    MCP4728_PINS,
    PICO_3V3,
    PICO_ADC_VREF,
    PICO_AGND,
    PICO_GND,
    PICO_GPIO_PIN,
    PICO_VBUS,
)

# -- pins, named once ------------------------------------------------------------------
#: AD633 DIP-8 (AD633JNZ)
AD633_PINS = {"X1": 1, "X2": 2, "Y1": 3, "Y2": 4, "-Vs": 5, "Z": 6, "W": 7, "+Vs": 8}
#: MCP6004 DIP-14: (out, -in, +in) of sections A..D; supply pins
MCP6004_SECTIONS = {"A": (1, 2, 3), "B": (7, 6, 5), "C": (8, 9, 10), "D": (14, 13, 12)}
MCP6004_VDD, MCP6004_VSS = 4, 11


@dataclass(frozen=True)
class Wire:
    step: int
    stage: str
    source: str
    dest: str
    net: str
    dac_channel: str = ""
    adc_pin: str = ""
    note: str = ""
    part: str = ""         # the parts-list ref of a part this row places ("" for a wire)
    count: int = 0         # how many of that part the row places


@dataclass(frozen=True)
class Part:
    ref: str
    part: str
    value: str
    qty: int
    purpose: str
    unit_usd: float

    @property
    def cost_usd(self) -> float:
        return self.qty * self.unit_usd


def neurons(bench: Bench) -> list[tuple[int, int, int]]:
    """(neuron, layer depth, unit) for every neuron, layer by layer."""
    out, n = [], 0
    for depth, units in enumerate(bench.topology.layers[1:]):
        for unit in range(units):
            out.append((n, depth, unit))
            n += 1
    return out


def neuron_name(bench: Bench, depth: int, unit: int) -> str:
    last = depth == len(bench.topology.layers) - 2
    return f"out{unit}" if last else (f"h{unit}" if depth == 0 else f"h{depth}_{unit}")


def opamp_section(n: int) -> tuple[str, str]:
    """(chip ref, section) of neuron n's op-amp; the VMID buffer takes the next free one,
    a recurrent bench's integrators the ones after it."""
    return f"UA{n // 4 + 1}", "ABCD"[n % 4]


def opamp_sections_used(bench: Bench) -> int:
    """A section per neuron, the VMID buffer, an integrator per recurrent neuron."""
    return len(neurons(bench)) * (2 if bench.is_recurrent else 1) + 1


def opamp_chips(bench: Bench) -> int:
    """MCP6004s: enough quad chips for the sections used; the rest are tied off as followers."""
    return math.ceil(opamp_sections_used(bench) / 4)
