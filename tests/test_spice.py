"""spice://: the bench's circuit in ngspice, inside mock://'s converter models."""

from __future__ import annotations

import numpy as np
import pytest

from wphil.drivers import open_device, spice_engine
from wphil.drivers.bench_files import load_bench
from wphil.drivers.errors import ConfigError, DeviceError
from wphil.drivers.spice_engine import SpiceEngine, SpiceError, find_libngspice

needs_ngspice = pytest.mark.skipif(find_libngspice() is None,
                                   reason="spice://: libngspice not installed "
                                   "(apt-get install libngspice0)")

XOR = load_bench("xor-2-2-1")
LO, HI = 1024 - 1000, 2048 + 1000          # roughly -0.5 V and +0.5 V around the reference


def xor_inputs(bench=XOR) -> np.ndarray:
    cal = bench.calibration
    codes = [round((cal.input_zero_volts + v) / bench.dac.vref * (1 << bench.dac.bits))
             for v in cal.input_volts]
    return np.array([[a, b] for a in codes for b in codes])


def test_without_libngspice_spice_is_one_error_naming_the_apt_package(monkeypatch) -> None:
    monkeypatch.setattr(spice_engine, "find_libngspice", lambda: None)
    with pytest.raises(DeviceError, match="install the Debian/Ubuntu package libngspice0"):
        open_device("spice://", XOR)


def test_unknown_spice_url_option_is_rejected_with_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="valid: seed, board_seed, noise, drift, nominal"):
        open_device("spice://?boardseed=3", XOR)


def test_a_bench_without_a_circuit_cannot_be_simulated_at_circuit_level() -> None:
    bench = load_bench("xor-2-2-1", overrides={"circuit": {"kind": ""}})
    with pytest.raises(ConfigError, match="has no \\[circuit\\] table"):
        open_device("spice://", bench)


@needs_ngspice
@pytest.mark.slow
def test_a_netlist_error_in_one_worker_does_not_poison_the_next_query() -> None:
    good = ["* divider", "Vidx idx 0 0", "B1 a 0 V = pwl(V(idx),0,1,1,3)", "R1 a b 1k",
            "R2 b 0 1k", ".dc Vidx 0 1 1", ".end"]
    engine = SpiceEngine()
    try:
        assert engine.solve(good, ["v(b)"], 2) == pytest.approx(np.array([[0.5, 1.5]]))
        with pytest.raises(SpiceError):
            engine.solve(["* broken", "R1 a 0 1k", "Bx a 0 V = nosuchfunction(", ".dc Vnone 0 1 1",
                          ".end"], ["v(a)"], 2)
        assert engine.solve(good, ["v(b)"], 2) == pytest.approx(np.array([[0.5, 1.5]]))
        assert engine.restarts == 1                       # the failed worker was replaced
    finally:
        engine.close()


@needs_ngspice
@pytest.mark.slow
def test_batched_perturbations_equal_single_queries_and_are_counted() -> None:
    bench = load_bench("xor-2-2-1", overrides={"sim": {"read_noise_volts": 0.0}})
    rng = np.random.default_rng(4)
    base = rng.integers(1400, 2700, size=9)
    perts = [[(k, 25)] for k in range(9)]
    with open_device("spice://?board_seed=3", bench) as dev:
        batch = dev.evaluate(xor_inputs(bench), base, perturbations=perts, hidden=True)
        assert batch.shape == (10, 4, 3) and dev.queries == 40
        for row, pert in enumerate([[]] + perts):
            codes = base.copy()
            for k, d in pert:
                codes[k] += d
            for p, pattern in enumerate(xor_inputs(bench)):
                single = dev.evaluate(pattern[None, :], codes, hidden=True)[0, 0]
                assert np.abs(single - batch[row, p]).max() <= 1       # solver tolerance: < 1 LSB
        assert dev.queries == 40 + 40


@needs_ngspice
@pytest.mark.slow
def test_weight_codes_move_the_output_the_way_the_calibration_says() -> None:
    """On a nominal board, a small net comes out as net = weight_per_volt (Vdac - Vref) x: the
    diode limiter already shunts 3% of Rf's current at 0.2 V, so the test stays near 0.05 V."""
    bench = load_bench("xor-2-2-1", profile="ideal")
    with open_device("spice://?nominal=1", bench) as dev:
        info = dev.info()
        assert info.backend == "spice" and info.details["circuit"] == "ad633"
        mid = bench.fixed_channels[11]
        one = round(mid * 0.0125 / (bench.dac.vref / 2))   # +12.5 mV on a weight: w = 0.05
        codes = np.full(9, mid)
        codes[8] = mid + one                               # output bias weight only
        volts = dev.circuit_volts(xor_inputs(bench)[:1], codes[None, :], hidden=False)
        w = bench.calibration.weight_per_volt * 0.0125
        expected = w * bench.topology.bias_volts           # net well inside the linear part
        assert volts[0, 0, 0] == pytest.approx(expected, rel=0.02)


@needs_ngspice
@pytest.mark.slow
def test_probe_volts_and_hidden_readouts_work_as_on_mock() -> None:
    with open_device("spice://", XOR) as dev:
        dev.set_channel(3, 3000)
        assert dev.probe_volts(3) == pytest.approx(3000 * 2.048 / 4096, abs=0.01)
        assert dev.probe_volts(11) == pytest.approx(1.024, abs=0.01)
        out = dev.evaluate(xor_inputs(), np.full(9, 2048), hidden=True)
        assert out.shape == (1, 4, 3)


@needs_ngspice
@pytest.mark.slow
@pytest.mark.parametrize("board_seed", [1, 2, 3])
def test_mock_on_the_circuits_board_instance_stays_within_tolerance_of_spice(board_seed) -> None:
    """mock://?circuit=1 is the abstract model of the very board spice:// simulates.

    Tolerance, in ADC codes (0.8 mV each) over 50 random weight vectors x 4 patterns x 3
    readouts: offsets (all weights zero) within 20 codes (a 0.5 V offset already bends the
    limiter); overall mean |difference| within
    30 codes and max within 130 codes (the diode limiter is not a tanh: up to 0.06 V apart).
    """
    bench = load_bench("xor-2-2-1", overrides={"sim": {"read_noise_volts": 0.0}})
    weights = np.random.default_rng(board_seed).integers(1300, 2800, size=(50, 9))
    zero = np.full((1, 9), 2048)
    with open_device(f"spice://?board_seed={board_seed}", bench) as spice, \
            open_device(f"mock://?board_seed={board_seed}&circuit=1", bench) as mock, \
            open_device(f"mock://?board_seed={board_seed}", bench) as unrelated:
        circuit = spice.evaluate(xor_inputs(bench), weights, hidden=True).astype(int)
        diff = np.abs(circuit - mock.evaluate(xor_inputs(bench), weights, hidden=True))
        other = np.abs(circuit - unrelated.evaluate(xor_inputs(bench), weights, hidden=True))
        offsets = np.abs(spice.evaluate(xor_inputs(bench), zero, hidden=True).astype(int)
                         - mock.evaluate(xor_inputs(bench), zero, hidden=True))
    assert offsets.max() <= 20
    assert diff.mean() <= 30 and diff.max() <= 130
    assert diff.mean() < other.mean()             # closer than another board of the same profile
