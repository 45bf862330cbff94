"""DAC calibration on the simulated bench, through the real DMM driver and pyvisa-py.

"Within 0.5 LSB" is pinned as: for every code of the calibrated range (1/64..63/64 of full
scale), the fitted line's volts differ from what the mock's DAC really puts out
(`AnalogNetwork.channel_volts`: gain, offset *and* the INL bow) by less than half a nominal
LSB (Vref / 2^bits). A line cannot follow the bow, so this is the honest bound: with the
bench's 0.5 LSB bow the best line is ~0.3 LSB off at the ends. With the bow switched off,
gain and offset must match the board's drawn mismatch to 0.05 LSB (the fit itself).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from wphil.drivers import load_bench, open_device
from wphil.drivers.bench import Bench
from wphil.drivers.caltable import CalibrationTable, load_table
from wphil.drivers.errors import ConfigError
from wphil.drivers.instruments import Keysight34461A, open_instrument
from wphil.drivers.instruments.probe import ProbeDmm
from wphil.lab.calibration import calibrate, sweep_codes, write_table
from wphil.learning.codes import CodeMap
from wphil.learning.train import TrainConfig
from wphil.runs.session import RunSpec

ROOT = Path(__file__).resolve().parents[1]
POINTS = 17


def measure(bench: Bench, url: str = "mock://", channels: list[int] | None = None
            ) -> tuple[CalibrationTable, Callable[[int, np.ndarray], np.ndarray], dict]:
    """Calibrate like `wphil calibrate`; also return the board's true DAC volts and mismatch."""
    channels = channels or sorted(set(bench.wiring.weights + bench.wiring.inputs))
    with open_device(url, bench) as dev, ProbeDmm(dev) as probe:
        with closing(open_instrument(Keysight34461A, probe.resource)) as dmm:
            table = calibrate(dev, dmm, channels, POINTS, probe.connect)
        net = dev.network

        def true_volts(ch: int, codes: np.ndarray) -> np.ndarray:
            return np.array([net.channel_volts(ch, int(c)) for c in codes])
    return table, true_volts, net.board.to_dict()


def every_code(bench: Bench) -> np.ndarray:
    codes = sweep_codes(bench, POINTS)
    return np.arange(codes[0], codes[-1] + 1)


@pytest.mark.parametrize("profile", ["default", "harsh"])
@pytest.mark.slow
def test_fitted_lines_predict_the_true_dac_volts_within_half_an_lsb(profile: str) -> None:
    bench = load_bench("xor-2-2-1", profile)
    lsb = bench.dac.vref / (1 << bench.dac.bits)
    table, true_volts, _ = measure(bench)
    stuck = set(bench.sim.stuck_dac_channels)
    assert {c.channel for c in table.good()} == set(bench.wiring.weights + bench.wiring.inputs) - stuck
    codes = every_code(bench)
    for line in table.good():
        error = line.volts_per_code * codes + line.offset_volts - true_volts(line.channel, codes)
        assert np.max(np.abs(error)) < 0.5 * lsb, (profile, line.channel)


def test_without_inl_gain_and_offset_match_the_board_to_a_twentieth_of_an_lsb() -> None:
    bench = load_bench("xor-2-2-1", "harsh", {"sim": {"dac_inl_lsb": 0.0,
                                                      "stuck_dac_channels": []}})
    full = 1 << bench.dac.bits
    lsb = bench.dac.vref / full
    table, _, board = measure(bench, "mock://?board_seed=7")
    assert max(abs(g - 1) for g in board["dac_gain"]) > 0.1      # a >= 10% gain error is in it
    for line in table.good():
        ch = line.channel
        true_slope = lsb * board["dac_gain"][ch]
        assert abs(line.volts_per_code - true_slope) * full < 0.05 * lsb       # over full scale
        assert abs(line.offset_volts - board["dac_offset"][ch]) < 0.05 * lsb
        assert line.gain_error == pytest.approx(board["dac_gain"][ch] - 1, abs=1e-4)
        assert line.max_inl_lsb < 0.05


def test_reported_inl_is_the_bow_of_the_dac() -> None:
    bench = load_bench("xor-2-2-1", overrides={"sim": {"dac_inl_lsb": 2.0}})
    table, true_volts, board = measure(bench, channels=[0, 3])
    for line in table.channels:
        codes = np.array(line.codes)
        v = true_volts(line.channel, codes)
        chord = v[0] + (v[-1] - v[0]) * (codes - codes[0]) / (codes[-1] - codes[0])
        expected = (v - chord)[np.argmax(np.abs(v - chord))] / line.volts_per_code
        assert line.endpoint_inl_lsb == pytest.approx(expected, abs=0.02)
        assert abs(line.endpoint_inl_lsb) > 1.8                   # the 2 LSB bow, seen
        assert np.sign(line.endpoint_inl_lsb) == board["dac_inl_sign"][line.channel]


def test_a_stuck_channel_is_kept_out_of_the_table_with_its_reason() -> None:
    bench = load_bench("xor-2-2-1", "harsh")
    table, _, _ = measure(bench, channels=[0, 1])
    stuck, ok = table.channels
    assert (stuck.channel, stuck.ok, ok.ok) == (0, False, True)
    assert "does not follow the code" in stuck.problem


def test_sweep_stays_inside_the_limits_and_refuses_impossible_point_counts() -> None:
    bench = load_bench("xor-2-2-1", "harsh")
    codes = sweep_codes(bench, 17)
    assert (codes[0], codes[-1], len(codes)) == (4, 251, 17)
    with pytest.raises(ConfigError, match="--points 300 is out of range: must be in 3..248"):
        sweep_codes(bench, 300)


@pytest.fixture(scope="module")
def harsh_table(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A harsh bench file beside its measured table, as a user would set it up."""
    folder = tmp_path_factory.mktemp("bench")
    table, _, _ = measure(load_bench("xor-2-2-1", "harsh"))
    write_table(folder / "board.cal.toml", table)
    text = (ROOT / "bench" / "xor-2-2-1.toml").read_text()
    bench_file = folder / "xor.toml"
    bench_file.write_text(text.replace("[calibration]\n", '[calibration]\ntable = "board.cal.toml"\n'))
    return bench_file, folder / "board.cal.toml"


def test_a_bench_file_attaches_its_table_relative_to_itself(harsh_table, monkeypatch,
                                                            tmp_path: Path) -> None:
    bench_file, table_file = harsh_table
    monkeypatch.chdir(tmp_path)                  # not where the bench file is
    bench = load_bench(str(bench_file), "harsh")
    cal = bench.dac_calibration
    good = load_table(table_file).good()
    assert cal.channels == tuple(c.channel for c in good) and 0 not in cal.channels
    assert cal.volts_per_code == tuple(c.volts_per_code for c in good)
    assert bench.calibration.table == str(table_file.resolve()) and "34461A" in cal.source


def test_codemap_with_the_table_asks_for_the_volts_it_means(harsh_table) -> None:
    bench_file, _ = harsh_table
    calibrated = load_bench(str(bench_file), "harsh")
    nominal = load_bench("xor-2-2-1", "harsh")
    cal = calibrated.calibration
    with open_device("mock://", calibrated) as dev:
        net = dev.network

        def weight_error_lsb(codemap: CodeMap, k: int) -> float:
            """|host weight - weight the DAC volts really mean| over all codes, in weight LSB."""
            codes = every_code(calibrated)
            meant = cal.weight_per_volt * (np.array([net.channel_volts(
                calibrated.wiring.weights[k], int(c)) for c in codes]) - cal.weight_zero_volts)
            host = codemap.slope[k] * codes + codemap.intercept[k]
            return float(np.max(np.abs(host - meant)) / codemap.weight_lsb[k])

        with_table, without = CodeMap(calibrated), CodeMap(nominal)
        for k in range(1, calibrated.n_weights):       # weight 0's channel is stuck
            assert weight_error_lsb(with_table, k) < 0.5
        assert max(weight_error_lsb(without, k) for k in range(1, 9)) > 5
        signal = [net.channel_volts(ch, int(c)) - cal.input_zero_volts for ch, c in
                  zip(calibrated.wiring.inputs, with_table.inputs_to_codes(np.array([[0, 1]]))[0])]
        assert signal == pytest.approx([-0.5, 0.5], abs=0.5 * bench_lsb(calibrated))


def bench_lsb(bench: Bench) -> float:
    return bench.dac.vref / (1 << bench.dac.bits)


def test_run_config_records_the_lines_so_resume_needs_no_table_file(harsh_table,
                                                                    tmp_path: Path) -> None:
    bench_file, _ = harsh_table
    bench = load_bench(str(bench_file), "harsh")
    spec = RunSpec("mock://", bench, "xor", TrainConfig.for_bench(bench))
    again = RunSpec.from_config(spec.to_config(), "config.toml")     # what --resume reads
    assert again.bench.dac_calibration == bench.dac_calibration
    assert np.array_equal(CodeMap(again.bench).slope, CodeMap(bench).slope)


def test_table_of_another_resolution_or_missing_file_is_a_config_error(harsh_table) -> None:
    bench_file, _ = harsh_table
    with pytest.raises(ConfigError, match="measured with 8-bit DAC codes, the bench .default "
                       "profile. has 12-bit: recalibrate"):
        load_bench(str(bench_file))
    missing = bench_file.with_name("other.toml")
    missing.write_text(bench_file.read_text().replace("board.cal.toml", "gone.cal.toml"))
    with pytest.raises(ConfigError, match="calibration table not found: .*gone.cal.toml"):
        load_bench(str(missing), "harsh")


def test_recalibrating_one_channel_keeps_the_others(harsh_table, tmp_path: Path) -> None:
    _, table_file = harsh_table
    path = tmp_path / "t.cal.toml"
    path.write_bytes(table_file.read_bytes())
    before = load_table(path)
    table, _, _ = measure(load_bench("xor-2-2-1", "harsh"), "mock://?board_seed=99", [3])
    after = write_table(path, table)
    assert [c.channel for c in after.channels] == [c.channel for c in before.channels]
    changed = {c.channel for c, old in zip(after.channels, before.channels) if c != old}
    assert changed == {3} and load_table(path) == after
    other = dataclasses.replace(table, dac_bits=12)
    with pytest.raises(ConfigError, match="holds a calibration of bench 'xor-2-2-1' with 8-bit"):
        write_table(path, other)
