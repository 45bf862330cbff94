"""The ngspice netlist of a bench's circuit (drivers/circuit.py), one `.dc` sweep per batch.

Every forward pass of a batch is one point of a nested DC sweep: `Vrow` steps over the B
weight vectors (inner loop), `Vpat` over the P patterns (outer); each weight channel is a
B source `pwl(V(row), 0, v0, 1, v1, ...)`, each input channel one of V(pat). The netlist
stays small (B + P values per channel, not B x P), and ngspice starts each point from the
last solution, so neighbouring points differ by one perturbation.

Models are behavioural: the AD633 is its transfer function (B source) with drawn gain and
offsets; the MCP6004 is a high-gain VCVS with a drawn input offset (the diode limiter keeps
its output far from the 0/3.3 V rails, so rail clipping is not modelled); diodes are the
1N4148 SPICE model (NXP's IS, N, RS) with a drawn saturation-current area.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wphil.drivers.bench import Bench
from wphil.drivers.circuit import AD633_SCALE_VOLTS, DIODE_IS, DIODE_N, DIODE_RS, CircuitParts
from wphil.drivers.hardware import vmid_divider

#: open-loop gain of the op-amp model (MCP6004: 112 dB typ; lower converges faster and
#: leaves a closed-loop error of Rf/Rin / 1e5 = 0.04%)
OPAMP_GAIN = 1e5
#: 1e-3 leaves up to 1.75 mV of error, which acts as noise under a 0.04 perturbation
RELTOL = 1e-4


@dataclass(frozen=True)
class Sweep:
    """A batch of forward passes, B weight vectors x P patterns, as a nested DC sweep: the
    weight channels follow the row index (B volts each), the input channels the pattern
    index (P volts each); every other channel is constant."""

    rows: int
    patterns: int
    row_volts: dict[int, np.ndarray]
    pattern_volts: dict[int, np.ndarray]
    constant: dict[int, float]

    @property
    def points(self) -> int:
        return self.rows * self.patterns


def _fmt(x: float) -> str:
    return f"{x:.7g}"


def _source(channel: int, sweep: Sweep) -> str:
    for index, table in (("row", sweep.row_volts), ("pat", sweep.pattern_volts)):
        if channel in table:
            pairs = ",".join(f"{i},{v:.7g}" for i, v in enumerate(table[channel].tolist()))
            return f"Bd{channel} d{channel} 0 V = pwl(V({index}),{pairs})"
    return f"Vd{channel} d{channel} 0 {_fmt(sweep.constant[channel])}"


def diode_string_model(diodes: int) -> str:
    """`diodes` 1N4148s in series as one diode model."""
    return (f"DSTRING{diodes} D(IS={DIODE_IS:g} N={diodes * DIODE_N:.6g} "
            f"RS={diodes * DIODE_RS:.6g})")


def neuron_nodes(bench: Bench) -> list[list[int]]:
    """Neuron numbers (0..) of each non-input layer."""
    out, n = [], 0
    for units in bench.topology.layers[1:]:
        out.append(list(range(n, n + units)))
        n += units
    return out


def readout_neurons(bench: Bench, hidden: bool) -> list[int]:
    """Neurons in readout order: the outputs, then the hidden units (as mock:// reads them)."""
    layers = neuron_nodes(bench)
    return layers[-1] + ([n for layer in layers[:-1] for n in layer] if hidden else [])


def vmid_lines(bench: Bench, parts: CircuitParts) -> list[str]:
    """VMID: the divider as the bench builds it (wphil.drivers.hardware), then the buffer."""
    supply, ratio = vmid_divider(bench)
    return [f"Varef aref 0 {_fmt(supply)}", f"Rvt aref mdiv {_fmt(parts.vmid_divider[0])}",
            f"Rvb mdiv 0 {_fmt(parts.vmid_divider[1] * ratio)}",
            f"Bvmid vmid 0 V = V(mdiv) + {_fmt(parts.vmid_vos)}"]


def netlist(bench: Bench, parts: CircuitParts, sweep: Sweep) -> list[str]:
    """The lines ngSpice_Circ takes (one element per line), ending in the `.dc` sweep."""
    c, wiring = bench.circuit, bench.wiring
    ref = f"d{c.ref_channel}"
    lines = [f"* wphil spice:// {bench.name}", f".model {diode_string_model(c.limiter_diodes)}",
             f".options reltol={RELTOL} noacct", "Vrow row 0 0", "Vpat pat 0 0",
             *vmid_lines(bench, parts)]
    for channel in sorted(set(sweep.row_volts) | set(sweep.pattern_volts) | set(sweep.constant)):
        lines.append(_source(channel, sweep))
    k, layers = 0, neuron_nodes(bench)
    for depth, neurons in enumerate(layers):
        signals = ([(f"d{ch}", ref) for ch in wiring.inputs] if depth == 0
                   else [(f"o{n}", "vmid") for n in layers[depth - 1]])
        signals.append((ref, "0"))                       # the bias: Vref - GND
        for n in neurons:
            z = "vmid"
            if parts.trim[n] != 0:    # the offset trimmer moves the chain's first Z off VMID
                z = f"zt{n}"
                lines.append(f"Bzt{n} {z} 0 V = V(vmid)+{_fmt(parts.trim[n])}")
            for y1, y2 in signals:
                lines.append(_multiplier(k, parts, ref, f"d{wiring.weights[k]}", y1, y2, z))
                z, k = f"w{k}", k + 1
            lines += _neuron(n, parts, z, c.cf_farads)
    lines += [f".dc Vrow 0 {sweep.rows - 1} 1 Vpat 0 {sweep.patterns - 1} 1", ".end"]
    return lines


def _multiplier(k: int, parts: CircuitParts, x1: str, x2: str, y1: str, y2: str, z: str) -> str:
    return f"Bm{k} w{k} 0 V = " + ad633(k, parts, f"V({x1})-V({x2})", f"V({y1})-V({y2})", z)


def ad633(k: int, parts: CircuitParts, x: str, y: str, z: str) -> str:
    """Multiplier k's output expression: g (x + xos)(y + yos) / 10 V + V(z) + wos, each input
    through its nonlinearity (when drawn): u + nl 10 V T3(u / 10 V), T3(t) = 4 t^3 - 3 t,
    a deviation of at most nl of full scale from the straight line over +-10 V."""
    g = parts.mult_gain[k] / AD633_SCALE_VOLTS
    x = _nonlinear(f"{x}+{_fmt(parts.mult_xos[k])}", float(parts.mult_xnl[k]))
    y = _nonlinear(f"{y}+{_fmt(parts.mult_yos[k])}", float(parts.mult_ynl[k]))
    return f"{g:.9g}*{x}*{y}+V({z})+{_fmt(parts.mult_wos[k])}"


def _nonlinear(u: str, nl: float) -> str:
    if nl == 0:
        return f"({u})"
    # u + nl 10 (4 (u/10)^3 - 3 u/10) = u (1 - 3 nl + 0.04 nl u^2)
    return f"({u})*({_fmt(1 - 3 * nl)}+{_fmt(0.04 * nl)}*({u})*({u}))"


def _neuron(n: int, parts: CircuitParts, w_last: str, cf: float) -> list[str]:
    """Inverting stage: Rin from the last multiplier, Rf || Cf || diode strings, + at VMID."""
    lines = [f"Rin{n} {w_last} n{n} {_fmt(parts.rin[n])}",
             f"Rf{n} n{n} o{n} {_fmt(parts.rf[n])}",
             f"Vos{n} p{n} vmid {_fmt(parts.opamp_vos[n])}",
             f"Eop{n} o{n} 0 p{n} n{n} {OPAMP_GAIN:g}"]
    if cf > 0:
        lines.append(f"Cf{n} n{n} o{n} {cf:g}")
    # a string of m diodes is exactly one diode with emission coefficient m N and the
    # geometric mean of their areas (series resistance aside): 4 fewer nodes per neuron
    for way, (anode, cathode) in enumerate(((f"n{n}", f"o{n}"), (f"o{n}", f"n{n}"))):
        areas = parts.diode_area[n, way]
        area = float(np.exp(np.mean(np.log(areas))))
        lines.append(f"D{n}_{way} {anode} {cathode} DSTRING{len(areas)} area={area:.6g}")
    return lines


def output_vectors(bench: Bench, hidden: bool) -> list[str]:
    return [f"v(o{n})" for n in readout_neurons(bench, hidden)]
