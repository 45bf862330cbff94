"""The ngspice netlist of a recurrent bench's circuit, one `.tran` per replayed sequence.

Each neuron (drivers/circuit.py's parts) is the feed-forward neuron's AD633 chain and
diode-limiter stage, followed by an inverting integrator (int_rin, int_rf || int_c, + at
VMID): tau da/dt = -a + sat(net), tau = int_rf int_c, as the bench model's
tau da/dt = -a + vsat tanh(net / vsat), with the diode limiter's saturation, not tanh.
Both stages invert, so the recurrent AD633s take X1 = weight DAC, X2 = REF (a weight
means what it means on a feed-forward bench). Feedback weights are more AD633s in the
target's chain, their Y input the source neuron's integrator output minus VMID.

A batch of B weight vectors is B independent copies of the circuit in one netlist (the
input DACs, the reference and VMID shared): one `.tran` for the whole batch. The input
DACs are PWL sources that hold each step's volts; the integrator capacitors start at 0 V
(`uic`: the reset switches just opened, so each neuron starts at its VMID plus its
integrator's offset, not exactly at the ADC's mid-scale) or, resumed, at the given state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wphil.drivers.bench import Bench
from wphil.drivers.circuit import CircuitParts
from wphil.drivers.hardware import vmid_divider
from wphil.drivers.netlist import (
    OPAMP_GAIN,
    RELTOL,
    ad633,
    diode_string_model,
    neuron_nodes,
    vmid_lines,
)

#: the MCP4728's output settles in ~6 us; a ramp of this length keeps the PWL corners
#: from forcing tiny steps (a 0.2% of tau shift of each input edge)
DAC_RAMP_US = 2.0


@dataclass(frozen=True)
class Transient:
    """A batch of sequence replays: weight-channel volts per row (B, per channel), input
    volts per step (T, per channel), constant channels, the starting state (B, N)."""

    row_volts: dict[int, np.ndarray]
    step_volts: dict[int, np.ndarray]
    constant: dict[int, float]
    steps: int
    step_us: float
    max_step_us: float
    state: np.ndarray
    #: True: the reset switches just opened (every capacitor at 0 V: each integrator's
    #: output at its + input, VMID plus its offset); False: start from `state`
    reset: bool = True

    @property
    def rows(self) -> int:
        return len(self.state)


def _fmt(x: float) -> str:
    return f"{x:.7g}"


def _pwl(channel: int, volts: np.ndarray, step_us: float) -> str:
    ramp = min(DAC_RAMP_US, step_us / 4)       # a PWL's times must rise: short steps too
    points = [f"0 {_fmt(volts[0])}"]
    for k in range(1, len(volts)):
        t = k * step_us
        points.append(f"{_fmt(t)}u {_fmt(volts[k - 1])} {_fmt(t + ramp)}u {_fmt(volts[k])}")
    return f"Vd{channel} d{channel} 0 pwl({' '.join(points)})"


def chains(bench: Bench) -> dict[int, list[tuple[int, str]]]:
    """Per neuron: (weight index, source) of each multiplier in its chain; a source is
    ('in', input j), ('n', neuron) or ('bias', 0)."""
    out: dict[int, list] = {}
    k, layers = 0, neuron_nodes(bench)
    for depth, neurons in enumerate(layers):
        sources = ([("in", j) for j in range(len(bench.wiring.inputs))] if depth == 0
                   else [("n", m) for m in layers[depth - 1]])
        for n in neurons:
            out[n] = []
            for source in sources + [("bias", 0)]:
                out[n].append((k, source))
                k += 1
    for src, dst in zip(bench.recurrent.sources, bench.recurrent.targets):
        out[dst].append((k, ("n", src)))
        k += 1
    return out


def tran_netlist(bench: Bench, parts: CircuitParts, tran: Transient) -> list[str]:
    """The lines ngSpice_Circ takes, ending in the `.tran`."""
    c = bench.circuit
    ref = f"d{c.ref_channel}"
    lines = [f"* wphil spice:// {bench.name} (transient)",
             f".model {diode_string_model(c.limiter_diodes)}",
             f".options reltol={RELTOL} noacct",
             *vmid_lines(bench, parts)]
    for channel, volts in sorted(tran.step_volts.items()):
        lines.append(_pwl(channel, volts, tran.step_us))
    for channel, volts in sorted(tran.constant.items()):
        lines.append(f"Vd{channel} d{channel} 0 {_fmt(volts)}")
    inputs = bench.wiring.inputs
    for row in range(tran.rows):
        for channel, volts in sorted(tran.row_volts.items()):
            lines.append(f"Vr{row}d{channel} r{row}d{channel} 0 {_fmt(volts[row])}")

        def dac(channel: int, row: int = row) -> str:
            return f"r{row}d{channel}" if channel in tran.row_volts else f"d{channel}"

        for n, chain in chains(bench).items():
            z = "vmid"
            for k, (kind, j) in chain:
                y1, y2 = _signal(kind, j, row, inputs, ref)
                w = f"r{row}w{k}"
                lines.append(f"Bm{row}_{k} {w} 0 V = " + ad633(
                    k, parts, f"V({dac(bench.wiring.weights[k])})-V({ref})", f"V({y1})-V({y2})", z))
                z = w
            # the capacitor holds V(m) - V(a), m at VMID + the op-amp's offset; the state is
            # measured from the ADC's mid-scale
            cap = 0.0 if tran.reset else (vmid_volts(bench, parts) + parts.int_vos[n]
                                          - bench.adc.vref / 2 - float(tran.state[row, n]))
            lines += _neuron(f"r{row}", n, parts, z, cap)
    stop = tran.steps * tran.step_us
    lines += [f".tran {_fmt(tran.max_step_us)}u {_fmt(stop)}u 0 {_fmt(tran.max_step_us)}u uic",
              ".end"]
    return lines


def _signal(kind: str, j: int, row: int, inputs: tuple[int, ...], ref: str) -> tuple[str, str]:
    """The (Y1, Y2) nodes of a multiplier: an input DAC minus REF, a neuron's integrator
    output minus VMID, or the bias REF minus ground."""
    if kind == "in":
        return f"d{inputs[j]}", ref
    if kind == "n":
        return f"r{row}a{j}", "vmid"
    return ref, "0"


def vmid_volts(bench: Bench, parts: CircuitParts) -> float:
    supply, ratio = vmid_divider(bench)
    top, bottom = parts.vmid_divider[0], parts.vmid_divider[1] * ratio
    return supply * bottom / (top + bottom) + parts.vmid_vos


def _neuron(p: str, n: int, parts: CircuitParts, w_last: str, cap: float) -> list[str]:
    """Limiter stage (Rin, Rf || diode strings, + at VMID), then the inverting integrator
    whose capacitor starts at `cap` volts (V(m) - V(a))."""
    lines = [f"Rin{p}_{n} {w_last} {p}n{n} {_fmt(parts.rin[n])}",
             f"Rf{p}_{n} {p}n{n} {p}o{n} {_fmt(parts.rf[n])}",
             f"Vos{p}_{n} {p}p{n} vmid {_fmt(parts.opamp_vos[n])}",
             f"Eop{p}_{n} {p}o{n} 0 {p}p{n} {p}n{n} {OPAMP_GAIN:g}"]
    for way, (anode, cathode) in enumerate(((f"{p}n{n}", f"{p}o{n}"), (f"{p}o{n}", f"{p}n{n}"))):
        areas = parts.diode_area[n, way]
        area = float(np.exp(np.mean(np.log(areas))))
        lines.append(f"D{p}_{n}_{way} {anode} {cathode} DSTRING{len(areas)} area={area:.6g}")
    lines += [f"Rint{p}_{n} {p}o{n} {p}m{n} {_fmt(parts.int_rin[n])}",
              f"Rfb{p}_{n} {p}m{n} {p}a{n} {_fmt(parts.int_rf[n])}",
              f"Cint{p}_{n} {p}m{n} {p}a{n} {parts.int_c[n]:.6g} ic={_fmt(cap)}",
              f"Vosi{p}_{n} {p}q{n} vmid {_fmt(parts.int_vos[n])}",
              f"Eint{p}_{n} {p}a{n} 0 {p}q{n} {p}m{n} {OPAMP_GAIN:g}"]
    return lines


def state_vectors(bench: Bench, rows: int) -> list[str]:
    """Every neuron's integrator output of every row, row-major."""
    return [f"v(r{row}a{n})" for row in range(rows) for n in range(bench.n_neurons)]
