"""The analog core a bench is built from: rules the [circuit] table imposes, part mismatch.

`kind = "ad633"` (README, "Build the XOR bench"): each weight is an AD633 multiplier,

    W = g (X1 - X2 + xos)(Y1 - Y2 + yos) / 10 V + Z + wos

with X1 the reference channel (mid-scale, 1.024 V), X2 the weight's DAC channel, Y1 - Y2
the signal (an input DAC channel minus the reference, a neuron output minus VMID, or the
reference minus ground for the bias). A neuron's multipliers are chained W -> Z from VMID;
the last W drives an MCP6004 inverting stage (Rin, Rf, diode limiter across Rf, + input
at VMID = ADC_VREF / 2), so a = V(out) - VMID ~ (Rf / Rin / 10 V) sum (Vdac - Vref) signal:
`weight_per_volt` is (Rf || diode strings) / (10 V Rin); `weight_zero_volts`,
`input_zero_volts` and `bias_volts` are the reference's volts. With `offset_trim_volts` > 0
each neuron has a trimmer on its chain's first Z, set at bring-up (drivers/circuit_model.py
`trimmed`): the AD633s' output offsets, up to 50 mV each, add up along a chain beyond what
the bias weight cancels (+-0.1 V at the summing node).

A recurrent bench (`int_farads` > 0) puts an inverting integrator (int_ohms in, int_ohms ||
int_farads across, tau = int_ohms int_farads as [recurrent] tau_us says) behind every
neuron's limiter stage (drivers/netlist_tran.py).

Part mismatch of one board is drawn from `board_seed` in a fixed order, on its own stream
(so the converters' mismatch, drawn by drivers/analog.py, is shared with mock://).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from wphil.drivers.bench_tables import Power
from wphil.drivers.errors import ConfigError
from wphil.drivers.spread import draw as draw_spread

if TYPE_CHECKING:
    from wphil.drivers.bench import Bench

#: the AD633's scale voltage: W = X Y / 10 V
AD633_SCALE_VOLTS = 10.0
#: AD633 supply range (datasheet: +-8 V .. +-18 V) and quiescent current (max, per chip)
AD633_MIN_RAIL, AD633_MAX_RAIL, AD633_SUPPLY_AMPS = 8.0, 18.0, 0.006
#: calibration constants may differ from what the circuit gives by this much
CALIBRATION_TOLERANCE = 0.01
#: 1N4148 forward characteristic (NXP's SPICE model: IS, N, RS)
DIODE_IS, DIODE_N, DIODE_RS = 4.352e-9, 1.906, 0.6458
#: kT/q at 27 C, ngspice's default temperature
THERMAL_VOLTS = 0.025865
#: stream id that keeps circuit draws apart from the converters' draws of the same seed
PARTS_STREAM = 633


def has_circuit(bench: Bench) -> bool:
    return bench.circuit.kind != ""


def diode_strings_ohms(bench: Bench) -> float:
    """Small-signal resistance of the two antiparallel diode strings at zero volts:
    m N Vt / (2 IS). 17 MOhm for three 1N4148s each way: it shunts Rf by 3% even at 0 V."""
    return bench.circuit.limiter_diodes * DIODE_N * THERMAL_VOLTS / (2 * DIODE_IS)


def gain(bench: Bench) -> float:
    """The neuron's small-signal gain (Rf || diode strings) / Rin."""
    c = bench.circuit
    rf = 1 / (1 / c.rf_ohms + 1 / diode_strings_ohms(bench))
    return rf / c.rin_ohms


def weight_per_volt(bench: Bench) -> float:
    """Weight units per volt of (Vdac - Vref): (Rf || diode strings) / (10 V Rin)."""
    return gain(bench) / AD633_SCALE_VOLTS


def ref_volts(bench: Bench) -> float:
    """The nominal volts of the reference channel."""
    code = bench.fixed_channels[bench.circuit.ref_channel]
    return bench.dac.vref * code / (1 << bench.dac.bits)


def settle_us(bench: Bench) -> int:
    """Time for every layer's output to settle within half an ADC LSB of a full swing.

    Each neuron is a first-order lag tau = Rf Cf (slower than with the diodes conducting,
    so this is an upper bound); L layers in cascade settle like an Erlang-L step: the
    error after t = x tau is e^-x sum_{k<L} x^k / k!.
    """
    c = bench.circuit
    tau_us = c.rf_ohms * c.cf_farads * 1e6
    lsb = bench.adc.vref / (1 << bench.adc.bits)
    target = 0.5 * lsb / (2 * bench.topology.vsat)
    layers, x = len(bench.topology.layers) - 1, 0.0
    while math.exp(-x) * sum(x ** k / math.factorial(k) for k in range(layers)) > target:
        x += 0.05
    return max(10, math.ceil(x * tau_us / 10) * 10)


def default_power(bench: Bench) -> Power:
    """The AD633 rails: +-rail_volts on two supply outputs, 20% over the chips' current."""
    c = bench.circuit
    amps = math.ceil(bench.n_weights * AD633_SUPPLY_AMPS * 1.2 / 0.05) * 0.05
    return Power(names=("VA+", "VA-"), channels=(1, 2), volts=(c.rail_volts, c.rail_volts),
                 current_limits=(amps, amps), max_volts=(c.rail_volts + 0.5, c.rail_volts + 0.5))


def circuit_defaults(bench: Bench, raw: dict[str, Any]) -> Bench:
    """Fill the keys whose defaults follow from the circuit: settle time, supply rails."""
    timing, power = bench.timing, bench.power
    if timing.settle_us < 0:
        timing = replace(timing, settle_us=settle_us(bench) if has_circuit(bench) else 10)
    if has_circuit(bench) and "power" not in raw:
        power = default_power(bench)
    return replace(bench, timing=timing, power=power)


def check_circuit(bench: Bench) -> None:
    """The wiring and calibration constants must be what the circuit makes of them."""
    if not has_circuit(bench):
        return
    c, src = bench.circuit, bench.source
    if c.ref_channel not in bench.fixed_channels:
        raise ConfigError(f"{src}: [circuit] ref_channel: {c.ref_channel} is not a [wiring] fixed "
                          f"channel ({sorted(bench.fixed_channels) or 'none'}); the AD633s "
                          "need a reference channel")
    ref = ref_volts(bench)
    expected = {("calibration", "weight_per_volt"): weight_per_volt(bench),
                ("calibration", "weight_zero_volts"): ref,
                ("calibration", "input_zero_volts"): ref,
                ("topology", "bias_volts"): ref}
    for (table, name), want in expected.items():
        got = getattr(getattr(bench, table), name)
        if abs(got - want) > CALIBRATION_TOLERANCE * abs(want):
            raise ConfigError(f"{src}: [{table}] {name} = {got} disagrees with the circuit, which "
                              f"gives {want:.4g} (within {CALIBRATION_TOLERANCE:.0%})")
    _check_integrators(bench)
    if bench.is_recurrent and c.offset_trim_volts > 0:
        raise ConfigError(f"{src}: [circuit] offset_trim_volts: offset trimmers are modelled "
                          "for feed-forward benches only (0 for a recurrent bench)")
    if bench.adc.kind == "rp2040" and abs(bench.adc.vref / 2 - _vmid_nominal(bench)) > 1e-9:
        raise ConfigError(f"{src}: [adc] vref: VMID is half of it; the neuron supply "
                          f"[circuit] logic_volts must be at least that")
    for name, volts in zip(bench.power.names, bench.power.volts):
        if not AD633_MIN_RAIL <= volts <= AD633_MAX_RAIL:
            raise ConfigError(f"{src}: [power] volts: rail {name} at {volts} V cannot supply the "
                              f"AD633s: must be in {AD633_MIN_RAIL}..{AD633_MAX_RAIL} V")


def _check_integrators(bench: Bench) -> None:
    """A recurrent bench's [recurrent] tau_us must be the integrators' int_ohms * int_farads."""
    c, src = bench.circuit, bench.source
    if bench.is_recurrent != (c.int_farads > 0):
        raise ConfigError(f"{src}: [circuit] int_farads = {c.int_farads:g}: a recurrent bench "
                          "needs its integrator capacitor (> 0), a feed-forward one none (0)")
    tau_us = c.int_ohms * c.int_farads * 1e6
    for n, want in enumerate(bench.recurrent.tau_us):
        if abs(want - tau_us) > CALIBRATION_TOLERANCE * want:
            raise ConfigError(f"{src}: [recurrent] tau_us[{n}] = {want:g} disagrees with the "
                              f"circuit's int_ohms * int_farads = {tau_us:.4g} us "
                              f"(within {CALIBRATION_TOLERANCE:.0%})")


def _vmid_nominal(bench: Bench) -> float:
    return min(bench.adc.vref, bench.circuit.logic_volts) / 2


# -- one board's parts ----------------------------------------------------------------
@dataclass(frozen=True)
class CircuitParts:
    """One board's analog parts, as built: every value a drawn deviation from nominal."""

    mult_gain: np.ndarray          # (n_w,) AD633 scale factor, 1 + error
    mult_xos: np.ndarray           # (n_w,) X input offset (V)
    mult_yos: np.ndarray           # (n_w,) Y input offset (V)
    mult_wos: np.ndarray           # (n_w,) output offset (V)
    rin: np.ndarray                # (n_neurons,) ohms
    rf: np.ndarray                 # (n_neurons,) ohms
    opamp_vos: np.ndarray          # (n_neurons,) V
    diode_area: np.ndarray         # (n_neurons, 2, diodes): up then down strings
    vmid_divider: np.ndarray       # (2,) ohms: top, bottom
    vmid_vos: float                # the VMID buffer's offset (V)
    # recurrent benches: each neuron's integrator (drawn last, so feed-forward boards keep
    # their values)
    int_rin: np.ndarray            # (n_neurons,) ohms
    int_rf: np.ndarray             # (n_neurons,) ohms
    int_c: np.ndarray              # (n_neurons,) farads
    int_vos: np.ndarray            # (n_neurons,) V
    # AD633 X and Y nonlinearity (fraction of full scale, drawn after everything else)
    mult_xnl: np.ndarray           # (n_w,)
    mult_ynl: np.ndarray           # (n_w,)
    # offset trimmers: what each neuron is left with after bring-up (drawn, last), and the
    # trimmer's setting (the first Z - VMID), set by drivers/circuit_model.trimmed
    trim_residual: np.ndarray      # (n_neurons,) V at the summing node
    trim: np.ndarray               # (n_neurons,) V

    @classmethod
    def draw(cls, bench: Bench, board_seed: int) -> CircuitParts:
        """Draw in a fixed order; every effect always draws, so changing one spread does not
        change another's values. Resistor tolerance is taken as 2 sigma; the datasheet-bounded
        chip errors are drawn as [sim] part_spread says (drivers/spread.py)."""
        c = bench.circuit
        rng = np.random.Generator(np.random.PCG64([board_seed, PARTS_STREAM]))
        n_w, n_n = bench.n_weights, sum(bench.topology.layers[1:])
        r_sigma = c.resistor_tolerance / 2
        part = bench.sim.part_spread

        def chip(scale: float, size: int | tuple[int, ...] | None) -> np.ndarray:
            return draw_spread(rng, scale, size, part)

        return cls(
            mult_gain=1 + chip(c.multiplier_gain_sigma, n_w),
            mult_xos=chip(c.multiplier_input_offset_volts, n_w),
            mult_yos=chip(c.multiplier_input_offset_volts, n_w),
            mult_wos=chip(c.multiplier_output_offset_volts, n_w),
            rin=c.rin_ohms * (1 + r_sigma * rng.standard_normal(n_n)),
            rf=c.rf_ohms * (1 + r_sigma * rng.standard_normal(n_n)),
            opamp_vos=chip(c.opamp_offset_volts, n_n),
            diode_area=np.exp(c.diode_spread * rng.standard_normal((n_n, 2, c.limiter_diodes))),
            vmid_divider=c.vmid_divider_ohms * (1 + r_sigma * rng.standard_normal(2)),
            vmid_vos=float(chip(c.opamp_offset_volts, None)),
            int_rin=c.int_ohms * (1 + r_sigma * rng.standard_normal(n_n)),
            int_rf=c.int_ohms * (1 + r_sigma * rng.standard_normal(n_n)),
            int_c=c.int_farads * (1 + c.capacitor_tolerance / 2 * rng.standard_normal(n_n)),
            int_vos=chip(c.opamp_offset_volts, n_n),
            mult_xnl=chip(c.multiplier_x_nonlinearity, n_w),
            mult_ynl=chip(c.multiplier_y_nonlinearity, n_w),
            trim_residual=draw_spread(rng, c.offset_trim_volts, n_n, "uniform"),
            trim=np.zeros(n_n),
        )

    @classmethod
    def nominal(cls, bench: Bench) -> CircuitParts:
        c = bench.circuit
        n_w, n_n = bench.n_weights, sum(bench.topology.layers[1:])
        zeros = np.zeros(n_w)
        return cls(mult_gain=np.ones(n_w), mult_xos=zeros, mult_yos=zeros, mult_wos=zeros,
                   rin=np.full(n_n, c.rin_ohms), rf=np.full(n_n, c.rf_ohms),
                   opamp_vos=np.zeros(n_n), diode_area=np.ones((n_n, 2, c.limiter_diodes)),
                   vmid_divider=np.full(2, c.vmid_divider_ohms), vmid_vos=0.0,
                   int_rin=np.full(n_n, c.int_ohms), int_rf=np.full(n_n, c.int_ohms),
                   int_c=np.full(n_n, c.int_farads), int_vos=np.zeros(n_n),
                   mult_xnl=zeros, mult_ynl=zeros, trim_residual=np.zeros(n_n),
                   trim=np.zeros(n_n))
