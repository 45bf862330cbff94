"""Bring-up thresholds, one set for `wphil check` and the bring-up page (docs/hardware/bring-up.md).

Each threshold is a quantile of the model's own spread (the bench's [sim] table), so a good
board fails it only at a stated rate:

- zero-weight readouts: with every weight and input at zero a neuron shows only its offsets,
  a = vsat tanh(n / vsat) + o: n the neuron offset (neuron_offset_volts) plus its bias
  weight's offset times the bias input (weight_offset, and dac_offset_volts times
  weight_per_volt), o the output offset (output_offset_volts). tanh is monotone, so the
  k-sigma quantile of a is vsat tanh(k sigma / vsat) with sigma the root sum of squares of
  those spreads and READOUT_FLOOR_VOLTS (the ADC's own error: RP2040 INL/DNL and read noise,
  about 12 LSB of 0.8 mV); plus MARGIN_VOLTS for what the model leaves out.
- reset switch (recurrent benches): with the capacitors shorted an integrator sits at VMID
  plus its op-amp offset; the same k sigma of the output offset and the floor, plus how far
  an integrator can move in the read delay (vsat * delay / tau).

k = OFFSET_SIGMAS = 4: a good neuron fails with probability erfc(4 / sqrt 2) = 6.3e-5, a
board of 6 neurons (iris) with 3.8e-4. On an untrimmed bench (iris, parity4, the ADS1115
XOR variant, neuron_offset_volts 0.35..0.44 V) the bound is about +-0.9 V.

Trimmed benches ([circuit] offset_trim_volts > 0, xor-2-2-1): neuron_offset_volts is what
the trim leaves (0.031 V on xor-2-2-1), so the zero-weight bound (+-0.19 V there) holds only
AFTER the trim step. Before it a good neuron may sit anywhere up to the limiter (+-vsat):
there is no pre-trim threshold to check, the trim step itself is the check (a neuron whose
trimmer cannot bring it to VMID is miswired). The trim step's target is trim_tolerance: the
offset_trim_volts the model leaves at the summing node, times Rf / Rin, at the output.
"""

from __future__ import annotations

import math

import numpy as np

from wphil.drivers.base import Device
from wphil.drivers.bench import Bench

OFFSET_SIGMAS = 4.0
READOUT_FLOOR_VOLTS = 0.01
MARGIN_VOLTS = 0.02
#: the reset check reads this fraction of the shortest time constant after the switches open
RESET_READ_FRACTION = 0.01


def false_fail_rate(k: float = OFFSET_SIGMAS) -> float:
    """Probability that a good neuron lands outside k sigma (two-sided normal)."""
    return math.erfc(k / math.sqrt(2))


def zero_weight_bound(bench: Bench) -> float:
    """How far from VMID a neuron may sit with every weight and input at zero (V)."""
    sim, vsat = bench.sim, bench.topology.vsat
    bias_weight = math.hypot(sim.weight_offset,
                             sim.dac_offset_volts * bench.calibration.weight_per_volt)
    spread = math.hypot(sim.neuron_offset_volts, bias_weight * bench.topology.bias_volts,
                        sim.output_offset_volts, READOUT_FLOOR_VOLTS)
    return vsat * math.tanh(OFFSET_SIGMAS * spread / vsat) + MARGIN_VOLTS


def trim_tolerance(bench: Bench) -> float:
    """How close to VMID the trim step leaves each neuron's output, weights and inputs at zero
    (V): [circuit] offset_trim_volts at the summing node times the stage's gain Rf / Rin."""
    c = bench.circuit
    return c.offset_trim_volts * c.rf_ohms / c.rin_ohms


def reset_read_us(bench: Bench) -> int:
    return max(1, round(RESET_READ_FRACTION * min(bench.recurrent.tau_us)))


def reset_bound(bench: Bench) -> float:
    """How far from VMID an integrator may read just after its reset switch opened (V)."""
    spread = math.hypot(bench.sim.output_offset_volts, READOUT_FLOOR_VOLTS)
    drift = bench.topology.vsat * reset_read_us(bench) / min(bench.recurrent.tau_us)
    return OFFSET_SIGMAS * spread + MARGIN_VOLTS + drift


def readout_volts(bench: Bench, adc_codes: np.ndarray) -> np.ndarray:
    """ADC codes -> volts from VMID (mid-scale)."""
    mid = 1 << (bench.adc.bits - 1)
    return (np.asarray(adc_codes, dtype=float) - mid) * bench.adc.vref / (1 << bench.adc.bits)


def zero_codes(bench: Bench) -> tuple[np.ndarray, np.ndarray]:
    """(input codes for one pattern, weight codes) that mean zero."""
    full = 1 << bench.dac.bits
    zero_w = round(bench.calibration.weight_zero_volts / bench.dac.vref * full)
    zero_in = round(bench.calibration.input_zero_volts / bench.dac.vref * full)
    return np.full((1, bench.n_inputs), zero_in), np.full(bench.n_weights, zero_w)


def settled_sequence(device: Device, bench: Bench, inputs: np.ndarray, codes: np.ndarray,
                     hidden: bool) -> np.ndarray:
    """A recurrent bench's readouts one step of 5 tau after the reset: settled (n_read,)."""
    step = round(5 * max(bench.recurrent.tau_us))
    return device.evaluate_sequence(inputs, codes, hidden=hidden, step_us=step)[0, -1]
