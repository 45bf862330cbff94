"""Bring-up self-checks a bench can run on itself: DAC chips, zero-weight readouts, rails.

Each check is one line: what was measured and whether it is in range. They need no DMM:
the chips are the firmware's I2C scan, the readouts the ADC, the rails the supply's meter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wphil.drivers.base import Device
from wphil.drivers.bench import Bench
from wphil.drivers.instruments.rails import RailStatus
from wphil.lab.build import MCP4728_BASE_ADDRESS

#: a rail may measure this far (relative) from its setting
RAIL_TOLERANCE = 0.05
#: zero-weight readouts may sit this many standard deviations of the offsets from mid-scale
OFFSET_SIGMAS = 4.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_dac_addresses(device: Device, bench: Bench) -> Check:
    """Every MCP4728 the bench names answers at its address (the firmware's I2C scan)."""
    found = device.info().details.get("dac_addresses")
    want = [MCP4728_BASE_ADDRESS + i for i in range(bench.dac.chips)]
    if found is None:
        return Check("DAC chips", True, f"{device.info().backend}: simulated, nothing to scan")
    missing = [a for a in want if a not in found]
    seen = " ".join(f"0x{a:02X}" for a in found) or "none"
    return Check("DAC chips", not missing, f"answering: {seen}" + (
        "; missing " + " ".join(f"0x{a:02X}" for a in missing) if missing else ""))


def zero_weight_bound(bench: Bench) -> float:
    """How far from VMID a neuron may sit with every weight and input at zero (V)."""
    sim, vsat = bench.sim, bench.topology.vsat
    spread = math.hypot(sim.neuron_offset_volts, sim.output_offset_volts, 0.01)
    return vsat * math.tanh(OFFSET_SIGMAS * spread / vsat) + 0.02


def check_zero_weight_readouts(device: Device, bench: Bench) -> Check:
    """With every weight and input at zero each neuron shows only its offset: near VMID,
    never at a rail (a dead op-amp, a missing VMID, an open Rin)."""
    full = 1 << bench.dac.bits
    zero_w = round(bench.calibration.weight_zero_volts / bench.dac.vref * full)
    zero_in = round(bench.calibration.input_zero_volts / bench.dac.vref * full)
    hidden = bool(bench.wiring.hidden)
    codes = device.evaluate(np.full((1, bench.n_inputs), zero_in),
                            np.full(bench.n_weights, zero_w), hidden=hidden)[0, 0]
    volts = (codes - (1 << (bench.adc.bits - 1))) * bench.adc.vref / (1 << bench.adc.bits)
    pins = list(bench.wiring.outputs) + (list(bench.wiring.hidden) if hidden else [])
    bound = zero_weight_bound(bench)
    worst = int(np.argmax(np.abs(volts)))
    text = ", ".join(f"ADC{p} {v:+.3f} V" for p, v in zip(pins, volts))
    return Check("zero-weight readouts", bool(abs(volts[worst]) <= bound),
                 f"{text} from VMID (allowed +-{bound:.2f} V)")


def check_rails(status: list[RailStatus]) -> Check:
    """Each rail on and measuring within RAIL_TOLERANCE of the bench's [power] volts."""
    bad = [s for s in status if not s.enabled
           or abs(s.measured_volts - s.rail.volts) > RAIL_TOLERANCE * s.rail.volts]
    text = ", ".join(f"{s.rail.name} {s.measured_volts:.2f} V (want {s.rail.volts:g}) "
                     f"{'on' if s.enabled else 'OFF'}" for s in status)
    return Check("rails", not bad, text)
