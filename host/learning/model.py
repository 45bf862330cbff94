"""The ideal digital model of a bench: the network its schematic promises, no hardware effects.

Used for analytic gradients (to check measured ones) and for the backpropagation
baselines. Same layout and calibration as the device: weights in bench wiring order,
inputs in signal volts, `a = vsat * tanh(net / vsat)`, outputs in volts.
"""

from __future__ import annotations

import numpy as np

from wphil.drivers.bench import Bench


class IdealModel:
    """Forward pass and exact gradient of the mean squared error, for float weights."""

    def __init__(self, bench: Bench) -> None:
        self.shapes = bench.layer_shapes
        self.bias = bench.topology.bias_volts
        self.vsat = bench.topology.vsat
        self.splits = np.cumsum([u * f for u, f in self.shapes])[:-1]

    def _layers(self, weights: np.ndarray) -> list[np.ndarray]:
        return [w.reshape(units, fan_in) for w, (units, fan_in)
                in zip(np.split(weights, self.splits), self.shapes)]

    def forward(self, weights: np.ndarray, signals: np.ndarray) -> list[np.ndarray]:
        """Activations (P, units) of every layer, the input signals (P, n_in) first."""
        acts = [signals]
        for w in self._layers(weights):
            net = acts[-1] @ w[:, :-1].T + self.bias * w[:, -1]
            acts.append(self.vsat * np.tanh(net / self.vsat))
        return acts

    def loss(self, weights: np.ndarray, signals: np.ndarray, targets: np.ndarray) -> float:
        out = self.forward(weights, signals)[-1]
        return float(np.mean((out - targets) ** 2))

    def gradient(self, weights: np.ndarray, signals: np.ndarray,
                 targets: np.ndarray) -> tuple[float, np.ndarray]:
        """(loss, dloss/dweights) by backpropagation."""
        acts = self.forward(weights, signals)
        layers = self._layers(weights)
        diff = acts[-1] - targets
        delta = 2 * diff / diff.size
        grads = []
        for i in range(len(layers) - 1, -1, -1):
            a_out, a_in = acts[i + 1], acts[i]
            delta = delta * (1 - (a_out / self.vsat) ** 2)      # through tanh
            g_w = delta.T @ a_in
            g_b = self.bias * delta.sum(axis=0)
            grads.append(np.concatenate([g_w, g_b[:, None]], axis=1).ravel())
            delta = delta @ layers[i][:, :-1]
        return float(np.mean(diff ** 2)), np.concatenate(grads[::-1])
