"""The `Device` interface every backend implements, and the work they share.

Everything that crosses this interface is an integer in converter units: DAC codes for
weights and inputs, ADC codes for outputs. A device is configured from a bench file and
holds one set of weight codes; it is asked for many forward passes at once, either a
batch of weight vectors or a base vector plus sparse perturbations, times a batch of
input patterns. One query is one forward pass of one input pattern.

Backends fill the hooks `_info`, `_evaluate` (and optionally `_evaluate_perturbed`,
`_safe`, `_close`); the base class validates shapes and limits and counts queries.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError, DeviceError

log = logging.getLogger(__name__)

#: One perturbation: (weight index, code delta) pairs added to the base codes.
Perturbation = Sequence[tuple[int, int]]


class LimitError(ConfigError):
    """A code outside the bench's safety limits (min_code..max_code)."""


@dataclass(frozen=True)
class DeviceInfo:
    """What a device is and can do. `details` holds backend-specific handshake fields."""

    backend: str
    url: str
    firmware: str
    protocol: int | None
    dac_channels: int
    dac_bits: int
    adc_channels: int
    adc_bits: int
    layers: tuple[int, ...]
    capabilities: tuple[str, ...]
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["layers"] = list(self.layers)
        out["capabilities"] = list(self.capabilities)
        return out


class Device(ABC):
    """An analog network reached through converters. Use as a context manager."""

    #: whether the backend can run the perturbation loop itself (`train_onchip`)
    onchip: bool = False

    def __init__(self, url: str, bench: Bench) -> None:
        self.url = url
        self.bench = bench
        self.queries = 0
        #: readout channels converted: per query, the outputs, plus the hidden units when a
        #: caller asked for them (a multiplexed ADC converts each channel in turn)
        self.channel_reads = 0
        self._codes = np.full(bench.n_weights, bench.safe_code, dtype=np.int64)
        self._closed = False
        #: pacing of the last sequence request: step_us, period_us (achieved), overruns,
        #: max_late_us
        self.sequence_timing: dict[str, float] = {}

    @classmethod
    def parse_url(cls, url: str) -> dict[str, Any]:
        """The URL's options, checked; a bad one is a `ConfigError`. Backends override."""
        return {}

    @classmethod
    def check_bench(cls, bench: Bench, onchip: bool = False) -> None:
        """Refuse (`ConfigError`) a bench this backend cannot drive, before it is opened."""

    # -- public API -------------------------------------------------------------------
    def info(self) -> DeviceInfo:
        """Converter counts and bits, topology, firmware version and capabilities."""
        return self._info()

    @property
    def codes(self) -> np.ndarray:
        """The weight codes the device holds (a copy)."""
        return self._codes.copy()

    def set_codes(self, codes: np.ndarray) -> None:
        """Hold these weight codes (one per weight, in bench wiring order)."""
        codes = self._check_codes(np.asarray(codes), ndim=1)
        self._set_codes(codes)
        self._codes = codes

    def evaluate(self, inputs: np.ndarray, codes: np.ndarray | None = None,
                 perturbations: Sequence[Perturbation] | None = None,
                 hidden: bool = False) -> np.ndarray:
        """Forward passes; returns ADC codes shaped (weight vectors, patterns, readouts).

        `inputs`: input DAC codes, (patterns, n_inputs). `codes`: None (the held codes),
        one vector (n_weights,) or a batch (B, n_weights). `perturbations`: with a single
        base vector, row 0 of the result is the base and row k the base plus perturbation
        k. Readouts are the outputs, then the hidden units when `hidden` is true.
        """
        if self.bench.is_recurrent:
            raise ConfigError(f"{self.bench.source}: bench {self.bench.name} is recurrent: its "
                              "outputs depend on the input sequence; use evaluate_sequence")
        inputs = self._check_inputs(inputs)
        if hidden and not self.bench.wiring.hidden:
            raise ConfigError(f"{self.bench.source}: [wiring] hidden is empty: "
                              "this bench cannot read its hidden units")
        base = self._codes if codes is None else self._check_codes(np.asarray(codes), ndim=None)
        if perturbations is not None:
            if base.ndim != 1:
                raise ValueError("perturbations need one base code vector, not a batch")
            perturbations = self._check_perturbations(base, perturbations)
            out = self._evaluate_perturbed(inputs, base, perturbations, hidden)
        else:
            out = self._evaluate(inputs, np.atleast_2d(base), hidden)
        self.queries += out.shape[0] * out.shape[1]
        self.channel_reads += out.size
        return out

    def evaluate_sequence(self, inputs: np.ndarray, codes: np.ndarray | None = None,
                          perturbations: Sequence[Perturbation] | None = None,
                          hidden: bool = False, step_us: int | None = None,
                          resume: bool = False) -> np.ndarray:
        """Replay an input sequence on a recurrent bench; ADC codes (rows, steps, readouts).

        `inputs`: input DAC codes per step, (steps, n_inputs), held through each step of
        `step_us` (default: the bench's [recurrent] step_us); the readouts are sampled at
        the end of each step. `codes` and `perturbations` give the rows as for `evaluate`:
        every row replays the whole sequence from the reset state (capacitors shorted),
        unless `resume` (one weight vector only) goes on from where the last one ended.
        One query per sampled step. The pacing the device achieved is in `sequence_timing`.
        """
        bench = self.bench
        if not bench.is_recurrent:
            raise ConfigError(f"{bench.source}: bench {bench.name} is feed-forward: "
                              "sequences need a recurrent bench ([recurrent] tau_us)")
        inputs = self._check_inputs(inputs)
        step_us = bench.recurrent.step_us if step_us is None else int(step_us)
        if not 1 <= step_us <= 10_000_000:
            raise ConfigError(f"step_us {step_us} is out of range: must be in 1..10000000")
        if hidden and not bench.wiring.hidden:
            raise ConfigError(f"{bench.source}: [wiring] hidden is empty: "
                              "this bench cannot read its hidden units")
        base = self._codes if codes is None else self._check_codes(np.asarray(codes), ndim=None)
        if resume and (perturbations or base.ndim == 2 and len(base) > 1):
            raise ValueError("resume continues one weight vector's sequence, not a batch")
        if perturbations is not None:
            if base.ndim != 1:
                raise ValueError("perturbations need one base code vector, not a batch")
            perturbations = self._check_perturbations(base, perturbations)
            out = self._evaluate_sequence_perturbed(inputs, base, perturbations, hidden, step_us)
        else:
            out = self._evaluate_sequence(inputs, np.atleast_2d(base), hidden, step_us, resume)
        self.queries += out.shape[0] * out.shape[1]
        self.channel_reads += out.size
        return out

    def stats(self) -> dict[str, Any]:
        """Counters for the run summary: queries, and what the transport went through."""
        return {"queries": self.queries, "channel_reads": self.channel_reads}

    def set_channel(self, channel: int, code: int) -> None:
        """Drive one raw DAC channel (any of the bench's channels, e.g. for calibration)."""
        if not 0 <= channel < self.bench.dac_channels:
            raise ValueError(f"DAC channel {channel} does not exist: "
                             f"bench has channels 0..{self.bench.dac_channels - 1}")
        fixed = self.bench.fixed_channels
        if channel in fixed:
            raise ConfigError(f"DAC channel {channel} is fixed at code {fixed[channel]} by the "
                              f"circuit ({self.bench.source}: [wiring] fixed); it is never changed")
        self._check_range(np.array([code]), f"code for DAC channel {channel}")
        self._set_channel(int(channel), int(code))

    def safe(self) -> None:
        """Put every DAC at the bench's safe code (fixed channels keep theirs)."""
        self._safe()
        self._codes = np.full(self.bench.n_weights, self.bench.safe_code, dtype=np.int64)

    def rng_state(self) -> dict[str, Any] | None:
        """The device's own random state (simulated read noise and drift), JSON-able, for a
        checkpoint, so a resumed run continues exactly; None where it cannot be saved (real
        hardware, whose noise is physics; the firmware's simulated board)."""
        return None

    def restore_rng_state(self, state: dict[str, Any]) -> None:
        """Continue from what `rng_state` returned (a ConfigError if it does not fit)."""

    def train_onchip(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Run the perturbation loop on the device itself (capability `onchip`)."""
        raise DeviceError(f"{self.info().backend} device at {self.url} cannot train on-chip")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._close()
        finally:
            log.debug("closed %s after %d queries", self.url, self.queries)

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- hooks ------------------------------------------------------------------------
    @abstractmethod
    def _info(self) -> DeviceInfo: ...

    @abstractmethod
    def _evaluate(self, inputs: np.ndarray, codes: np.ndarray, hidden: bool) -> np.ndarray:
        """ADC codes (B, P, readouts) for weight codes (B, n_w) and input codes (P, n_in)."""

    def _evaluate_perturbed(self, inputs: np.ndarray, base: np.ndarray,
                            perturbations: Sequence[Perturbation], hidden: bool) -> np.ndarray:
        return self._evaluate(inputs, dense_perturbations(base, perturbations), hidden)

    def _evaluate_sequence(self, inputs: np.ndarray, codes: np.ndarray, hidden: bool,
                           step_us: int, resume: bool) -> np.ndarray:
        """ADC codes (B, T, readouts) of a sequence (T, n_in) for weight codes (B, n_w)."""
        raise DeviceError(f"{self.url} cannot replay sequences")

    def _evaluate_sequence_perturbed(self, inputs: np.ndarray, base: np.ndarray,
                                     perturbations: Sequence[Perturbation], hidden: bool,
                                     step_us: int) -> np.ndarray:
        return self._evaluate_sequence(inputs, dense_perturbations(base, perturbations), hidden,
                                       step_us, False)

    def _set_codes(self, codes: np.ndarray) -> None:
        """Backends that hold state on the hardware write it here."""

    def _set_channel(self, channel: int, code: int) -> None:
        raise DeviceError(f"{self.url} cannot drive raw DAC channels")

    def _safe(self) -> None:
        """Backends with real DACs drive them to the safe code here."""

    def _close(self) -> None:
        """Release ports, processes, files."""

    # -- validation -------------------------------------------------------------------
    def _check_codes(self, codes: np.ndarray, ndim: int | None) -> np.ndarray:
        n_w = self.bench.n_weights
        if codes.shape[-1:] != (n_w,) or (ndim is not None and codes.ndim != ndim) or codes.ndim > 2:
            raise ConfigError(f"weight codes must have shape ({n_w},) or (B, {n_w}), "
                             f"got {codes.shape}")
        self._check_range(codes, "weight code")
        return codes.astype(np.int64)

    def _check_range(self, codes: np.ndarray, what: str) -> None:
        lo, hi = self.bench.limits.min_code, self.bench.max_code
        if codes.size and (codes.min() < lo or codes.max() > hi):
            bad = codes[(codes < lo) | (codes > hi)].flat[0]
            raise LimitError(f"{what} {bad} is outside the bench limits {lo}..{hi}")

    def _check_inputs(self, inputs: np.ndarray) -> np.ndarray:
        inputs = np.asarray(inputs)
        n_in = self.bench.n_inputs
        if inputs.ndim != 2 or inputs.shape[1] != n_in:
            raise ConfigError(f"input codes must have shape (P, {n_in}), got {inputs.shape}")
        self._check_range(inputs, "input code")
        return inputs.astype(np.int64)

    def _check_perturbations(self, base: np.ndarray,
                             perturbations: Sequence[Perturbation]) -> list[list[tuple[int, int]]]:
        n_w = self.bench.n_weights
        checked = []
        for pert in perturbations:
            pairs = [(int(k), int(d)) for k, d in pert]
            if any(not 0 <= k < n_w for k, _ in pairs):
                raise ValueError(f"perturbation names a weight outside 0..{n_w - 1}: {pairs}")
            if len({k for k, _ in pairs}) != len(pairs):
                # the protocol refuses it too (PROTOCOL.md): summed or last-wins would differ
                raise ValueError(f"perturbation names a weight twice: {pairs}")
            checked.append(pairs)
        self._check_range(dense_perturbations(base, checked), "perturbed weight code")
        return checked


def dense_perturbations(base: np.ndarray, perturbations: Sequence[Perturbation]) -> np.ndarray:
    """(1 + K, n_w) codes: the base, then the base plus each sparse perturbation."""
    dense = np.repeat(base[None, :], len(perturbations) + 1, axis=0)
    for row, pert in enumerate(perturbations, start=1):
        for k, delta in pert:
            dense[row, k] += delta
    return dense
