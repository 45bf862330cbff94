"""The emulated Pico's analog network: what its ADC inputs read for the DAC codes node sends.

Feed-forward benches (`Physics`): the settled network, solved when a conversion follows a
DAC change; the emulated CPU is paused meanwhile, so the circuit "settles" in no emulated
time. Recurrent benches (`RecurrentPhysics`): the network has state that evolves on the
**emulated clock**. Node dates every DAC update, every edge of the capacitor reset line and
every conversion in emulated nanoseconds, and the state is integrated between those
instants with the same dynamics (wphil.drivers.dynamics, RK4) and the same board instance
as mock://, so a sample taken at emulated time t sees the state at t: a step the firmware
paces late is integrated longer, as on a Pico. Both compute noise-free ADC levels; read
noise, drift and DNL are added per conversion in node (drivers/rp2040js/converters.mjs).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from wphil.drivers import dynamics
from wphil.drivers.analog import AnalogNetwork, normal_quantiles
from wphil.drivers.bench import Bench

log = logging.getLogger(__name__)


class Physics:
    """Noise-free ADC levels per ADC channel for the DAC codes of every channel."""

    def __init__(self, bench: Bench, spec: dict[str, Any]) -> None:
        self.bench = bench
        self.net = AnalogNetwork(bench, board_seed=spec["board_seed"], read_noise_volts=0.0)
        self.mid = float(1 << (bench.adc.bits - 1))

    def levels(self, codes: list[int]) -> list[float]:
        wiring = self.bench.wiring
        dac = np.asarray(codes, dtype=np.int64)
        levels = self.net.readout_levels(dac[list(wiring.weights)], dac[list(wiring.inputs)])
        return self._by_channel(levels)

    def _by_channel(self, levels: np.ndarray) -> list[float]:
        """Readout levels (outputs, then hidden units) placed on their ADC channels."""
        wiring = self.bench.wiring
        out = [self.mid] * self.bench.adc.channels
        for ch, level in zip(list(wiring.outputs) + list(wiring.hidden), levels):
            out[ch] = float(level)
        return out

    def node_config(self, spec: dict[str, Any]) -> dict[str, Any]:
        """What node needs to add noise, drift and DNL per conversion, as firmware/sim does."""
        b, net = self.bench, self.net
        scale = (1 << b.adc.bits) / b.adc.vref
        oversample = b.adc.oversample if b.adc.kind == "rp2040" else 1
        lut = net.dnl_lut if net.dnl_lut is not None else np.arange(net.adc_full + 1)
        return {
            "bits": b.adc.bits, "seed": spec["noise_seed"],
            "noise_lsb": spec["read_noise_volts"] * scale,
            "drift_step": spec["drift"] * scale / math.sqrt(1000 * oversample),
            "quantiles": [round(float(q), 5) for q in normal_quantiles()[8::16]],
            "dnl_lut": lut.tolist(),
        }


class RecurrentPhysics(Physics):
    """A recurrent bench's network integrated on the emulated clock (times in ns)."""

    def __init__(self, bench: Bench, spec: dict[str, Any]) -> None:
        super().__init__(bench, spec)
        self.wiring, self.vsat, self.tau, self.offset = self.net.dynamics_terms()
        self.tau_min = float(self.tau.min())
        self.state = np.zeros((1, self.wiring.n_neurons))
        self.now_ns = 0.0
        self.closed = False                  # the reset switches across the capacitors
        self.dac(0.0, [0] * bench.dac_channels)
        readouts = list(bench.wiring.outputs) + list(bench.wiring.hidden)
        self.read_neurons = self.wiring.readout_order[:len(readouts)]
        self.read_offset = np.array(self.net.board.adc_offset)[readouts]

    def advance(self, t_ns: float) -> None:
        """Let the circuit run from the last event to `t_ns` with the DACs as they are.
        Time only goes forward: an event dated earlier (a DAC update dated at the end of
        its bus transfer, then a sample inside it) is taken at the present instant."""
        dt_us = (t_ns - self.now_ns) / 1000.0
        if dt_us <= 0:
            return
        self.now_ns = t_ns
        if self.closed:                      # the switches hold every capacitor empty
            return
        self.state = dynamics.trajectories(
            self.weights, self.input_volts, self.wiring, self.vsat, self.tau, dt_us,
            state=self.state, n_sub=dynamics.substeps(dt_us, self.tau_min),
            offset=self.offset)[:, -1]

    def dac(self, t_ns: float, codes: list[int]) -> None:
        """The DAC outputs change at `t_ns` (weights and inputs held until the next change)."""
        self.advance(t_ns)
        wiring, dac = self.bench.wiring, np.asarray(codes, dtype=np.int64)
        self.weights = self.net.weights(dac[list(wiring.weights)][None, :])
        self.input_volts = self.net.inputs(dac[list(wiring.inputs)][None, :])

    def reset(self, t_ns: float, closed: bool) -> None:
        """The reset line's edge at `t_ns`: closed empties the capacitors and holds them."""
        self.advance(t_ns)
        self.closed = closed
        if closed:
            self.state = np.zeros_like(self.state)

    def sample(self, t_ns: float) -> list[float]:
        """Noise-free ADC levels per channel of the state at `t_ns`."""
        self.advance(t_ns)
        volts = self.state[0, self.read_neurons] + self.read_offset
        return self._by_channel(volts * self.net.adc_scale + self.net.adc_mid)


def make_physics(bench: Bench, spec: dict[str, Any]) -> Physics:
    return (RecurrentPhysics if bench.is_recurrent else Physics)(bench, spec)
