"""The spice:// device: the bench's circuit solved by ngspice, inside the mock's converters.

URL format: spice://[?option=value&...]
    seed=N          read-noise and drift seed (default: the bench's [sim] noise_seed)
    board_seed=N    board seed: converter mismatch (as mock://) and part mismatch (default:
                    [sim] board_seed)
    noise=V         read-noise standard deviation in volts (default: [sim] read_noise_volts)
    drift=V         output drift, random-walk volts per 1000 queries
    nominal=1       every analog part at its nominal value (converters still mismatched)

The DAC (quantization, gain, offset, INL, stuck channels) and the ADC (offsets, read noise,
drift, DNL, clipping) are mock://'s models (drivers/analog.py); between them, the analog
core is the netlist drivers/netlist.py generates from the bench's [circuit], with one
board's part mismatch (drivers/circuit.py), solved by libngspice (drivers/spice_engine.py)
in one `.dc` sweep per batch. A recurrent bench's sequences are one `.tran` per batch
(drivers/netlist_tran.py: every row a copy of the circuit), sampled at the end of each
step. Needs the Debian/Ubuntu package libngspice0.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from wphil.drivers.base import DeviceInfo
from wphil.drivers.bench import Bench
from wphil.drivers.circuit import CircuitParts, has_circuit
from wphil.drivers.circuit_model import trimmed
from wphil.drivers.dynamics import readout_order
from wphil.drivers.errors import ConfigError
from wphil.drivers.mock import MockDevice
from wphil.drivers.netlist import Sweep, netlist, output_vectors
from wphil.drivers.netlist_tran import Transient, state_vectors, tran_netlist
from wphil.drivers.spice_engine import SpiceEngine
from wphil.drivers.urls import flag, natural, non_negative, parse_options

log = logging.getLogger(__name__)

VERSION = "spice-1"
#: the transient's largest time step, per shortest time constant (tests/test_spice_tran.py:
#: halving it moves no sample by an ADC code)
TRAN_STEPS_PER_TAU = 50
_OPTIONS = {"seed": natural, "board_seed": natural, "noise": non_negative, "drift": non_negative,
            "nominal": flag}


class SpiceDevice(MockDevice):
    """A simulated bench whose analog core is a circuit simulation; mock://'s converters."""

    def __init__(self, url: str, bench: Bench) -> None:
        if not has_circuit(bench):
            raise ConfigError(f"{url}: bench {bench.source} has no [circuit] table: spice:// "
                              "simulates the circuit a bench is built from (e.g. kind = 'ad633')")
        self.engine = SpiceEngine()
        super().__init__(url, bench)
        opts = self.parse_url(url)
        seed = opts.get("board_seed", self.bench.sim.board_seed)
        self.parts = (CircuitParts.nominal(self.bench) if opts.get("nominal")
                      else trimmed(self.bench, CircuitParts.draw(self.bench, seed),
                                   self.network.board))
        self.solves = 0

    @classmethod
    def parse_url(cls, url: str) -> dict[str, Any]:
        return parse_options(url, _OPTIONS, scheme="spice")

    def _info(self) -> DeviceInfo:
        info = super()._info()
        details = {**info.details, "circuit": self.bench.circuit.kind}
        return DeviceInfo(**{**info.__dict__, "backend": "spice", "firmware": VERSION,
                             "details": details})

    def circuit_volts(self, inputs: np.ndarray, codes: np.ndarray, hidden: bool) -> np.ndarray:
        """Signal volts (B, readouts, P) at the ADC pins, from mid-scale, for weight codes
        (B, n_w) and input codes (P, n_in): one .dc sweep over all B x P passes."""
        b, net = self.bench, self.network
        n_b, n_p = len(codes), len(inputs)
        w_volts = net.dac_volts(np.array(b.wiring.weights), codes)
        in_volts = net.dac_volts(np.array(b.wiring.inputs), inputs)
        constant: dict[int, float] = {ch: net.channel_volts(ch, code)
                                      for ch, code in b.fixed_channels.items()}
        rows: dict[int, np.ndarray] = {}
        patterns: dict[int, np.ndarray] = {}
        for j, ch in enumerate(b.wiring.weights):
            _assign(rows, constant, ch, w_volts[:, j])
        for j, ch in enumerate(b.wiring.inputs):
            _assign(patterns, constant, ch, in_volts[:, j])
        # pass (row, pattern) is sweep point pattern * B + row: neighbouring points then
        # differ by one perturbation, and Newton starts next to the answer
        sweep = Sweep(rows=n_b, patterns=n_p, row_volts=rows, pattern_volts=patterns,
                      constant=constant)
        vectors = output_vectors(b, hidden)
        out = self.engine.solve(netlist(b, self.parts, sweep), vectors, sweep.points)
        self.solves += 1
        # the ADC is ratiometric to ADC_VREF: its mid-scale is half of it
        volts = out.reshape(len(vectors), n_p, n_b) - b.adc.vref / 2
        return volts.transpose(2, 0, 1)

    def _evaluate(self, inputs: np.ndarray, codes: np.ndarray, hidden: bool) -> np.ndarray:
        self._last_inputs = inputs[-1]
        return self.network.adc_codes(self.circuit_volts(inputs, codes, hidden))

    def sequence_volts(self, inputs: np.ndarray, codes: np.ndarray, step_us: float,
                       state: np.ndarray | None = None,
                       max_step_us: float | None = None) -> np.ndarray:
        """Every neuron's volts (B, T, N), from mid-scale, at the end of each step of the
        input sequence (T, n_in), for weight codes (B, n_w): one `.tran` for the batch,
        from the reset (state None: every capacitor at 0 V) or from `state` (B or 1, N)."""
        b, net = self.bench, self.network
        n_b, n_t = len(codes), len(inputs)
        constant = {ch: net.channel_volts(ch, code) for ch, code in b.fixed_channels.items()}
        w_volts = net.dac_volts(np.array(b.wiring.weights), codes)
        rows = {ch: w_volts[:, j] for j, ch in enumerate(b.wiring.weights)}
        steps: dict[int, np.ndarray] = {}
        if b.wiring.inputs:
            in_volts = net.dac_volts(np.array(b.wiring.inputs), inputs)
            steps = {ch: in_volts[:, j] for j, ch in enumerate(b.wiring.inputs)}
        tau_us = min(b.recurrent.tau_us)
        start = np.zeros((n_b, b.n_neurons)) if state is None else np.broadcast_to(
            state, (n_b, b.n_neurons))
        tran = Transient(row_volts=rows, step_volts=steps, constant=constant, steps=n_t,
                         step_us=float(step_us), state=start, reset=state is None,
                         max_step_us=max_step_us or tau_us / TRAN_STEPS_PER_TAU)
        vectors = ["time"] + state_vectors(b, n_b)
        out = self.engine.solve(tran_netlist(b, self.parts, tran), vectors, 0)
        self.solves += 1
        sample_us = (np.arange(n_t) + 1) * float(step_us)
        volts = np.array([np.interp(sample_us, out[0] * 1e6, v) for v in out[1:]])
        # the ADC is ratiometric to ADC_VREF: its mid-scale is half of it
        return volts.reshape(n_b, b.n_neurons, n_t).transpose(0, 2, 1) - b.adc.vref / 2

    def _evaluate_sequence(self, inputs: np.ndarray, codes: np.ndarray, hidden: bool,
                           step_us: int, resume: bool) -> np.ndarray:
        volts = self.sequence_volts(inputs, codes, step_us, self._state if resume else None)
        self._state = volts[-1:, -1]
        order = readout_order(self.bench)
        n_read = self.bench.n_outputs + (len(self.bench.wiring.hidden) if hidden else 0)
        self.sequence_timing = {"step_us": step_us, "period_us": float(step_us),
                                "overruns": 0, "max_late_us": 0}
        return self.network.adc_codes(volts[:, :, order[:n_read]].transpose(0, 2, 1))

    def _close(self) -> None:
        self.engine.close()


def _assign(varying: dict[int, np.ndarray], constant: dict[int, float], channel: int,
            volts: np.ndarray) -> None:
    if len(volts) == 1 or np.all(volts == volts[0]):
        constant[channel] = float(volts[0])
    else:
        varying[channel] = volts
