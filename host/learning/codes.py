"""The bench's calibration: float weights and signals to and from converter codes.

Weights live in float on the host; the device only ever sees DAC codes. Nominally
`weight = weight_per_volt * (Vref * code / 2^bits - weight_zero_volts)`. When the bench has
measured DAC lines (`[dac_calibration]`, from `wphil calibrate`), a channel's
`V = volts_per_code * code + offset_volts` replaces `Vref * code / 2^bits`, for weights and
inputs alike: the host then asks for the volts it means. (The DMM sees only DAC volts, so
mismatch after the DAC, e.g. each weight's multiplier gain, stays for training to absorb.)
"""

from __future__ import annotations

import numpy as np

from wphil.drivers.bench import Bench


class CodeMap:
    """Maps weights, input features and output volts to and from codes for one bench."""

    def __init__(self, bench: Bench) -> None:
        cal, n_w = bench.calibration, bench.n_weights
        self.bench = bench
        self.dac_lsb_volts = bench.dac.vref / (1 << bench.dac.bits)
        # weight = slope * code + intercept (per weight channel)
        self.slope = np.full(n_w, cal.weight_per_volt * self.dac_lsb_volts)
        self.intercept = np.full(n_w, -cal.weight_per_volt * cal.weight_zero_volts)
        self.input_slope = np.full(bench.n_inputs, self.dac_lsb_volts)
        self.input_intercept = np.full(bench.n_inputs, -cal.input_zero_volts)
        self._apply_measured_lines()
        self.min_code, self.max_code = bench.limits.min_code, bench.max_code
        self.adc_scale = (1 << bench.adc.bits) / bench.adc.vref
        self.adc_mid = 1 << (bench.adc.bits - 1)

    def _apply_measured_lines(self) -> None:
        """Per channel, volts = a * code + b from the bench's [dac_calibration], if measured."""
        measured = self.bench.dac_calibration
        lines = dict(zip(measured.channels, zip(measured.volts_per_code, measured.offset_volts)))
        cal, wiring = self.bench.calibration, self.bench.wiring
        for k, ch in enumerate(wiring.weights):
            if ch in lines:
                a, b = lines[ch]
                self.slope[k] = cal.weight_per_volt * a
                self.intercept[k] = cal.weight_per_volt * (b - cal.weight_zero_volts)
        for i, ch in enumerate(wiring.inputs):
            if ch in lines:
                a, b = lines[ch]
                self.input_slope[i], self.input_intercept[i] = a, b - cal.input_zero_volts
        self.measured_channels = sorted(set(lines) & set(wiring.weights + wiring.inputs))

    @property
    def weight_lsb(self) -> np.ndarray:
        """Weight change of one DAC code, per weight."""
        return np.abs(self.slope)

    def weight_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lowest and highest weight the limits allow, per weight."""
        a = self.codes_to_weights(np.full_like(self.slope, self.min_code))
        b = self.codes_to_weights(np.full_like(self.slope, self.max_code))
        return np.minimum(a, b), np.maximum(a, b)

    def codes_to_weights(self, codes: np.ndarray) -> np.ndarray:
        return codes * self.slope + self.intercept

    def weights_to_codes(self, weights: np.ndarray, rounding: str = "round",
                         rng: np.random.Generator | None = None) -> np.ndarray:
        """Quantize weights to DAC codes within the limits: nearest, or stochastic rounding."""
        x = (np.asarray(weights, dtype=float) - self.intercept) / self.slope
        if rounding == "stochastic":
            if rng is None:
                raise ValueError("stochastic rounding needs an rng")
            codes = np.floor(x + rng.random(x.shape))
        elif rounding == "round":
            codes = np.rint(x)
        else:
            raise ValueError(f"rounding must be 'round' or 'stochastic', not {rounding!r}")
        return np.clip(codes, self.min_code, self.max_code).astype(np.int64)

    def perturbation_codes(self, pert: float) -> np.ndarray:
        """Code step per weight for a perturbation of `pert` weight units: at least 1 LSB."""
        return np.maximum(1, np.rint(pert / self.weight_lsb)).astype(np.int64)

    def inputs_to_codes(self, features: np.ndarray) -> np.ndarray:
        """Input DAC codes (P, n_in) for features in [0, 1] (mapped to calibration.input_volts)."""
        low, high = self.bench.calibration.input_volts
        volts = low + np.asarray(features, dtype=float) * (high - low)
        codes = np.rint((volts - self.input_intercept) / self.input_slope)
        return np.clip(codes, self.min_code, self.max_code).astype(np.int64)

    def input_volts(self, codes: np.ndarray) -> np.ndarray:
        """Nominal signal volts of input codes."""
        return codes * self.input_slope + self.input_intercept

    def adc_to_volts(self, adc_codes: np.ndarray) -> np.ndarray:
        """Output signal volts for ADC codes (mid-scale is 0 V)."""
        return (np.asarray(adc_codes, dtype=float) - self.adc_mid) / self.adc_scale
