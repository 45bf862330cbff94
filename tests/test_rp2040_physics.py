"""The emulated Pico's physics bridge for recurrent benches (drivers/rp2040_physics.py), without
node: the state it reports at an instant against the closed-form solution of the integrator.

With every feed-forward and feedback weight at zero the output neuron sees only its bias, a
constant drive b, and tau da/dt = -a + vsat tanh(b / vsat) has the solution
a(t) = a_inf + (a(t0) - a_inf) exp(-(t - t0) / tau), a_inf = vsat tanh(b / vsat).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from wphil.drivers import load_bench
from wphil.drivers.rp2040_physics import Physics, RecurrentPhysics, make_physics

MS = 1e6                    # ns


def ideal_bench():
    # no mismatch at all (the ideal profile, and no capacitor tolerance): tau = 1 ms exactly
    return load_bench("delayed-xor", profile="ideal", overrides={"sim": {"tau_mismatch": 0.0}})


def spec() -> dict:
    return {"board_seed": 1, "noise_seed": 2, "read_noise_volts": 0.0, "drift": 0.0}


def codes_with_output_bias(bench, volts: float) -> tuple[list[int], float]:
    """DAC codes: every weight at zero but the output neuron's bias (weight 6), and a_inf."""
    full = 1 << bench.dac.bits
    zero = round(bench.calibration.weight_zero_volts / bench.dac.vref * full)
    codes = [zero] * bench.dac_channels
    code = round((bench.calibration.weight_zero_volts + volts) / bench.dac.vref * full)
    codes[bench.wiring.weights[6]] = code
    weight = bench.calibration.weight_per_volt * (code * bench.dac.vref / full
                                                  - bench.calibration.weight_zero_volts)
    vsat = bench.topology.vsat
    return codes, vsat * math.tanh(weight * bench.topology.bias_volts / vsat)


def level(bench, volts: float) -> float:
    return volts * (1 << bench.adc.bits) / bench.adc.vref + (1 << (bench.adc.bits - 1))


def test_a_sample_sees_the_integrator_state_at_its_own_emulated_instant() -> None:
    bench = ideal_bench()
    physics = RecurrentPhysics(bench, spec())
    codes, a_inf = codes_with_output_bias(bench, 0.2)
    tau_ns = bench.recurrent.tau_us[-1] * 1000
    out = bench.wiring.outputs[0]
    physics.dac(0.2 * MS, codes)
    physics.reset(0.5 * MS, closed=True)
    assert physics.sample(0.9 * MS)[out] == pytest.approx(level(bench, 0.0), abs=1e-9)
    physics.reset(1.0 * MS, closed=False)
    for t in (1.05, 1.5, 2.0, 3.0, 6.0):
        expected = a_inf * (1 - math.exp(-(t * MS - 1.0 * MS) / tau_ns))
        assert physics.sample(t * MS)[out] == pytest.approx(level(bench, expected), abs=0.01)
    assert 0.5 < a_inf < 1.0                   # a large, saturating drive: tanh matters


def test_a_dac_change_bends_the_trajectory_at_the_instant_it_lands() -> None:
    bench = ideal_bench()
    physics = RecurrentPhysics(bench, spec())
    up, a_up = codes_with_output_bias(bench, 0.05)
    down, a_down = codes_with_output_bias(bench, -0.03)
    tau_ns = bench.recurrent.tau_us[-1] * 1000
    out = bench.wiring.outputs[0]
    physics.dac(0.0, up)
    physics.reset(0.0, closed=True)
    physics.reset(1.0 * MS, closed=False)
    physics.dac(1.7 * MS, down)
    at_change = a_up * (1 - math.exp(-0.7 * MS / tau_ns))
    for t in (1.7, 2.2, 4.0):
        expected = a_down + (at_change - a_down) * math.exp(-(t * MS - 1.7 * MS) / tau_ns)
        assert physics.sample(t * MS)[out] == pytest.approx(level(bench, expected), abs=0.01)
    # an event dated before the last one (a DAC update dated at the end of its bus transfer,
    # then a conversion inside it) does not run time backwards
    before = physics.sample(4.0 * MS)[out]
    assert physics.sample(3.9 * MS)[out] == before


def test_the_bridge_integrates_the_same_dynamics_as_mock_for_a_whole_sequence() -> None:
    # the default board (mismatch, tau error, feedback): held step by step, the bridge's
    # samples are mock://'s noise-free read_sequence levels at the same instants
    bench = load_bench("delayed-xor")
    physics = RecurrentPhysics(bench, spec())
    rng = np.random.default_rng(3)
    weights = rng.integers(0, 1 << bench.dac.bits, bench.n_weights)
    bits = rng.integers(0, 2, 12)
    inputs = np.where(bits, 3000, 1100)[:, None]
    codes = [2048] * bench.dac_channels
    for k, ch in enumerate(bench.wiring.weights):
        codes[ch] = int(weights[k])
    physics.dac(0.0, codes)
    physics.reset(0.0, closed=True)
    physics.reset(5 * MS, closed=False)
    step_ns = bench.recurrent.step_us * 1000
    samples = []
    for t, u in enumerate(inputs[:, 0]):
        codes[bench.wiring.inputs[0]] = int(u)
        physics.dac(5 * MS + t * step_ns, codes)
        samples.append(physics.sample(5 * MS + (t + 1) * step_ns)[bench.wiring.outputs[0]])
    mock, _ = physics.net.read_sequence(weights[None, :], inputs, bench.recurrent.step_us)
    # read_sequence rounds to ADC codes: the bridge's levels round to the same codes
    assert np.abs(np.floor(np.array(samples) + 0.5) - mock[0, :, 0]).max() <= 1
    assert np.ptp(mock) > 100                # the sequence exercises the network


def test_feed_forward_benches_keep_the_settled_physics() -> None:
    assert type(make_physics(load_bench("xor-2-2-1"), spec())) is Physics
    assert type(make_physics(load_bench("oscillator-2"), spec())) is RecurrentPhysics
