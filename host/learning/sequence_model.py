"""The ideal model of a recurrent bench, and backpropagation through time (BPTT) for it.

The network its schematic promises (nominal weights, vsat and time constants, no
converter effects), integrated exactly as the simulated circuit is (RK4 substeps between
samples, wphil.drivers.dynamics), from the reset state. The gradient of the mean squared
error over the scored steps is taken by BPTT through every RK4 stage: the `bp` and
`offline` baselines on recurrent benches.
"""

from __future__ import annotations

import numpy as np

from wphil.drivers.bench import Bench
from wphil.drivers.dynamics import Wiring, substeps


class SequenceModel:
    """Forward pass and exact BPTT gradient of a recurrent bench's ideal model."""

    def __init__(self, bench: Bench, step_us: float) -> None:
        self.wiring = Wiring(bench)
        n = bench.n_neurons
        self.vsat = bench.topology.vsat
        self.rate = 1.0 / np.array(bench.recurrent.tau_us)
        self.step_us = step_us
        self.n_sub = substeps(step_us, min(bench.recurrent.tau_us))
        self.h = step_us / self.n_sub
        self.n_out = bench.n_outputs
        self.outputs = slice(n - self.n_out, n)

    def _slope(self, coupling, drive, a):
        th = np.tanh((a @ coupling.T + drive) / self.vsat)
        return (self.vsat * th - a) * self.rate, th

    def forward(self, weights: np.ndarray, signals: np.ndarray, keep: bool = False):
        """Output volts (S, T, n_out) for input volts (S, T, n_in); with `keep`, also the
        stage states for BPTT."""
        coupling, in_w, bias = (m[0] for m in self.wiring.matrices(weights[None, :]))
        n_seq, steps = signals.shape[:2]
        a = np.zeros((n_seq, self.wiring.n_neurons))
        out, tape, h = np.empty((n_seq, steps, self.n_out)), [], self.h
        for t in range(steps):
            drive = bias + signals[:, t] @ in_w.T
            for _ in range(self.n_sub):
                x1 = a
                k1, t1 = self._slope(coupling, drive, x1)
                x2 = a + 0.5 * h * k1
                k2, t2 = self._slope(coupling, drive, x2)
                x3 = a + 0.5 * h * k2
                k3, t3 = self._slope(coupling, drive, x3)
                x4 = a + h * k3
                k4, t4 = self._slope(coupling, drive, x4)
                if keep:
                    tape.append((t, (x1, x2, x3, x4), (t1, t2, t3, t4)))
                a = a + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
            out[:, t] = a[:, self.outputs]
        return (out, tape) if keep else out

    def gradient(self, weights: np.ndarray, signals: np.ndarray, targets: np.ndarray,
                 scored: np.ndarray) -> tuple[float, np.ndarray]:
        """(loss, dloss/dweights): loss = mean over sequences, scored steps and outputs."""
        coupling, in_w, _ = (m[0] for m in self.wiring.matrices(weights[None, :]))
        out, tape = self.forward(weights, signals, keep=True)
        diff = (out - targets) * scored[None, :, None]
        count = diff.shape[0] * scored.sum() * diff.shape[2]
        loss = float(np.sum(diff ** 2) / count)
        g_out = 2 * diff / count
        n = self.wiring.n_neurons
        g_a = np.zeros((signals.shape[0], n))
        g_c, g_in, g_drive_total = np.zeros((n, n)), np.zeros(in_w.shape), np.zeros(n)
        h, last_t = self.h, None
        for t, xs, ths in reversed(tape):
            if t != last_t:
                g_a[:, self.outputs] += g_out[:, t]
                last_t = t
            g_drive = np.zeros_like(g_a)
            g_x = [None] * 4
            g_k = [h / 6.0 * g_a, h / 3.0 * g_a, h / 3.0 * g_a, h / 6.0 * g_a]
            for i in (3, 2, 1, 0):
                g_net = g_k[i] * self.rate * (1 - ths[i] ** 2)      # through tanh, per unit
                g_x[i] = g_net @ coupling - g_k[i] * self.rate
                g_c += g_net.T @ xs[i]
                g_drive += g_net
                if i:
                    g_k[i - 1] = g_k[i - 1] + (h if i == 3 else 0.5 * h) * g_x[i]
            g_a = g_a + sum(g_x)
            g_drive_total += g_drive.sum(axis=0)
            g_in += g_drive.T @ signals[:, t]
        w = self.wiring
        return loss, w.coupling @ g_c.ravel() + w.inputs @ g_in.ravel() + w.bias @ g_drive_total
