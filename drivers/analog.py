"""The simulated analog network (numpy, vectorized): the physics model that
docs/explanation/physics.md explains.

    DAC:     V = (Vref * code / 2^bits + INL(code)) * (1 + gain_ch) + offset_ch
    weight:  w = weight_per_volt * (V - weight_zero_volts) * (1 + gain_k) + offset_k
    input:   u = V - input_zero_volts                       (signal volts)
    neuron:  a = vsat_i * tanh(net / vsat_i),  net = sum_j w_ij a_j + w_i0 * bias_volts + off_i
    ADC:     code = clip(round(a * 2^bits / Vref + mid + offset + drift + noise))

`firmware/sim` implements the same model in pure MicroPython; `BoardInstance` is the
drawn mismatch of one board, as plain lists, so both implementations share it exactly.
Profile `heldout` adds two effects outside this model, and outside every model the host
has (`multiplier_cubic`, `rail_asymmetry`; see wphil.drivers.profiles); they are off by
default and mock-only (the firmware's simulated board does not have them).
Mismatch is drawn from `board_seed` in a fixed order (every effect always draws, so
turning one effect on does not change another's values); noise and drift come from
`noise_seed`.
"""

from __future__ import annotations

import functools
import math
import statistics
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from wphil.drivers import dynamics, spread
from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError

#: DAC channels per MCP4728 chip: chip n holds channels 4n..4n+3 (they share its VREF)
MCP4728_CHANNELS = 4


@dataclass(frozen=True)
class BoardInstance:
    """One simulated board's mismatch: per DAC channel, per weight, per neuron, per ADC channel."""

    dac_gain: list[float]
    dac_offset: list[float]
    dac_inl_sign: list[float]
    weight_gain: list[float]
    weight_offset: list[float]
    vsat: list[float]
    adc_offset: list[float]
    neuron_offset: list[float]
    tau_gain: list[float]          # recurrent benches: each neuron's time-constant error

    @classmethod
    def draw(cls, bench: Bench, board_seed: int) -> BoardInstance:
        rng = np.random.Generator(np.random.PCG64(board_seed))
        sim, n_dac, n_w = bench.sim, bench.dac_channels, bench.n_weights
        n_neurons, n_adc = sum(bench.topology.layers[1:]), bench.adc.channels
        part = sim.part_spread        # the datasheet-bounded converter errors (drivers/spread.py)
        dac_gain = 1 + spread.draw(rng, sim.dac_gain_mismatch, n_dac, part)
        dac_offset = spread.draw(rng, sim.dac_offset_volts, n_dac, part)
        dac_inl_sign = spread.signs_or_fractions(rng, n_dac, part)
        board = cls(
            dac_gain=dac_gain.tolist(),
            dac_offset=dac_offset.tolist(),
            dac_inl_sign=dac_inl_sign.tolist(),
            weight_gain=(1 + sim.weight_gain_mismatch * rng.standard_normal(n_w)).tolist(),
            weight_offset=(sim.weight_offset * rng.standard_normal(n_w)).tolist(),
            vsat=(bench.topology.vsat * (1 + sim.vsat_mismatch * rng.standard_normal(n_neurons)))
            .tolist(),
            adc_offset=(sim.output_offset_volts * rng.standard_normal(n_adc)).tolist(),
            neuron_offset=(sim.neuron_offset_volts * rng.standard_normal(n_neurons)).tolist(),
            # drawn last: a feed-forward board is the same instance as before recurrence
            tau_gain=(1 + sim.tau_mismatch * rng.standard_normal(n_neurons)).tolist(),
        )
        # drawn after everything else, so boards without it keep their values: each MCP4728's
        # internal VREF (DS22187E p.4: 2.007..2.089 V) scales its four channels alike
        chips = -(-n_dac // MCP4728_CHANNELS)
        vref = 1 + spread.draw(rng, sim.dac_vref_mismatch, chips, part)
        if sim.dac_vref_mismatch > 0:
            board = replace(board, dac_gain=(dac_gain * np.repeat(vref, MCP4728_CHANNELS)[:n_dac])
                            .tolist())
        return board

    def to_dict(self) -> dict[str, list[float]]:
        return asdict(self)


@functools.cache
def normal_quantiles() -> np.ndarray:
    """The 65536 quantiles N^-1((k + 0.5) / 65536) of the standard normal distribution."""
    inv_cdf = statistics.NormalDist().inv_cdf
    return np.array([inv_cdf((k + 0.5) / 65536) for k in range(65536)])


class AnalogNetwork:
    """Forward passes of one simulated board, vectorized over weight vectors and patterns."""

    def __init__(self, bench: Bench, board_seed: int | None = None, noise_seed: int | None = None,
                 read_noise_volts: float | None = None, board: BoardInstance | None = None) -> None:
        self.bench = bench
        sim = bench.sim
        self.board = board or BoardInstance.draw(
            bench, sim.board_seed if board_seed is None else board_seed)
        self.noise = np.random.Generator(np.random.PCG64(
            sim.noise_seed if noise_seed is None else noise_seed))
        self.read_noise_volts = sim.read_noise_volts if read_noise_volts is None else read_noise_volts
        self._prepare()

    def _prepare(self) -> None:
        b, board, cal = self.bench, self.board, self.bench.calibration
        self.dac_full = float(1 << b.dac.bits)
        self.adc_full = (1 << b.adc.bits) - 1
        self.adc_scale = (1 << b.adc.bits) / b.adc.vref
        self.adc_mid = float(1 << (b.adc.bits - 1))
        gain, offset = np.array(board.dac_gain), np.array(board.dac_offset)
        w_ch, in_ch = np.array(b.wiring.weights), np.array(b.wiring.inputs, dtype=np.int64)
        # weight = A * V + C, with V the channel's ideal DAC volts (INL added before gain)
        wg = np.array(board.weight_gain) * cal.weight_per_volt
        self.w_slope = wg * gain[w_ch]
        self.w_const = wg * (offset[w_ch] - cal.weight_zero_volts) + np.array(board.weight_offset)
        self.in_gain, self.in_const = gain[in_ch], offset[in_ch] - cal.input_zero_volts
        self.inl_bow = np.sin(np.pi * np.arange(1 << b.dac.bits) / self.dac_full)
        self.w_inl = self._inl_table(w_ch)
        self.in_inl = self._inl_table(in_ch)
        self.stuck_w = np.isin(w_ch, b.sim.stuck_dac_channels)
        self.stuck_in = np.isin(in_ch, b.sim.stuck_dac_channels)
        self.any_stuck_w = bool(self.stuck_w.any())
        vsat = np.array(board.vsat)
        splits = np.cumsum(b.topology.layers[1:])[:-1]
        self.vsat = np.split(vsat, splits)
        readouts = list(b.wiring.outputs) + list(b.wiring.hidden)
        self.readout_offset = np.array(board.adc_offset)[readouts] * self.adc_scale
        self.drift = np.zeros(len(readouts))
        sizes = [units * fan_in for units, fan_in in b.layer_shapes]
        edges = [0, *np.cumsum(sizes).tolist()]
        self.w_slices = [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]
        self.dnl_lut = self._dnl_table()
        self._noise_buf = np.empty(0)
        self._wiring = None            # recurrent benches: built on the first sequence
        self._quantiles = normal_quantiles()
        self.noise_lsb = self.read_noise_volts * self.adc_scale / np.sqrt(b.adc.oversample)
        self._fold_layers()

    def _dnl_table(self) -> np.ndarray | None:
        """RP2040 ADC DNL: the codes at 512/1536/2560/3584 (of 4096) are wide, so levels
        within `dnl_spike_lsb` of them read as them. A lookup table over all codes."""
        width = self.bench.sim.dnl_spike_lsb
        if width <= 0:
            return None
        lut = np.arange(self.adc_full + 1)
        spike = 1 << max(self.bench.adc.bits - 3, 0)
        for centre in (spike, 3 * spike, 5 * spike, 7 * spike):
            lut[np.abs(lut - centre) <= width] = centre
        return lut

    def _inl_table(self, channels: np.ndarray) -> np.ndarray | None:
        """Per-channel INL amplitude (V) of the bow sin(pi * code / 2^bits)."""
        amp = self.bench.sim.dac_inl_lsb
        if amp == 0:
            return None
        signs = np.array(self.board.dac_inl_sign)[channels]
        return amp * self.bench.dac.vref / self.dac_full * signs

    def _dac_volts(self, codes: np.ndarray, inl: np.ndarray | None, stuck: np.ndarray) -> np.ndarray:
        if stuck.any():
            codes = np.where(stuck, self.bench.sim.stuck_code, codes)
        volts = codes * (self.bench.dac.vref / self.dac_full)
        if inl is not None:
            volts += inl * self.inl_bow[codes]
        return volts

    def channel_volts(self, channel: int, code: int) -> float:
        """The voltage DAC `channel` puts out for `code` (gain, offset, INL, stuck)."""
        ch = np.array([channel])
        stuck = np.isin(ch, self.bench.sim.stuck_dac_channels)
        volts = self._dac_volts(np.array([code]), self._inl_table(ch), stuck)
        return float(volts[0] * self.board.dac_gain[channel] + self.board.dac_offset[channel])

    def weights(self, codes: np.ndarray) -> np.ndarray:
        """Effective weights (B, n_w) the circuit realises for weight codes (B, n_w)."""
        return self._dac_volts(codes, self.w_inl, self.stuck_w) * self.w_slope + self.w_const

    def inputs(self, input_codes: np.ndarray) -> np.ndarray:
        """Input signal volts (P, n_in) for input codes (P, n_in)."""
        return self._dac_volts(input_codes, self.in_inl, self.stuck_in) * self.in_gain + self.in_const

    def _fold_layers(self) -> None:
        """Fold the circuit's constants into per-weight affine maps, once.

        Layer l computes t_l = tanh(net / vsat_l) with net = sum_j w_ij vsat_j t_j + w_i0 bias:
        each weight is scaled by (vsat of its source, or bias volts) / vsat of its neuron,
        so a forward pass is only an affine map of the codes, matmuls, adds and tanh.
        """
        b, factors, prev = self.bench, [], None
        for (_, fan_in), vsat in zip(b.layer_shapes, self.vsat):
            source = np.ones(fan_in - 1) if prev is None else prev
            factors.append((np.append(source, b.topology.bias_volts)[None, :] / vsat[:, None]).ravel())
            prev = vsat
        factors.append(np.ones(len(b.recurrent.sources)))   # feedback weights: not folded
        factor = np.concatenate(factors)
        self.fw_slope = factor * self.w_slope * (b.dac.vref / self.dac_full)
        self.fw_inl = None if self.w_inl is None else factor * self.w_slope * self.w_inl
        self.fw_const = factor * self.w_const
        self.fw_const[self._bias_columns()] += (np.array(self.board.neuron_offset)
                                                / np.concatenate(self.vsat))
        self._signal_cache: tuple[bytes, np.ndarray] | None = None

    def _bias_columns(self) -> np.ndarray:
        """Index of each neuron's bias weight: where its input offset is added (net / vsat)."""
        return np.concatenate([np.arange(cols.start + fan_in - 1, cols.stop, fan_in) for
                               (_, fan_in), cols in zip(self.bench.layer_shapes, self.w_slices)])

    def _scaled_weights(self, codes: np.ndarray) -> np.ndarray:
        if self.any_stuck_w:
            codes = np.where(self.stuck_w, self.bench.sim.stuck_code, codes)
        w = codes * self.fw_slope
        w += self.fw_const
        if self.fw_inl is not None:
            w += self.fw_inl * self.inl_bow[codes]
        return w

    def _signal(self, input_codes: np.ndarray) -> np.ndarray:
        """Input volts transposed to (n_in, P); the last pattern set is cached (it rarely changes)."""
        key = input_codes.tobytes() + bytes(input_codes.shape)
        if self._signal_cache is None or self._signal_cache[0] != key:
            self._signal_cache = (key, np.ascontiguousarray(self.inputs(input_codes).T))
        return self._signal_cache[1]

    def _normalized(self, codes: np.ndarray, input_codes: np.ndarray) -> list[np.ndarray]:
        """t = tanh(net / vsat) of every non-input layer, laid out (B, units, P)."""
        weights = self._scaled_weights(np.atleast_2d(codes))
        signal, layers = self._signal(input_codes), []
        held_out = self.bench.sim.multiplier_cubic > 0 or self.bench.sim.rail_asymmetry > 0
        for (units, fan_in), cols in zip(self.bench.layer_shapes, self.w_slices):
            w = weights[:, cols].reshape(len(weights), units, fan_in)
            net = w[:, :, :-1] @ (self._compressed(signal) if held_out else signal)
            net += w[:, :, -1:]
            signal = self._saturate(net) if held_out else np.tanh(net, out=net)
            layers.append(signal)
        return layers

    def _compressed(self, signal: np.ndarray) -> np.ndarray:
        """Held-out multiplier nonlinearity: each product w * x acts as w * x (1 - k x^2),
        x normalized to its source's saturation (inputs: to the nominal vsat)."""
        k = self.bench.sim.multiplier_cubic
        x = signal / self.bench.topology.vsat if signal.ndim == 2 else signal
        return signal * (1 - k * x * x)

    def _saturate(self, net: np.ndarray) -> np.ndarray:
        """Held-out saturation, normalized: unit slope at 0, rails at +(1 + a) and -(1 - a)."""
        a = self.bench.sim.rail_asymmetry
        rail = np.where(net > 0, 1 + a, 1 - a)
        return rail * np.tanh(net / rail)

    def forward_volts(self, codes: np.ndarray, input_codes: np.ndarray) -> list[np.ndarray]:
        """Activations (volts) of every non-input layer, each (B, P, units)."""
        return [t.transpose(0, 2, 1) * vsat for t, vsat
                in zip(self._normalized(codes, input_codes), self.vsat)]

    def readout_levels(self, codes: np.ndarray, input_codes: np.ndarray) -> np.ndarray:
        """Noise-free ADC levels (before rounding) of the outputs, then the hidden units, for
        one weight vector and one pattern: what rp2040:// converts per sample, adding noise."""
        layers = self._normalized(np.asarray(codes)[None, :], np.asarray(input_codes)[None, :])
        x = np.concatenate([layers[-1][0, :, 0] * self.vsat[-1]]
                           + [t[0, :, 0] * v for t, v in zip(layers[:-1], self.vsat[:-1])])
        readouts = list(self.bench.wiring.outputs) + list(self.bench.wiring.hidden)
        offsets = np.array(self.board.adc_offset)[readouts]
        return (x[:len(readouts)] + offsets) * self.adc_scale + self.adc_mid

    def read(self, codes: np.ndarray, input_codes: np.ndarray, hidden: bool = False) -> np.ndarray:
        """ADC codes (B, P, readouts): outputs, then hidden units if `hidden`."""
        layers = self._normalized(codes, input_codes)
        x, gain = layers[-1], self.vsat[-1]
        if hidden:
            x = np.concatenate([layers[-1]] + layers[:-1], axis=1)
            gain = np.concatenate([self.vsat[-1]] + self.vsat[:-1])
        return self._convert(x, gain * self.adc_scale)

    def adc_codes(self, volts: np.ndarray) -> np.ndarray:
        """ADC codes (B, P, readouts) of signal volts (B, readouts, P) measured from mid-scale:
        offsets, drift, read noise, quantization, clipping and DNL (as `read` applies them)."""
        volts = np.array(volts, dtype=float)
        return self._convert(volts, np.full(volts.shape[1], self.adc_scale))

    def dac_volts(self, channels: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Volts DAC `channels` put out for `codes` (..., len(channels)): gain, offset, INL, stuck."""
        channels = np.asarray(channels)
        stuck = np.isin(channels, self.bench.sim.stuck_dac_channels)
        volts = self._dac_volts(np.asarray(codes), self._inl_table(channels), stuck)
        return volts * np.array(self.board.dac_gain)[channels] + np.array(self.board.dac_offset)[
            channels]

    def _convert(self, x: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """x (B, readouts, P) in units of `scale` (per readout) -> ADC codes (B, P, readouts)."""
        n_read = x.shape[1]
        self._advance_drift(x.shape[0] * x.shape[2])
        x *= scale[:, None]
        # + 0.5, then truncation below, rounds to the nearest code (x >= 0 after the clip)
        x += (self.adc_mid + 0.5 + self.readout_offset[:n_read] + self.drift[:n_read])[:, None]
        if self.noise_lsb > 0:
            x += self._gaussian(x.shape, self.noise_lsb)
        np.clip(x, 0, self.adc_full + 0.5, out=x)
        out = x.astype(np.int64)
        if self.dnl_lut is not None:
            out = self.dnl_lut[out]
        return out.transpose(0, 2, 1)

    def read_sequence(self, codes: np.ndarray, input_codes: np.ndarray, step_us: float,
                      hidden: bool = False, state: np.ndarray | None = None,
                      ) -> tuple[np.ndarray, np.ndarray]:
        """A recurrent bench replaying an input sequence (T, n_in) for each weight vector
        (B, n_w): ADC codes (B, T, readouts) sampled at the end of each step, and the
        final neuron state (B, N) (wphil.drivers.dynamics)."""
        wiring, vsat, tau, offset = self.dynamics_terms()
        volts = dynamics.trajectories(self.weights(np.atleast_2d(codes)), self.inputs(input_codes),
                                      wiring, vsat, tau, step_us, state, offset=offset)
        n_read = self.bench.n_outputs + (len(self.bench.wiring.hidden) if hidden else 0)
        x = volts[:, :, self._wiring.readout_order[:n_read]] * self.adc_scale
        self._advance_drift(x.shape[0] * x.shape[1])
        x += self.adc_mid + 0.5 + self.readout_offset[:n_read] + self.drift[:n_read]
        if self.noise_lsb > 0:
            x += self._gaussian(x.shape, self.noise_lsb)
        np.clip(x, 0, self.adc_full + 0.5, out=x)
        out = x.astype(np.int64)
        return (out if self.dnl_lut is None else self.dnl_lut[out]), volts[:, -1]

    def dynamics_terms(self) -> tuple[dynamics.Wiring, np.ndarray, np.ndarray, np.ndarray]:
        """A recurrent bench's circuit for wphil.drivers.dynamics: its wiring, and per neuron
        vsat, the time constant (us) and the input offset (volts), with this board's mismatch."""
        if self._wiring is None:
            self._wiring = dynamics.Wiring(self.bench)
        tau = np.array(self.bench.recurrent.tau_us) * np.array(self.board.tau_gain)
        return (self._wiring, np.concatenate(self.vsat), tau,
                np.array(self.board.neuron_offset))

    def random_state(self) -> dict[str, Any]:
        """The read-noise generator and the drift walk, JSON-able (for checkpoints)."""
        return {"noise": self.noise.bit_generator.state, "drift": self.drift.tolist()}

    def restore_random_state(self, state: dict[str, Any]) -> None:
        """Continue the noise and drift from `random_state()`."""
        try:
            drift = np.array(state["drift"], dtype=float)
            if drift.shape != self.drift.shape:
                raise ValueError(f"drift of {drift.shape} readouts, not {self.drift.shape}")
            self.noise.bit_generator.state = state["noise"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"the saved noise state does not fit this board ({exc})") from None
        self.drift = drift

    def _gaussian(self, shape: tuple[int, ...], sigma: float) -> np.ndarray:
        """sigma * N(0, 1) samples in a reused buffer.

        Drawn by inverse-CDF lookup: 16 random bits index a table of the 65536 normal
        quantiles (exact to 1/65536 in probability, tails clipped at 4.3 sigma, far below
        one ADC code of difference). Four times cheaper than numpy's ziggurat, and the
        noise is what dominates the cost of a small network (bench/bench_mock_speed.py).
        """
        size = math.prod(shape)
        if self._noise_buf.size < size:
            self._noise_buf = np.empty(size)
        buf = self._noise_buf[:size]
        bits = self.noise.bit_generator.random_raw((size + 3) // 4).view(np.uint16)[:size]
        np.take(self._quantiles, bits, out=buf, mode="clip")  # "clip": no bounds-check copy
        buf *= sigma
        return buf.reshape(shape)

    def _advance_drift(self, queries: int) -> None:
        rate = self.bench.sim.drift_volts_per_kquery
        if rate > 0:
            step = rate * self.adc_scale * np.sqrt(queries / 1000.0)
            self.drift += self._gaussian(self.drift.shape, step)
