"""The mock device: the physics model, batching, query counting, limits, URL options."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import XOR_FEATURES
from wphil.drivers import ConfigError, LimitError, load_bench, open_device
from wphil.drivers.analog import AnalogNetwork, BoardInstance
from wphil.learning.codes import CodeMap
from wphil.learning.model import IdealModel


def random_codes(bench, n: int, seed: int = 0) -> np.ndarray:
    cm = CodeMap(bench)
    return cm.weights_to_codes(np.random.default_rng(seed).uniform(-2, 2, (n, bench.n_weights)))


@pytest.mark.parametrize("name", ["xor-2-2-1", "iris"])
def test_ideal_mock_reads_the_ideal_model_within_half_an_lsb(name: str) -> None:
    bench = load_bench(name, "ideal")
    cm, model = CodeMap(bench), IdealModel(bench)
    inputs = cm.inputs_to_codes(np.random.default_rng(1).random((20, bench.n_inputs)))
    codes = random_codes(bench, 8)
    with open_device("mock://", bench) as dev:
        adc = dev.evaluate(inputs, codes)
    for row, c in zip(adc, codes):
        volts = model.forward(cm.codes_to_weights(c), cm.input_volts(inputs))[-1]
        assert np.abs(row - (volts * cm.adc_scale + cm.adc_mid)).max() <= 0.5 + 1e-9


def test_hidden_readouts_follow_the_outputs(ideal_xor_bench) -> None:
    cm, model = CodeMap(ideal_xor_bench), IdealModel(ideal_xor_bench)
    inputs, codes = cm.inputs_to_codes(XOR_FEATURES), random_codes(ideal_xor_bench, 1)[0]
    with open_device("mock://", ideal_xor_bench) as dev:
        adc = dev.evaluate(inputs, codes, hidden=True)[0]
    acts = model.forward(cm.codes_to_weights(codes), cm.input_volts(inputs))
    expected = np.concatenate([acts[2], acts[1]], axis=1) * cm.adc_scale + cm.adc_mid
    assert adc.shape == (4, 3) and np.abs(adc - expected).max() <= 0.5 + 1e-9


def test_perturbed_batch_equals_the_same_dense_batch(ideal_mock) -> None:
    bench = ideal_mock.bench
    inputs, base = CodeMap(bench).inputs_to_codes(XOR_FEATURES), random_codes(bench, 1)[0]
    perts = [[(0, 7)], [(3, -5), (8, 2)], [(k, 1) for k in range(9)]]
    dense = np.repeat(base[None], 4, axis=0)
    dense[1, 0] += 7
    dense[2, 3] -= 5
    dense[2, 8] += 2
    dense[3] += 1
    assert np.array_equal(ideal_mock.evaluate(inputs, base, perts), ideal_mock.evaluate(inputs, dense))


def test_one_query_is_one_forward_pass_of_one_pattern(ideal_mock) -> None:
    inputs = CodeMap(ideal_mock.bench).inputs_to_codes(XOR_FEATURES)
    ideal_mock.evaluate(inputs)                                   # 1 vector x 4
    ideal_mock.evaluate(inputs[:3], random_codes(ideal_mock.bench, 5))    # 5 x 3
    ideal_mock.evaluate(inputs[:1], perturbations=[[(0, 1)]] * 9)         # (1 + 9) x 1
    assert ideal_mock.queries == 4 + 15 + 10


def test_codes_outside_the_limits_are_refused(ideal_mock) -> None:
    bench = ideal_mock.bench
    inputs = CodeMap(bench).inputs_to_codes(XOR_FEATURES)
    codes = np.full(bench.n_weights, bench.max_code)
    with pytest.raises(LimitError, match="outside the bench limits"):
        ideal_mock.set_codes(codes + 1)
    with pytest.raises(LimitError):
        ideal_mock.evaluate(inputs, codes, [[(2, 1)]])
    with pytest.raises(ValueError, match="shape"):
        ideal_mock.evaluate(inputs, codes[:-1])
    assert ideal_mock.queries == 0


def test_same_seeds_give_the_same_readings_and_board_seed_changes_the_board(xor_bench) -> None:
    inputs, codes = CodeMap(xor_bench).inputs_to_codes(XOR_FEATURES), random_codes(xor_bench, 16)
    def read(url: str) -> np.ndarray:
        with open_device(url, xor_bench) as dev:
            return dev.evaluate(inputs, codes)
    assert np.array_equal(read("mock://?seed=5"), read("mock://?seed=5"))
    assert not np.array_equal(read("mock://?seed=5"), read("mock://?seed=6"))
    quiet = read("mock://?noise=0&drift=0&board_seed=1")       # drift is seeded too
    assert np.array_equal(quiet, read("mock://?noise=0&drift=0&board_seed=1&seed=9"))
    assert not np.array_equal(quiet, read("mock://?noise=0&drift=0&board_seed=2"))


def test_board_instance_draws_each_effect_independently_of_the_others(xor_bench) -> None:
    from dataclasses import replace
    quiet = replace(xor_bench, sim=replace(xor_bench.sim, dac_gain_mismatch=0.0))
    a, b = BoardInstance.draw(xor_bench, 7), BoardInstance.draw(quiet, 7)
    assert a.weight_gain == b.weight_gain and a.adc_offset == b.adc_offset
    assert b.dac_gain == [1.0] * xor_bench.dac_channels != a.dac_gain


def test_read_noise_has_the_configured_spread(xor_bench) -> None:
    inputs, codes = CodeMap(xor_bench).inputs_to_codes(XOR_FEATURES), random_codes(xor_bench, 1)
    volts = 0.004     # ~5 LSB at the ADC, 2.5 LSB after 4x oversampling
    with open_device(f"mock://?noise={volts}", xor_bench) as dev:
        adc = dev.evaluate(inputs, np.repeat(codes, 20000, axis=0)).astype(float)
    spread = adc.std(axis=0).mean()
    expected = volts * 4096 / 3.3 / np.sqrt(xor_bench.adc.oversample)
    assert spread == pytest.approx(expected, rel=0.05)
    centred = (adc - adc.mean(axis=0)).ravel() / spread
    assert abs(np.mean(np.abs(centred) > 2) - 0.0455) < 0.01    # Gaussian tails


def test_stuck_dac_channel_ignores_writes(xor_bench) -> None:
    from dataclasses import replace
    stuck = replace(xor_bench, sim=replace(xor_bench.sim, stuck_dac_channels=(0,), stuck_code=100))
    net = AnalogNetwork(stuck)
    codes = random_codes(xor_bench, 3)
    w = net.weights(codes)
    assert np.allclose(w[:, 0], w[0, 0]) and not np.allclose(w[:, 1], w[0, 1])


def test_rp2040_dnl_spikes_make_their_codes_wide(xor_bench) -> None:
    from dataclasses import replace
    bench = replace(xor_bench, sim=replace(xor_bench.sim, dnl_spike_lsb=2.0, read_noise_volts=0.002))
    cm = CodeMap(bench)
    # sweep the output bias across the ADC range so every code near 1536 and 2560 is visited
    codes = np.tile(cm.weights_to_codes(np.zeros(9)), (4000, 1))
    codes[:, 8] = np.linspace(cm.weights_to_codes(np.full(9, -1.2))[8],
                              cm.weights_to_codes(np.full(9, 1.2))[8], 4000).astype(int)
    with open_device("mock://", bench) as dev:
        adc = dev.evaluate(cm.inputs_to_codes(XOR_FEATURES[:1]), codes).ravel()
    counts = np.bincount(adc, minlength=4096)
    for spike in (1536, 2560):
        assert counts[spike] > 3 * np.median(counts[spike - 20:spike + 20])
        assert counts[spike + 1] == counts[spike - 1] == 0


def test_drift_moves_the_outputs_over_many_queries(xor_bench) -> None:
    from dataclasses import replace
    bench = replace(xor_bench, sim=replace(xor_bench.sim, drift_volts_per_kquery=0.002))
    inputs, codes = CodeMap(bench).inputs_to_codes(XOR_FEATURES), random_codes(bench, 1)
    with open_device("mock://?noise=0", bench) as dev:
        first = dev.evaluate(inputs, codes)
        for _ in range(200):
            dev.evaluate(inputs, np.repeat(codes, 100, axis=0))
        assert not np.array_equal(first, dev.evaluate(inputs, codes))


@pytest.mark.parametrize("url,message", [
    ("mock://?speed=3", "unknown option 'speed' for mock://; valid: seed, board_seed, noise"),
    ("mock://?seed=x", "option seed='x' must be an integer >= 0"),
    ("mock://?noise=-1", "option noise=.-1. must be a number >= 0"),
    ("nope://", "unknown device URL scheme 'nope'"),
])
def test_bad_urls_are_config_errors_listing_valid_values(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        open_device(url)


def test_info_describes_the_bench(xor_bench) -> None:
    with open_device("mock://", xor_bench) as dev:
        info = dev.info()
    assert (info.backend, info.dac_channels, info.dac_bits, info.layers) == ("mock", 12, 12, (2, 2, 1))
    assert "hidden" in info.capabilities and info.to_dict()["layers"] == [2, 2, 1]


def test_raw_dac_channels_put_out_the_simulated_voltage(xor_bench) -> None:
    with open_device("mock://", xor_bench) as dev:
        net = dev.network
        dev.set_channel(10, 3000)        # an input channel
        volts = 3000 * 2.048 / 4096
        gain, offset = net.board.dac_gain[10], net.board.dac_offset[10]
        inl = xor_bench.sim.dac_inl_lsb * 2.048 / 4096
        assert abs(dev.probe_volts(10) - (volts * gain + offset)) <= inl * gain + 1e-12
        dev.set_codes(np.full(9, 1000))
        assert dev.probe_volts(0) == pytest.approx(net.channel_volts(0, 1000))
        dev.safe()
        assert dev.probe_volts(10) == pytest.approx(net.channel_volts(10, xor_bench.safe_code))
        with pytest.raises(ValueError, match="DAC channel 12 does not exist"):
            dev.set_channel(12, 0)
        with pytest.raises(LimitError):
            dev.set_channel(3, 4096)
