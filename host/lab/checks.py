"""Bring-up self-checks a bench can run on itself: DAC chips, zero-weight readouts, the
recurrent benches' reset switch, rails.

Each check is one line: what was measured and whether it is in range. They need no DMM:
the chips are the firmware's I2C scan, the readouts the ADC, the rails the supply's meter.
The thresholds are wphil.lab.bringup's, the same the bring-up page quotes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wphil.drivers.base import Device
from wphil.drivers.bench import Bench
from wphil.drivers.hardware import MCP4728_BASE_ADDRESS
from wphil.drivers.instruments.rails import RailStatus
from wphil.lab.bringup import (
    readout_volts,
    reset_bound,
    reset_read_us,
    settled_sequence,
    zero_codes,
    zero_weight_bound,
)

#: a rail may measure this far (relative) from its setting
RAIL_TOLERANCE = 0.05


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


def _readouts(bench: Bench, volts: np.ndarray, hidden: bool) -> str:
    pins = list(bench.wiring.outputs) + (list(bench.wiring.hidden) if hidden else [])
    return ", ".join(f"ADC{p} {v:+.3f} V" for p, v in zip(pins, volts))


def check_zero_weight_readouts(device: Device, bench: Bench) -> Check:
    """With every weight and input at zero each neuron shows only its offset: near VMID,
    never at a rail (a dead op-amp, a missing VMID, an open Rin). A recurrent bench is read
    5 tau after its reset, settled."""
    inputs, weights = zero_codes(bench)
    hidden = bool(bench.wiring.hidden)
    if bench.is_recurrent:
        codes = settled_sequence(device, bench, inputs, weights, hidden)
    else:
        codes = device.evaluate(inputs, weights, hidden=hidden)[0, 0]
    volts, bound = readout_volts(bench, codes), zero_weight_bound(bench)
    ok = bool(np.max(np.abs(volts)) <= bound)
    after = ""
    if bench.circuit.offset_trim_volts > 0:     # the bound assumes the offset trimmers are set
        after = " after the offset trim" + ("" if ok else ": trim each neuron to VMID first "
                                            "(docs/hardware/bring-up.md)")
    return Check("zero-weight readouts", ok,
                 f"{_readouts(bench, volts, hidden)} from VMID (allowed +-{bound:.2f} V){after}")


def check_reset_switch(device: Device, bench: Bench) -> Check:
    """Recurrent benches: the DG412 reset switch empties the integrators. Every weight at full
    scale drives each integrator to a rail (read 5 tau after the reset); the same weights read
    a moment after the next reset (1% of tau) must sit at VMID again. A switch that does not
    close (VL, the reset line, the GPIO) leaves the capacitors charged at the first reading."""
    inputs, _ = zero_codes(bench)
    drive = np.full(bench.n_weights, bench.max_code)
    hidden = bool(bench.wiring.hidden)
    driven = readout_volts(bench, settled_sequence(device, bench, inputs, drive, hidden))
    just_reset = readout_volts(bench, device.evaluate_sequence(
        inputs, drive, hidden=hidden, step_us=reset_read_us(bench))[0, 0])
    bound = reset_bound(bench)
    moved = bool(np.min(np.abs(driven)) > bound)
    ok = moved and bool(np.max(np.abs(just_reset)) <= bound)
    return Check("reset switch", ok, f"driven: {_readouts(bench, driven, hidden)}; "
                 f"{reset_read_us(bench)} us after reset: {_readouts(bench, just_reset, hidden)} "
                 f"(allowed +-{bound:.3f} V of VMID" + ("" if moved else
                                                        "; the drive did not move them") + ")")


def check_rails(status: list[RailStatus]) -> Check:
    """Each rail on and measuring within RAIL_TOLERANCE of the bench's [power] volts."""
    bad = [s for s in status if not s.enabled
           or abs(s.measured_volts - s.rail.volts) > RAIL_TOLERANCE * s.rail.volts]
    text = ", ".join(f"{s.rail.name} {s.measured_volts:.2f} V (want {s.rail.volts:g}) "
                     f"{'on' if s.enabled else 'OFF'}" for s in status)
    return Check("rails", not bad, text)
