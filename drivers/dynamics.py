"""Recurrent analog networks: the continuous-time dynamics between sample instants (numpy).

A recurrent bench ([recurrent] tau_us) makes every neuron an op-amp integrator with a
soft-saturating output stage:

    tau_i * da_i/dt = -a_i + vsat_i * tanh(net_i / vsat_i)
    net_i = sum_j w_ij a_j (previous layer, and feedback) + sum_j w_ij u_j (inputs) + w_i0 bias
            + off_i (the neuron's input offset, [sim] neuron_offset_volts)

A sequence is replayed step by step: the input DACs change at the start of a step and
hold (a DAC is a sample-and-hold), the circuit runs for one step period, the ADC samples
every readout at the end of the step. The capacitors are shorted (a = 0) before each
sequence. Between samples the state is integrated by classical Runge-Kutta (RK4) with
`SUBSTEPS_PER_TAU` substeps per shortest time constant: inside RK4's stability region
for any loop gain the weight range allows, and within a tenth of an ADC code
(tests/test_recurrent.py checks it against a 64x finer integration). Every non-ideality of
the feed-forward model applies: the weights are those the DACs, mismatch, INL and stuck
channels realise, vsat and tau per neuron carry the board's mismatch, and the samples go
through the same ADC (offset, drift, noise, DNL). `firmware/sim/network.py` is the twin.
"""

from __future__ import annotations

import math

import numpy as np

from wphil.drivers.bench import Bench

#: RK4 substeps per shortest time constant (also in firmware/sim/network.py)
SUBSTEPS_PER_TAU = 8


def readout_order(bench: Bench) -> list[int]:
    """Neurons in readout order: the output layer, then the hidden units, in neuron order."""
    n, n_out = bench.n_neurons, bench.topology.layers[-1]
    return list(range(n - n_out, n)) + list(range(n - n_out))


def substeps(duration_us: float, tau_us: float) -> int:
    """RK4 substeps for one step of `duration_us` with shortest time constant `tau_us`."""
    return max(1, math.ceil(duration_us * SUBSTEPS_PER_TAU / tau_us - 1e-9))


class Wiring:
    """Where each weight of a recurrent bench sits: incidence matrices that turn a batch of
    weight vectors (B, n_w) into coupling (B, N, N), input (B, N, n_in) and bias (B, N)."""

    def __init__(self, bench: Bench) -> None:
        layers, n_w = bench.topology.layers, bench.n_weights
        n, n_in = bench.n_neurons, layers[0]
        self.n_neurons, self.n_inputs = n, n_in
        coupling, inputs, bias = np.zeros((n_w, n, n)), np.zeros((n_w, n, n_in)), np.zeros((n_w, n))
        k, first = 0, 0
        for layer, (units, fan_in) in enumerate(bench.layer_shapes):
            prev = first - layers[layer] if layer else 0
            for unit in range(first, first + units):
                for j in range(fan_in - 1):
                    if layer == 0:
                        inputs[k, unit, j] = 1.0
                    else:
                        coupling[k, unit, prev + j] = 1.0
                    k += 1
                bias[k, unit] = bench.topology.bias_volts
                k += 1
            first += units
        for source, target in zip(bench.recurrent.sources, bench.recurrent.targets):
            coupling[k, target, source] = 1.0
            k += 1
        self.coupling = coupling.reshape(n_w, n * n)
        self.inputs = inputs.reshape(n_w, n * n_in)
        self.bias = bias
        self.readout_order = readout_order(bench)

    def matrices(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(coupling (B, N, N), input weights (B, N, n_in), bias drive (B, N)) in volts."""
        b, n = len(weights), self.n_neurons
        return ((weights @ self.coupling).reshape(b, n, n),
                (weights @ self.inputs).reshape(b, n, self.n_inputs),
                weights @ self.bias)


def rk4(state: np.ndarray, coupling: np.ndarray, drive: np.ndarray, vsat: np.ndarray,
        tau_us: np.ndarray, duration_us: float, n_sub: int) -> np.ndarray:
    """Integrate tau da/dt = -a + vsat tanh((C a + drive) / vsat) for `duration_us`."""
    h = duration_us / n_sub
    rate = 1.0 / tau_us

    def slope(a: np.ndarray) -> np.ndarray:
        net = np.matmul(coupling, a[..., None])[..., 0] + drive
        return (vsat * np.tanh(net / vsat) - a) * rate

    a = state
    for _ in range(n_sub):
        k1 = slope(a)
        k2 = slope(a + 0.5 * h * k1)
        k3 = slope(a + 0.5 * h * k2)
        k4 = slope(a + h * k3)
        a = a + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
    return a


def trajectories(weights: np.ndarray, input_volts: np.ndarray, wiring: Wiring,
                 vsat: np.ndarray, tau_us: np.ndarray, step_us: float,
                 state: np.ndarray | None = None, n_sub: int | None = None,
                 offset: np.ndarray | None = None) -> np.ndarray:
    """Neuron volts (B, T, N) sampled at the end of each step, from `state` (default 0).

    `weights`: effective weights (B, n_w); `input_volts`: (T, n_in) held through each step;
    `offset`: each neuron's input offset (N,) in volts, added to its net input."""
    coupling, in_w, bias = wiring.matrices(weights)
    if offset is not None:
        bias = bias + offset
    a = np.zeros((len(weights), wiring.n_neurons)) if state is None else state
    n_sub = n_sub or substeps(step_us, float(tau_us.min()))
    out = np.empty((len(weights), len(input_volts), wiring.n_neurons))
    for t, u in enumerate(input_volts):
        drive = bias + in_w @ u if wiring.n_inputs else bias
        a = rk4(a, coupling, drive, vsat, tau_us, step_us, n_sub)
        out[:, t] = a
    return out
