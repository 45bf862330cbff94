"""The digital model of a bench: the network its schematic promises, optionally fitted.

Used for analytic gradients (to check measured ones), for the backpropagation baselines,
for physics-aware training (`pat`: the backward pass at measured activations) and for the
twin (`twin`: the same model with the board's fitted mismatch). Same layout and
calibration as the device: weights in bench wiring order, inputs in signal volts,
`a = vsat_i * tanh(net / vsat_i)`, outputs in volts. The ideal model has unit gains, zero
offsets and the nominal vsat; a fitted one (`Mismatch`) has per-weight gain and offset,
per-neuron vsat and per-output offset, the parameters of the numpy physics that a few
probe queries can identify.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wphil.drivers.bench import Bench

#: the lowest tanh slope used in backward passes at measured activations: a measured output
#: a little past the nominal rail (mismatch, offset) must not flip the gradient's sign
MIN_SLOPE = 0.01


@dataclass(frozen=True)
class Mismatch:
    """Per-weight gain and offset, per-neuron vsat, per-output offset (volts)."""

    gain: np.ndarray
    offset: np.ndarray
    vsat: np.ndarray
    out_offset: np.ndarray

    @classmethod
    def ideal(cls, bench: Bench) -> Mismatch:
        n_neurons = sum(bench.topology.layers[1:])
        return cls(np.ones(bench.n_weights), np.zeros(bench.n_weights),
                   np.full(n_neurons, bench.topology.vsat), np.zeros(bench.n_outputs))

    def vector(self) -> np.ndarray:
        return np.concatenate([self.gain, self.offset, self.vsat, self.out_offset])

    @classmethod
    def from_vector(cls, theta: np.ndarray, like: Mismatch) -> Mismatch:
        sizes = np.cumsum([len(like.gain), len(like.offset), len(like.vsat)])
        return cls(*np.split(np.asarray(theta, dtype=float), sizes))


class IdealModel:
    """Forward pass and exact gradient of the mean squared error, for float weights."""

    def __init__(self, bench: Bench, mismatch: Mismatch | None = None) -> None:
        self.shapes = bench.layer_shapes
        self.bias = bench.topology.bias_volts
        self.splits = np.cumsum([u * f for u, f in self.shapes])[:-1]
        self.set_mismatch(mismatch or Mismatch.ideal(bench))

    def set_mismatch(self, mismatch: Mismatch) -> None:
        self.mismatch = mismatch
        self.vsats = np.split(mismatch.vsat, np.cumsum([u for u, _ in self.shapes])[:-1])

    def _layers(self, weights: np.ndarray) -> list[np.ndarray]:
        return [w.reshape(units, fan_in) for w, (units, fan_in)
                in zip(np.split(weights, self.splits), self.shapes)]

    def _effective(self, weights: np.ndarray) -> np.ndarray:
        return weights * self.mismatch.gain + self.mismatch.offset

    def forward(self, weights: np.ndarray, signals: np.ndarray) -> list[np.ndarray]:
        """Activations (P, units) of every layer, the input signals (P, n_in) first."""
        acts = [signals]
        for w, vsat in zip(self._layers(self._effective(weights)), self.vsats):
            net = acts[-1] @ w[:, :-1].T + self.bias * w[:, -1]
            acts.append(vsat * np.tanh(net / vsat))
        acts[-1] = acts[-1] + self.mismatch.out_offset
        return acts

    def hidden_from_readouts(self, volts: np.ndarray) -> np.ndarray:
        """Hidden activations (P, units) from their readouts (the same here)."""
        return volts

    def loss(self, weights: np.ndarray, signals: np.ndarray, targets: np.ndarray) -> float:
        out = self.forward(weights, signals)[-1]
        return float(np.mean((out - targets) ** 2))

    def gradient(self, weights: np.ndarray, signals: np.ndarray,
                 targets: np.ndarray) -> tuple[float, np.ndarray]:
        """(loss, dloss/dweights) by backpropagation."""
        return self.backward(weights, self.forward(weights, signals), targets)

    def backward(self, weights: np.ndarray, acts: list[np.ndarray], targets: np.ndarray,
                 measured: bool = False) -> tuple[float, np.ndarray]:
        """(loss, dloss/dweights) backpropagated through this model at activations `acts`:
        the model's own, or (`measured`) ones read from a device, physics-aware training."""
        floor = MIN_SLOPE if measured else 0.0
        layers = self._layers(self._effective(weights))
        diff = acts[-1] - targets
        delta = 2 * diff / diff.size
        grads = []
        for i in range(len(layers) - 1, -1, -1):
            a_out = acts[i + 1] - (self.mismatch.out_offset if i == len(layers) - 1 else 0)
            slope = np.maximum(1 - (a_out / self.vsats[i]) ** 2, floor)
            delta = delta * slope                                  # through tanh
            g_w = delta.T @ acts[i]
            g_b = self.bias * delta.sum(axis=0)
            grads.append(np.concatenate([g_w, g_b[:, None]], axis=1).ravel())
            delta = delta @ layers[i][:, :-1]
        return float(np.mean(diff ** 2)), np.concatenate(grads[::-1]) * self.mismatch.gain
