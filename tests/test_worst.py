"""Profile worst: every datasheet-bounded part error drawn uniformly over +-its maximum
(docs/hardware/datasheets.md), honoured by each backend's physics, and the offset trimmers
that let such boards train."""

from __future__ import annotations

import numpy as np
import pytest

from wphil.drivers import open_device
from wphil.drivers.analog import AnalogNetwork, BoardInstance
from wphil.drivers.bench_files import load_bench
from wphil.drivers.circuit import CircuitParts
from wphil.drivers.circuit_model import abstract_board, trimmed
from wphil.drivers.profiles import PROFILES
from wphil.drivers.spice_engine import find_libngspice
from wphil.drivers.spread import draw

BOARDS = range(1000, 1040)


def test_worst_is_a_fifth_profile_with_the_mcp4728_datasheet_maxima() -> None:
    bench = load_bench("xor-2-2-1", "worst")
    assert PROFILES == ("ideal", "default", "harsh", "heldout", "worst")
    # DS22187E p.4: gain error +-1.25 %FSR, offset 20 mV, INL +-13 LSB, VREF 2.007..2.089 V
    assert bench.sim.part_spread == "uniform"
    assert (bench.sim.dac_gain_mismatch, bench.sim.dac_offset_volts, bench.sim.dac_inl_lsb) == (
        0.0125, 0.020, 13.0)
    assert 2.048 * (1 - bench.sim.dac_vref_mismatch) == pytest.approx(2.007)
    assert bench.circuit.multiplier_output_offset_volts == 0.050
    assert bench.circuit.opamp_offset_volts == 0.0045


def test_worst_draws_stay_inside_the_datasheet_maxima_and_reach_near_them() -> None:
    bench = load_bench("xor-2-2-1", "worst")
    offsets = np.array([BoardInstance.draw(bench, s).dac_offset for s in BOARDS])
    wos = np.array([CircuitParts.draw(bench, s).mult_wos for s in BOARDS])
    vos = np.array([CircuitParts.draw(bench, s).opamp_vos for s in BOARDS])
    for values, limit in ((offsets, 0.020), (wos, 0.050), (vos, 0.0045)):
        assert np.abs(values).max() <= limit
        assert np.abs(values).max() > 0.95 * limit         # uniform: the maxima are reached
        assert values.std() == pytest.approx(limit / np.sqrt(3), rel=0.1)


def test_each_chips_vref_scales_its_four_channels_alike_within_2007_to_2089_mv() -> None:
    bench = load_bench("xor-2-2-1", "worst")
    plain = load_bench("xor-2-2-1", "worst", overrides={"sim": {"dac_vref_mismatch": 0.0}})
    for seed in BOARDS:
        ratio = (np.array(BoardInstance.draw(bench, seed).dac_gain)
                 / np.array(BoardInstance.draw(plain, seed).dac_gain))
        per_chip = ratio.reshape(3, 4)
        assert np.allclose(per_chip, per_chip[:, :1])
        assert np.all((2.007 <= 2.048 * per_chip) & (2.048 * per_chip <= 2.089))


def test_truncated_spread_has_sigma_a_third_of_the_maximum_and_never_exceeds_it() -> None:
    values = draw(np.random.default_rng(0), 0.05, 20000, "truncated")
    assert np.abs(values).max() <= 0.05
    assert values.std() == pytest.approx(0.05 / 3, rel=0.05)


def test_the_default_profile_draws_the_boards_it_always_drew() -> None:
    """The spread machinery leaves `normal` boards alone: same generator calls, same order."""
    bench = load_bench("xor-2-2-1")
    rng = np.random.Generator(np.random.PCG64(1))
    gain = bench.sim.dac_gain_mismatch
    assert BoardInstance.draw(bench, 1).dac_gain == (1 + gain * rng.standard_normal(12)).tolist()


def test_offset_trimmers_leave_each_neuron_within_the_residual_times_its_gain() -> None:
    """Untrimmed, worst-case AD633 output offsets put volts on a neuron's net; trimmed at
    bring-up (weights and inputs at zero), each neuron's output there is what the builder
    leaves, +-1 mV at the summing node times Rf/Rin (~40), plus for the output neuron the
    hidden units' residuals through its zero weights' offsets (|w| < 0.5, so < 25 mV); the
    rest of the offset moves into per-weight offsets that training removes."""
    bench = load_bench("xor-2-2-1", "worst")
    zero_w, zero_in = np.full((1, 9), bench.safe_code), np.full((1, 2), 2048)
    untrimmed, left = [], []
    for seed in BOARDS:
        converters, parts = BoardInstance.draw(bench, seed), CircuitParts.draw(bench, seed)
        for board, out in ((abstract_board(bench, parts, converters), untrimmed),
                           (abstract_board(bench, trimmed(bench, parts, converters), converters),
                            left)):
            net = AnalogNetwork(bench, board=board, read_noise_volts=0.0)
            out += [float(np.abs(a).max())
                    for a in net.forward_volts(zero_w, zero_in)]
    assert max(untrimmed) > 0.9                 # a neuron in the limiter
    assert max(left) < 41 * bench.circuit.offset_trim_volts + 0.025


@pytest.mark.skipif(find_libngspice() is None, reason="libngspice not installed")
@pytest.mark.slow
@pytest.mark.parametrize("board_seed", [1000, 1002])
def test_mock_on_the_circuits_worst_board_stays_within_tolerance_of_spice(board_seed) -> None:
    """Nonlinearities, VREFs and trimmers are on both sides. The tolerance is wider than the
    default boards' (tests/test_spice.py: mean 30, max 130 codes) because the abstract model
    leaves out the AD633s' Y offsets (a per-synapse input offset w * yos), which at the
    worst case's 30 mV reach ~0.1 V on a net; measured: mean 27..43, max 78..189 codes."""
    bench = load_bench("xor-2-2-1", "worst", overrides={"sim": {"read_noise_volts": 0.0}})
    cal = bench.calibration
    codes = [round((cal.input_zero_volts + v) / bench.dac.vref * 4096) for v in cal.input_volts]
    inputs = np.array([[a, b] for a in codes for b in codes])
    weights = np.random.default_rng(board_seed).integers(1300, 2800, size=(30, 9))
    with open_device(f"spice://?board_seed={board_seed}", bench) as spice, \
            open_device(f"mock://?board_seed={board_seed}&circuit=1", bench) as mock:
        diff = np.abs(spice.evaluate(inputs, weights, hidden=True).astype(int)
                      - mock.evaluate(inputs, weights, hidden=True))
    assert diff.mean() <= 50 and diff.max() <= 220


def test_worst_abstract_spreads_match_a_monte_carlo_of_worst_circuit_boards() -> None:
    """Plain mock:// (and upy://, rp2040://) draw the abstract model's spreads from [sim];
    on `worst` they must be what worst circuit boards make of their parts (as
    bench/fit_circuit.py fits `default`): within 15 %."""
    bench = load_bench("xor-2-2-1", "worst")
    gains, offsets, neuron = [], [], []
    for seed in range(1, 201):
        converters = BoardInstance.draw(bench, seed)
        ideal = BoardInstance(**{**converters.to_dict(), "dac_gain": [1.0] * 12,
                                 "dac_offset": [0.0] * 12})
        board = abstract_board(bench, trimmed(bench, CircuitParts.draw(bench, seed), ideal), ideal)
        gains += board.weight_gain
        offsets += board.weight_offset
        neuron += board.neuron_offset
    sim = bench.sim
    assert np.std(gains) == pytest.approx(sim.weight_gain_mismatch, rel=0.15)
    assert np.std(offsets) == pytest.approx(sim.weight_offset, rel=0.15)
    assert np.std(neuron) == pytest.approx(sim.neuron_offset_volts, rel=0.15)


@pytest.mark.slow
def test_the_worst_case_monte_carlo_quick_mode_writes_its_table(tmp_path) -> None:
    """bench/worst_case_boards.py --quick: the smoke test of the Monte Carlo script."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "bench" / "worst_case_boards.py"
    proc = subprocess.run([sys.executable, str(script), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "worst_case_boards.json").read_text())
    assert [(r["profile"], r["rule"]) for r in results["table"]] == [
        ("default", "wp"), ("default", "twin"), ("worst", "wp"), ("worst", "twin")]
    assert len(results["runs"]) == 16
    assert all(r["fraction"] == r["solved"] / 4 for r in results["table"])
    assert "| worst | 4 | twin |" in (tmp_path / "worst_case_boards.md").read_text()
