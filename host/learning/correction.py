"""The twin's correction: what the fit may learn beyond the parametric model's equation.

`wphil.learning.model.Mismatch` is the equation of the numpy physics (per-weight gain and
offset, per-neuron vsat, per-output offset). A real board (or `spice://`, or mock://'s
`heldout` profile) has more: converter offsets on the inputs and the hidden readouts, a
neuron whose saturation is not tanh (a diode limiter, asymmetric rails), multipliers that
compress their signal input (the AD633's Y nonlinearity). The correction adds, learned
from the same probe queries as the rest of the fit:

- `signal_offset`: volts added to each multiplier's signal input (the AD633's Y input
  offset, and for the first layer the input DAC's offset and the REF1024 error); it acts
  as w * offset, which no per-weight gain or offset can express (bias weights: none, their
  gain holds it);
- `read_offset`: volts added to each hidden readout (its ADC channel's offset);
- per neuron, a transfer curve a = vsat * (tanh(u) + sum_k alpha_k psi_k(u)), u = net / vsat,
  psi_k(u) = tanh(u / s_k)^p_k: odd (p = 1) and even (p = 2, asymmetric rails) terms at
  several scales, and asinh terms (a diode limiter keeps growing logarithmically past its
  knee); all zero at u = 0 (the bias weight's offset holds the neuron's input offset);
- per source signal (inputs and hidden units), a cubic compression s (1 - c (s / vsat)^2)
  of what the next layer's multipliers see (not of what the readout reads).

The capacity (how many psi_k) is a `Level`; `wphil.learning.selection` picks the level by
held-out probe error. Everything is differentiable: `TwinModel` backpropagates through it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wphil.drivers.bench import Bench
from wphil.learning.model import MIN_SLOPE, IdealModel, Mismatch

#: the transfer curve's basis, in order of capacity: (kind, scale s, power p), tanh(u / s)^p,
#: and the diode limiter's logarithmic growth beyond its knee, asinh(u) (odd) and
#: asinh(u) tanh(u) (even: the two diode strings differ)
BASIS = (("tanh", 1.0, 2), ("asinh", 1.0, 1), ("tanh", 2.0, 1), ("tanh", 2.0, 2),
         ("tanh", 0.5, 1), ("tanh", 0.5, 2), ("asinh", 1.0, 2), ("tanh", 3.0, 1),
         ("tanh", 3.0, 2), ("tanh", 0.7, 1), ("tanh", 0.7, 2))


@dataclass(frozen=True)
class Level:
    """One candidate model: its name, converter offsets on or off, curve terms, compression."""

    name: str
    offsets: bool
    terms: int
    compression: bool


#: the candidates, simplest first: the plain parametric model, plus converter offsets, plus
#: transfer curves of growing capacity with the multipliers' compression
LEVELS = (Level("plain", False, 0, False), Level("offsets", True, 0, False),
          Level("curves-3", True, 3, True),
          Level("curves-7", True, 7, True), Level("curves-11", True, 11, True))
LEVEL_NAMES = tuple(level.name for level in LEVELS)


def level_named(name: str) -> Level:
    return LEVELS[LEVEL_NAMES.index(name)]


@dataclass(frozen=True)
class Correction:
    signal_offset: np.ndarray  # (n_w,) volts (bias weights' unused)
    read_offset: np.ndarray   # (n_hidden_readouts,) volts
    alpha: np.ndarray         # (n_neurons, terms) transfer-curve coefficients
    compression: np.ndarray   # (n_sources,) inputs, then hidden neurons

    @classmethod
    def none(cls, bench: Bench, terms: int = 0) -> Correction:
        n_src = bench.n_inputs + sum(bench.topology.layers[1:-1])
        return cls(np.zeros(bench.n_weights), np.zeros(len(bench.wiring.hidden)),
                   np.zeros((sum(bench.topology.layers[1:]), terms)), np.zeros(n_src))

    def vector(self) -> np.ndarray:
        return np.concatenate([self.signal_offset, self.read_offset, self.alpha.ravel(),
                               self.compression])

    @classmethod
    def from_vector(cls, theta: np.ndarray, bench: Bench, terms: int) -> Correction:
        like = cls.none(bench, terms)
        sizes = np.cumsum([like.signal_offset.size, like.read_offset.size, like.alpha.size])
        parts = np.split(np.asarray(theta, dtype=float), sizes)
        return cls(parts[0], parts[1], parts[2].reshape(like.alpha.shape), parts[3])


def transfer_basis(u: np.ndarray, terms: int, slopes: bool) -> list[np.ndarray]:
    """The first `terms` basis functions at u (or their derivatives), tanh(u) first."""
    tanh = {scale: np.tanh(u / scale) for scale in {b[1] for b in BASIS[:terms]} | {1.0}}
    out = [1 - tanh[1.0] ** 2 if slopes else tanh[1.0]]
    if any(kind == "asinh" for kind, _, _ in BASIS[:terms]):
        asinh, d_asinh = np.arcsinh(u), 1 / np.sqrt(1 + u * u)
    for kind, scale, power in BASIS[:terms]:
        t = tanh[scale]
        if kind == "asinh" and power == 1:
            out.append(d_asinh if slopes else asinh)
        elif kind == "asinh":
            out.append(d_asinh * t + asinh * (1 - t * t) if slopes else asinh * t)
        elif power == 1:
            out.append((1 - t * t) / scale if slopes else t)
        else:
            out.append(2 * t * (1 - t * t) / scale if slopes else t * t)
    return out


def transfer(u: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """tanh(u) + sum_k alpha[..., k] psi_k(u); alpha broadcasts against u with a last axis."""
    return combine_basis(transfer_basis(u, alpha.shape[-1], False), alpha)


def transfer_slope(u: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """d transfer / du."""
    return combine_basis(transfer_basis(u, alpha.shape[-1], True), alpha)


def combine_basis(basis: list[np.ndarray], alpha: np.ndarray) -> np.ndarray:
    """basis[0] + sum_k alpha[..., k] basis[k + 1]: a transfer curve from its basis."""
    out = basis[0].copy()
    for k, psi in enumerate(basis[1:]):
        out += alpha[..., k] * psi
    return out


def compress(s: np.ndarray, c: np.ndarray, vsat: float) -> np.ndarray:
    return s * (1 - c * (s / vsat) ** 2)


def compress_slope(s: np.ndarray, c: np.ndarray, vsat: float) -> np.ndarray:
    return 1 - 3 * c * (s / vsat) ** 2


def readouts(bench: Bench, m: Mismatch, corr: Correction, weights: np.ndarray,
             signals: np.ndarray, hidden: bool) -> np.ndarray:
    """Readouts (M, K, P, reads) under M parameter sets (every array of `m` and `corr` with a
    leading axis M) for K probe weight vectors (K, n_w): outputs, then hidden units. The
    input signals: (P, n_in) for every probe, or (K, P, n_in), each probe's own patterns."""
    vnom = bench.topology.vsat
    effective = weights[None] * m.gain[:, None] + m.offset[:, None]          # (M, K, n_w)
    act = np.broadcast_to(signals, (*effective.shape[:2], *signals.shape[-2:]))  # (M, K, P, n_in)
    layers, start, neuron, source = [], 0, 0, 0
    for units, fan_in in bench.layer_shapes:
        c = corr.compression[:, None, None, source:source + fan_in - 1]
        x = compress(act, c, vnom)
        w = effective[..., start:start + units * fan_in].reshape(*effective.shape[:2], units,
                                                                 fan_in)
        so = corr.signal_offset[:, None, start:start + units * fan_in].reshape(
            len(w), 1, units, fan_in)[..., :-1]
        const = bench.topology.bias_volts * w[..., -1] + (w[..., :-1] * so).sum(-1)
        net = x @ np.swapaxes(w[..., :-1], -1, -2) + const[..., None, :]
        v = m.vsat[:, None, None, neuron:neuron + units]
        act = v * transfer(net / v, corr.alpha[:, None, None, neuron:neuron + units, :])
        layers.append(act)
        start, neuron, source = start + units * fan_in, neuron + units, source + fan_in - 1
    out = [layers[-1] + m.out_offset[:, None, None, :]]
    if hidden:
        out.append(np.concatenate(layers[:-1], axis=-1) + corr.read_offset[:, None, None, :])
    return np.concatenate(out, axis=-1)


class TwinModel(IdealModel):
    """The fitted model with its correction: forward pass and exact backward pass."""

    def __init__(self, bench: Bench, mismatch: Mismatch, correction: Correction) -> None:
        super().__init__(bench, mismatch)
        self.bench, self.correction = bench, correction
        self.vnom = bench.topology.vsat
        n_units = [u for u, _ in self.shapes]
        self.alphas = np.split(correction.alpha, np.cumsum(n_units)[:-1])
        self.comps = np.split(correction.compression, np.cumsum([f - 1 for _, f in self.shapes])[:-1])
        self.offsets = [so[:, :-1] for so in self._layers(correction.signal_offset)]

    def _net(self, i: int, w: np.ndarray, source: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(compressed source signals, net) of layer i."""
        x = compress(source, self.comps[i], self.vnom)
        const = self.bias * w[:, -1] + (w[:, :-1] * self.offsets[i]).sum(axis=1)
        return x, x @ w[:, :-1].T + const

    def forward(self, weights: np.ndarray, signals: np.ndarray) -> list[np.ndarray]:
        acts = [signals]
        for i, w in enumerate(self._layers(self._effective(weights))):
            _, net = self._net(i, w, acts[-1])
            acts.append(self.vsats[i] * transfer(net / self.vsats[i], self.alphas[i]))
        acts[-1] = acts[-1] + self.mismatch.out_offset
        return acts

    def hidden_from_readouts(self, volts: np.ndarray) -> np.ndarray:
        """Hidden activations (P, units) from their readouts: minus the readout offsets."""
        return volts - self.correction.read_offset

    def backward(self, weights: np.ndarray, acts: list[np.ndarray], targets: np.ndarray,
                 measured: bool = False) -> tuple[float, np.ndarray]:
        """(loss, dloss/dweights) at activations `acts` (the model's or measured ones): each
        layer's slope at the net its (given) inputs make through the fitted model."""
        layers = self._layers(self._effective(weights))
        diff = acts[-1] - targets
        delta = 2 * diff / diff.size
        grads = []
        for i in range(len(layers) - 1, -1, -1):
            x, net = self._net(i, layers[i], acts[i])
            slope = transfer_slope(net / self.vsats[i], self.alphas[i])
            delta = delta * (np.maximum(slope, MIN_SLOPE) if measured else slope)
            total = delta.sum(axis=0)[:, None]
            grads.append(np.concatenate([delta.T @ x + total * self.offsets[i], self.bias * total],
                                        axis=1).ravel())
            delta = (delta @ layers[i][:, :-1]) * compress_slope(acts[i], self.comps[i], self.vnom)
        return float(np.mean(diff ** 2)), np.concatenate(grads[::-1]) * self.mismatch.gain


def model_from_record(bench: Bench, record: dict) -> IdealModel:
    """The fitted model a twin.json records (`FitReport.to_dict`; older files: plain)."""
    fitted = record["fitted"]
    mismatch = Mismatch(*(np.array(fitted[k], dtype=float)
                          for k in ("gain", "offset", "vsat", "out_offset")))
    level = record.get("model", "plain")
    if level == "plain":
        return IdealModel(bench, mismatch)
    terms = level_named(level).terms
    alpha = np.array(fitted["alpha"], dtype=float).reshape(-1, terms)
    return TwinModel(bench, mismatch, Correction(
        *(np.array(fitted[k], dtype=float) for k in ("signal_offset", "read_offset")), alpha,
        np.array(fitted["compression"], dtype=float)))
