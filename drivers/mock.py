"""The mock device: the simulated analog network in-process (numpy).

URL format: mock://[?option=value&...]
    seed=N          read-noise and drift seed (default: the bench's [sim] noise_seed)
    board_seed=N    board-instance (mismatch) seed (default: [sim] board_seed)
    noise=V         read-noise standard deviation in volts (default: [sim] read_noise_volts)
    drift=V         output drift, random-walk volts per 1000 queries
                    (default: [sim] drift_volts_per_kquery)
    circuit=1       the board instance is the abstract model of spice://'s board with the
                    same board_seed (drivers/circuit_model.py), not a draw from [sim]
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from wphil.drivers.analog import AnalogNetwork, BoardInstance
from wphil.drivers.base import Device, DeviceInfo
from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError
from wphil.drivers.urls import flag, natural, non_negative, parse_options

log = logging.getLogger(__name__)

VERSION = "mock-1"
_OPTIONS = {"seed": natural, "board_seed": natural, "noise": non_negative, "drift": non_negative,
            "circuit": flag}


def with_drift(bench: Bench, volts_per_kquery: float) -> Bench:
    """The bench with its simulated drift rate replaced (URL option `drift=`)."""
    from dataclasses import replace
    return replace(bench, sim=replace(bench.sim, drift_volts_per_kquery=volts_per_kquery))


def _circuit_board(bench: Bench, opts: dict[str, Any]) -> BoardInstance:
    """The abstract model of the circuit board spice:// simulates for the same board_seed."""
    from wphil.drivers.circuit import CircuitParts, has_circuit
    from wphil.drivers.circuit_model import abstract_board, trimmed

    if not has_circuit(bench):
        raise ConfigError(f"mock://?circuit=1: bench {bench.source} has no [circuit] table")
    if bench.is_recurrent:
        raise ConfigError(f"mock://?circuit=1: bench {bench.source} is recurrent: the abstract "
                          "model of a board covers feed-forward circuits only (use spice://)")
    seed = opts.get("board_seed", bench.sim.board_seed)
    converters = BoardInstance.draw(bench, seed)
    return abstract_board(bench, trimmed(bench, CircuitParts.draw(bench, seed), converters),
                          converters)


class MockDevice(Device):
    """A simulated bench: same interface, same converter units as a real Pico."""

    def __init__(self, url: str, bench: Bench) -> None:
        super().__init__(url, bench)
        opts = self.parse_url(url)
        if "drift" in opts:
            bench = with_drift(bench, opts["drift"])
            self.bench = bench
        self.network = AnalogNetwork(bench, board_seed=opts.get("board_seed"),
                                     noise_seed=opts.get("seed"),
                                     read_noise_volts=opts.get("noise"),
                                     board=_circuit_board(bench, opts) if opts.get("circuit")
                                     else None)
        self._channel_codes = np.full(bench.dac_channels, bench.safe_code, dtype=np.int64)
        self._hold_fixed()
        self._last_inputs: np.ndarray | None = None
        self._state: np.ndarray | None = None      # recurrent benches: the circuit's state
        log.info("mock device %s: bench %s (%s profile)", url, bench.name, bench.profile)

    @classmethod
    def parse_url(cls, url: str) -> dict[str, Any]:
        return parse_options(url, _OPTIONS, scheme="mock")

    def _info(self) -> DeviceInfo:
        b = self.bench
        return DeviceInfo(
            backend="mock", url=self.url, firmware=VERSION, protocol=None,
            dac_channels=b.dac_channels, dac_bits=b.dac.bits, adc_channels=b.adc.channels,
            adc_bits=b.adc.bits, layers=b.topology.layers,
            capabilities=("evaluate", "perturb", "hidden") if b.wiring.hidden
            else ("evaluate", "perturb"),
            details={"bench": b.name, "profile": b.profile,
                     "read_noise_volts": self.network.read_noise_volts},
        )

    def rng_state(self) -> dict[str, Any]:
        return self.network.random_state()

    def restore_rng_state(self, state: dict[str, Any]) -> None:
        self.network.restore_random_state(state)

    def _evaluate(self, inputs: np.ndarray, codes: np.ndarray, hidden: bool) -> np.ndarray:
        self._last_inputs = inputs[-1]       # what the input DACs hold now (for probe_volts)
        return self.network.read(codes, inputs, hidden)

    def _evaluate_sequence(self, inputs: np.ndarray, codes: np.ndarray, hidden: bool,
                           step_us: int, resume: bool) -> np.ndarray:
        out, final = self.network.read_sequence(
            codes, inputs, step_us, hidden, self._state if resume else None)
        self._state = final[-1:]
        # in-process: every step is exactly on time
        self.sequence_timing = {"step_us": step_us, "period_us": float(step_us),
                                "overruns": 0, "max_late_us": 0}
        return out

    def _set_codes(self, codes: np.ndarray) -> None:
        self._channel_codes[list(self.bench.wiring.weights)] = codes

    def _set_channel(self, channel: int, code: int) -> None:
        if self._last_inputs is not None:
            self._channel_codes[list(self.bench.wiring.inputs)] = self._last_inputs
            self._last_inputs = None
        self._channel_codes[channel] = code

    def _safe(self) -> None:
        self._channel_codes[:] = self.bench.safe_code
        self._hold_fixed()
        self._last_inputs = None

    def _hold_fixed(self) -> None:
        for channel, code in self.bench.fixed_channels.items():
            self._channel_codes[channel] = code

    def probe_volts(self, channel: int) -> float:
        """What a voltmeter on DAC `channel` would read now (for simulated instruments)."""
        if self._last_inputs is not None:
            self._channel_codes[list(self.bench.wiring.inputs)] = self._last_inputs
            self._last_inputs = None
        return self.network.channel_volts(channel, int(self._channel_codes[channel]))
