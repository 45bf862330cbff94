"""The exact Jacobian of the twin's probe readouts with respect to its parameters.

`wphil.learning.correction.readouts` predicts every probe readout from the parameters
(per-weight gain and offset, per-neuron vsat, per-output offset, then the correction:
per-weight signal offset, per-hidden-readout offset, transfer-curve coefficients, source
compression). The fit needs d readout / d parameter for every readout; finite differences
cost one forward pass per parameter (158 for iris's richest model). Each readout depends
on one probe and one pattern only, so one backward pass per readout channel, kept per
sample instead of summed, gives the whole Jacobian: 3 passes for iris and xor.
"""

from __future__ import annotations

import numpy as np

from wphil.drivers.bench import Bench
from wphil.learning.correction import (
    Correction,
    combine_basis,
    compress,
    compress_slope,
    transfer_basis,
    transfer_slope,
)
from wphil.learning.model import Mismatch


def readout_jacobian(bench: Bench, m: Mismatch, corr: Correction, weights: np.ndarray,
                     signals: np.ndarray, hidden: bool) -> tuple[np.ndarray, np.ndarray]:
    """(readouts (K, P, reads), their Jacobian (K, P, reads, n_theta)) for one parameter set,
    theta laid out as `Mismatch.vector()` then `Correction.vector()`; `signals` (P, n_in)
    or (K, P, n_in) as for `readouts`."""
    vnom, bias = bench.topology.vsat, bench.topology.bias_volts
    n_w, n_n, n_out = len(m.gain), len(m.vsat), len(m.out_offset)
    n_ro, terms = len(corr.read_offset), corr.alpha.shape[1]
    o_vsat, o_out = 2 * n_w, 2 * n_w + n_n
    o_so = o_out + n_out
    o_ro = o_so + n_w
    o_alpha = o_ro + n_ro
    o_comp = o_alpha + n_n * terms
    n_theta = o_comp + len(corr.compression)
    k_probes = len(weights)
    act = np.broadcast_to(signals, (k_probes, *signals.shape[-2:]))
    effective = weights * m.gain + m.offset
    layers, start, neuron, source = [], 0, 0, 0
    for units, fan_in in bench.layer_shapes:
        c = corr.compression[source:source + fan_in - 1]
        x = compress(act, c, vnom)
        w = effective[:, start:start + units * fan_in].reshape(k_probes, units, fan_in)
        so = corr.signal_offset[start:start + units * fan_in].reshape(units, fan_in)[:, :-1]
        const = bias * w[..., -1] + (w[..., :-1] * so).sum(-1)
        net = np.einsum("kpj,kij->kpi", x, w[..., :-1]) + const[:, None, :]
        v = m.vsat[neuron:neuron + units]
        alpha = corr.alpha[neuron:neuron + units]
        u = net / v
        basis = transfer_basis(u, terms, False)
        t, slope = combine_basis(basis, alpha), transfer_slope(u, alpha)
        layers.append({"act_in": act, "x": x, "w": w, "so": so, "u": u, "t": t, "slope": slope,
                       "basis": basis[1:], "v": v, "c": c, "start": start, "neuron": neuron,
                       "source": source, "units": units, "fan_in": fan_in})
        act = v * t
        start, neuron, source = start + units * fan_in, neuron + units, source + fan_in - 1
    outs = [act + m.out_offset]
    if hidden:
        outs.append(np.concatenate([layer["v"] * layer["t"] for layer in layers[:-1]], axis=-1)
                    + corr.read_offset)
    values = np.concatenate(outs, axis=-1)
    seeds = [(len(layers) - 1, i, o_out + i) for i in range(n_out)]
    if hidden:
        below = [(li, i) for li, layer in enumerate(layers[:-1]) for i in range(layer["units"])]
        seeds += [(li, i, o_ro + r) for r, (li, i) in enumerate(below)]
    jac = np.zeros((*values.shape, n_theta))
    for r, (top, unit, own) in enumerate(seeds):
        jac[..., r, own] = 1.0
        delta = np.zeros((*values.shape[:2], layers[top]["units"]))
        delta[..., unit] = 1.0
        for layer in reversed(layers[:top + 1]):
            _backward(layer, delta, weights, jac[..., r, :], (o_vsat, o_so, o_alpha, o_comp, n_w),
                      bias, vnom)
            delta = _delta_below(layer, delta, vnom)
    return values, jac


def _backward(layer: dict, delta: np.ndarray, weights: np.ndarray, row: np.ndarray,
              offsets: tuple[int, ...], bias: float, vnom: float) -> None:
    """Add one layer's per-sample parameter gradients of a readout (delta: d readout / d
    this layer's activations) into `row` (K, P, n_theta)."""
    o_vsat, o_so, o_alpha, o_comp, n_w = offsets
    units, fan_in, n, s, start = (layer[k] for k in ("units", "fan_in", "neuron", "source",
                                                      "start"))
    g_net = delta * layer["slope"]
    row[..., o_vsat + n:o_vsat + n + units] += delta * (layer["t"] - layer["u"] * layer["slope"])
    if layer["basis"]:
        psi = np.stack(layer["basis"], axis=-1) * layer["v"][:, None]
        grad = (delta[..., None] * psi).reshape(*delta.shape[:2], -1)
        row[..., o_alpha + n * psi.shape[-1]:o_alpha + (n + units) * psi.shape[-1]] += grad
    inputs = np.concatenate([layer["x"][:, :, None, :] + layer["so"],
                             np.full((*layer["x"].shape[:2], units, 1), bias)], axis=-1)
    g_w = (g_net[..., None] * inputs).reshape(*delta.shape[:2], units * fan_in)
    span = slice(start, start + units * fan_in)
    row[..., span] += g_w * weights[:, None, span]                      # gain
    row[..., n_w + start:n_w + start + units * fan_in] += g_w           # offset
    g_so = np.zeros((*delta.shape[:2], units, fan_in))
    g_so[..., :-1] = g_net[..., None] * layer["w"][:, None, :, :-1]
    row[..., o_so + start:o_so + start + units * fan_in] += g_so.reshape(g_w.shape)
    g_x = np.einsum("kpi,kij->kpj", g_net, layer["w"][..., :-1])
    row[..., o_comp + s:o_comp + s + fan_in - 1] += g_x * (-layer["act_in"] ** 3 / vnom ** 2)


def _delta_below(layer: dict, delta: np.ndarray, vnom: float) -> np.ndarray:
    """d readout / d the layer's input activations."""
    g_x = np.einsum("kpi,kij->kpj", delta * layer["slope"], layer["w"][..., :-1])
    return g_x * compress_slope(layer["act_in"], layer["c"], vnom)
