"""The abstract model (drivers/analog.py) of one circuit board: mock:// as a stand-in for spice://.

Linearising the AD633 chain and the inverting stage (drivers/circuit.py) gives, per board,

    weight gain   g_k G_i / G            (multiplier scale factor, the neuron's gain)
    weight offset -(g_k G_i / 10 V)(Vref - weight_zero_volts + xos_k)     (weight units)
    neuron offset G_i (vos_i - sum_k wos_k - trim_i)  (volts added to the net, before saturation)
    vsat          the tanh fit of the diode limiter, shifted by the strings' log-mean area
    ADC offset    (VMID - ADC_VREF / 2) + vos_i  (after saturation)

with G_i = (Rf_i || diode strings_i) / Rin_i. Left out (they are below the ADC's noise for
XOR, and are the residual the mock-vs-spice test allows): the multipliers' Y offsets (a
per-synapse input offset w * yos), the limiter's shape beyond tanh, the op-amp's finite gain.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np

from wphil.drivers.analog import AnalogNetwork, BoardInstance
from wphil.drivers.bench import Bench
from wphil.drivers.circuit import (
    AD633_SCALE_VOLTS,
    DIODE_IS,
    DIODE_N,
    THERMAL_VOLTS,
    CircuitParts,
    diode_strings_ohms,
    gain,
    ref_volts,
)
from wphil.drivers.netlist import neuron_nodes

#: the net range (volts) over which tanh is fitted to the limiter: where XOR's nets live
FIT_NET_VOLTS = 3.0


def limiter_volts(bench: Bench, net: np.ndarray, area: float = 1.0) -> np.ndarray:
    """The limiter's output for a net (small-signal volts): a / Rf + 2 a IS sinh(a / m N Vt)
    = net / (Rf || diode strings), solved by bisection."""
    c = bench.circuit
    m_nvt = c.limiter_diodes * DIODE_N * THERMAL_VOLTS
    rf_eff = 1 / (1 / c.rf_ohms + 1 / diode_strings_ohms(bench))
    target = np.asarray(net, dtype=float) / rf_eff
    lo, hi = -np.abs(target) * c.rf_ohms - 1, np.abs(target) * c.rf_ohms + 1
    for _ in range(60):
        mid = (lo + hi) / 2
        current = mid / c.rf_ohms + 2 * area * DIODE_IS * np.sinh(mid / m_nvt)
        lo, hi = np.where(current < target, mid, lo), np.where(current < target, hi, mid)
    return (lo + hi) / 2


@functools.cache
def _fitted_vsat(bench: Bench) -> float:
    net = np.linspace(-FIT_NET_VOLTS, FIT_NET_VOLTS, 121)
    a = limiter_volts(bench, net)
    candidates = np.linspace(0.5, 2.0, 1501)
    errors = [np.sum((a - v * np.tanh(net / v)) ** 2) for v in candidates]
    return float(candidates[int(np.argmin(errors))])


def fitted_vsat(bench: Bench) -> float:
    """vsat of the tanh closest (least squares over |net| <= 3 V) to the nominal limiter."""
    return _fitted_vsat(replace(bench, source="", profile=""))


def trimmed(bench: Bench, parts: CircuitParts, converters: BoardInstance) -> CircuitParts:
    """The board after bring-up: with [circuit] offset_trim_volts > 0, each neuron's trimmer
    is turned until its output reads VMID with every weight and input at zero, so the first
    Z of its chain sits at VMID + trim, trim = vos - sum(wos) - sum(products at zero) + the
    residual the builder leaves (within the trimmer's range). Upstream neurons are trimmed
    first, so a hidden signal is zero there."""
    c = bench.circuit
    if c.offset_trim_volts <= 0:
        return parts
    net = AnalogNetwork(bench, board=converters, read_noise_volts=0.0)
    ref_code = bench.fixed_channels[c.ref_channel]
    vref = float(net.dac_volts(np.array([c.ref_channel]), np.array([ref_code]))[0])
    vin = net.dac_volts(np.array(bench.wiring.inputs), np.full(len(bench.wiring.inputs), ref_code))
    vw = net.dac_volts(np.array(bench.wiring.weights), np.full(bench.n_weights, bench.safe_code))
    trims, k = [], 0
    for depth, ((_, fan_in), neurons) in enumerate(zip(bench.layer_shapes, neuron_nodes(bench))):
        y = list(vin - vref) if depth == 0 else [0.0] * (fan_in - 1)
        y.append(vref)
        for n in neurons:
            chain = slice(k, k + fan_in)
            slope = (1 - 3 * parts.mult_xnl[chain]) * (1 - 3 * parts.mult_ynl[chain])
            products = (parts.mult_gain[chain] * slope * (vref - vw[chain] + parts.mult_xos[chain])
                        * (np.array(y) + parts.mult_yos[chain]) / AD633_SCALE_VOLTS)
            trim = (parts.opamp_vos[n] + parts.trim_residual[n] - parts.mult_wos[chain].sum()
                    - products.sum())
            trims.append(float(np.clip(trim, -c.trim_range_volts, c.trim_range_volts)))
            k += fan_in
    return replace(parts, trim=np.array(trims))


def abstract_board(bench: Bench, parts: CircuitParts, converters: BoardInstance) -> BoardInstance:
    """The mock's board instance for this circuit board; converter mismatch from `converters`."""
    c = bench.circuit
    m_nvt = c.limiter_diodes * DIODE_N * THERMAL_VOLTS
    # a string of diodes is one diode of their geometric-mean area; two strings in parallel
    strings = diode_strings_ohms(bench) / np.exp(np.log(parts.diode_area).mean(axis=2)).mean(axis=1)
    g_neuron = 1 / (1 / parts.rf + 1 / strings) / parts.rin
    vref = (ref_volts(bench) * converters.dac_gain[c.ref_channel]
            + converters.dac_offset[c.ref_channel])
    vmid = bench.adc.vref * parts.vmid_divider[1] / parts.vmid_divider.sum() + parts.vmid_vos
    gains, offsets, neuron_offset = [], [], []
    k = 0
    for (_, fan_in), neurons in zip(bench.layer_shapes, neuron_nodes(bench)):
        for n in neurons:
            chain = slice(k, k + fan_in)
            # the nonlinearities' small-signal slope (drivers/netlist.py ad633: 1 - 3 nl);
            # their cubic part is below 0.04 nl of the signal at |x| <= 1 V, and left out
            slope = (1 - 3 * parts.mult_xnl[chain]) * (1 - 3 * parts.mult_ynl[chain])
            scale = parts.mult_gain[chain] * slope * g_neuron[n] / AD633_SCALE_VOLTS
            g = scale / (gain(bench) / AD633_SCALE_VOLTS)
            g[-1] *= (vref + parts.mult_yos[k + fan_in - 1]) / bench.topology.bias_volts
            gains += g.tolist()
            offsets += (-scale * (vref - bench.calibration.weight_zero_volts
                                  + parts.mult_xos[chain])).tolist()
            neuron_offset.append(float(g_neuron[n] * (parts.opamp_vos[n]
                                                      - parts.mult_wos[chain].sum()
                                                      - parts.trim[n])))
            k += fan_in
    log_area = np.log(parts.diode_area).mean(axis=(1, 2))
    vsat = fitted_vsat(bench) - m_nvt * log_area
    readout = [n for layer in (neuron_nodes(bench)[-1:] + neuron_nodes(bench)[:-1]) for n in layer]
    adc_offset = list(converters.adc_offset)
    for r, n in zip(list(bench.wiring.outputs) + list(bench.wiring.hidden), readout):
        adc_offset[r] += vmid - bench.adc.vref / 2 + parts.opamp_vos[n]
    return replace(converters, weight_gain=gains, weight_offset=offsets, vsat=vsat.tolist(),
                   adc_offset=adc_offset, neuron_offset=neuron_offset)
