"""spice:// on recurrent benches: the integrator circuit in an ngspice transient."""

from __future__ import annotations

import numpy as np
import pytest

from wphil.drivers import open_device
from wphil.drivers.bench_files import load_bench
from wphil.drivers.errors import ConfigError
from wphil.drivers.netlist_tran import vmid_volts
from wphil.drivers.spice import TRAN_STEPS_PER_TAU
from wphil.drivers.spice_engine import find_libngspice
from wphil.learning import TrainConfig, load_task, make_trainer

needs_ngspice = pytest.mark.skipif(find_libngspice() is None,
                                   reason="spice://: libngspice not installed "
                                   "(apt-get install libngspice0)")

#: the ideal profile (16-bit converters, no mismatch) with equal time constants and no noise:
#: what is left between spice:// and mock:// is the circuit against the model
IDEAL = {"sim": {"read_noise_volts": 0.0, "tau_mismatch": 0.0}}
#: one code of the benches' 12-bit ADC in codes of the ideal profile's 16-bit one
CODE12 = 16


def ideal(name: str):
    return load_bench(name, "ideal", overrides=IDEAL)


def weight_codes(bench, rows: int, spread: float, seed: int) -> np.ndarray:
    """Random weight codes within +-spread of full scale around weight zero (mid-scale)."""
    full = 1 << bench.dac.bits
    rng = np.random.default_rng(seed)
    return full // 2 + (rng.uniform(-spread, spread, (rows, bench.n_weights)) * full).astype(int)


def bit_inputs(bench, steps: int, seed: int) -> np.ndarray:
    full = 1 << bench.dac.bits
    levels = [round((bench.calibration.input_zero_volts + v) / bench.dac.vref * full)
              for v in bench.calibration.input_volts]
    return np.random.default_rng(seed).choice(levels, (steps, bench.n_inputs))


def replay(url: str, bench, inputs, codes) -> np.ndarray:
    with open_device(url, bench) as dev:
        return dev.evaluate_sequence(inputs, codes).astype(int)


@needs_ngspice
@pytest.mark.parametrize("name", ["oscillator-2", "delayed-xor"])
def test_in_the_linear_range_the_circuit_is_the_models_integrator(name: str) -> None:
    """Weights within +-0.16 keep every net inside the limiter's linear part: the circuit
    (limiter, then the inverting integrator tau = 10k x 100 nF) is tau da/dt = -a + net, as
    mock's RK4. Measured (bench/spice_tran_accuracy.py, 5 seeds x 4 rows): mean 0.8, max 2
    12-bit codes apart: the limiter's diode shunt, 0.2% gain and vsat 1.0 vs the limiter.
    Here one seed, 6 rows, held to 3 codes."""
    bench = ideal(name)
    codes, inputs = weight_codes(bench, 6, 0.02, seed=1), bit_inputs(bench, 16, seed=2)
    circuit = replay("spice://?nominal=1", bench, inputs, codes)
    model = replay("mock://", bench, inputs, codes)
    assert np.abs(circuit - model).max() <= 3 * CODE12
    assert np.ptp(model) > 50 * CODE12                  # the network does move


@needs_ngspice
@pytest.mark.slow
@pytest.mark.parametrize("name", ["oscillator-2", "delayed-xor"])
def test_saturating_sequences_differ_from_mock_by_the_diode_limiter_only(name: str) -> None:
    """Weights within +-2: the nets saturate, and the diode limiter is not vsat tanh(net/vsat)
    (it flattens later and keeps rising past 1 V). Measured over 5 x 4 random weight vectors,
    in 12-bit codes: mean 33 / 40, 95th percentile 83 / 86, max 249 / 99 (oscillator-2 /
    delayed-xor); within +-0.8 of weight: mean 11 / 15. The residual grows with the weights
    (the linear-range test above: under 3 codes), and an oscillation's phase drifts with it."""
    bench = ideal(name)
    steps = 32 if name == "oscillator-2" else 12
    diffs = []
    for seed in range(5):
        codes, inputs = weight_codes(bench, 4, 0.25, seed), bit_inputs(bench, steps, seed)
        circuit = replay("spice://?nominal=1", bench, inputs, codes)
        diffs.append(np.abs(circuit - replay("mock://", bench, inputs, codes)) / CODE12)
    diff = np.concatenate([d.ravel() for d in diffs])
    assert diff.mean() <= 45 and np.percentile(diff, 95) <= 100 and diff.max() <= 300
    assert diff.mean() > 5                              # saturation is where they part


@needs_ngspice
def test_halving_the_transient_step_moves_no_sample_by_an_adc_code() -> None:
    bench = load_bench("delayed-xor")
    codes, inputs = weight_codes(bench, 3, 0.3, seed=3), bit_inputs(bench, 12, seed=3)
    tau_us = min(bench.recurrent.tau_us)
    with open_device("spice://", bench) as dev:
        step = dev.sequence_volts(inputs, codes, bench.recurrent.step_us)
        half = dev.sequence_volts(inputs, codes, bench.recurrent.step_us,
                                  max_step_us=tau_us / TRAN_STEPS_PER_TAU / 2)
    lsb = bench.adc.vref / (1 << bench.adc.bits)
    assert np.abs(step - half).max() < lsb
    assert np.ptp(step) > 0.5                           # the sequence exercises the network


@needs_ngspice
def test_perturbed_batch_rows_equal_one_by_one_replays() -> None:
    bench = load_bench("oscillator-2", overrides={"sim": {"read_noise_volts": 0.0,
                                                          "drift_volts_per_kquery": 0.0}})
    base = weight_codes(bench, 1, 0.2, seed=5)[0]
    perts = [[(0, 40)], [(3, -40)], [(5, 40)]]
    inputs = np.zeros((32, 0), dtype=np.int64)
    with open_device("spice://?board_seed=4", bench) as dev:
        batch = dev.evaluate_sequence(inputs, base, perts)
        assert batch.shape == (4, 32, 2) and dev.queries == 4 * 32
        for row, pert in enumerate([[]] + perts):
            codes = base.copy()
            for k, d in pert:
                codes[k] += d
            single = dev.evaluate_sequence(inputs, codes)[0]
            assert np.abs(single.astype(int) - batch[row]).max() <= 1    # solver tolerance
        assert np.abs(batch[1:].astype(int) - batch[0]).max() > 5       # the rows do differ


@needs_ngspice
def test_a_resumed_sequence_goes_on_from_the_capacitors_state() -> None:
    bench = load_bench("delayed-xor", overrides={"sim": {"read_noise_volts": 0.0,
                                                         "drift_volts_per_kquery": 0.0}})
    codes, inputs = weight_codes(bench, 1, 0.3, seed=6)[0], bit_inputs(bench, 8, seed=6)
    with open_device("spice://", bench) as dev:
        whole = dev.evaluate_sequence(inputs, codes).astype(int)
        first = dev.evaluate_sequence(inputs[:4], codes)
        rest = dev.evaluate_sequence(inputs[4:], codes, resume=True)
        fresh = dev.evaluate_sequence(inputs[4:], codes).astype(int)
    assert np.abs(np.concatenate([first, rest], axis=1) - whole).max() <= 1
    assert np.abs(fresh - whole[:, 4:]).max() > 5       # from reset, it would differ


@needs_ngspice
def test_a_fresh_sequence_starts_where_the_reset_switch_leaves_each_integrator() -> None:
    # a shorted capacitor holds 0 V: each output sits at its + input, VMID plus the op-amp's
    # offset, which on a real board is some codes away from the ADC's mid-scale; 1 us steps
    # (shorter than the DAC edge) sample that start before the circuit moves
    bench = load_bench("delayed-xor")
    codes, inputs = weight_codes(bench, 2, 0.3, seed=7), bit_inputs(bench, 4, seed=7)
    with open_device("spice://?board_seed=3", bench) as dev:
        volts = dev.sequence_volts(inputs, codes, step_us=1)
        start = vmid_volts(bench, dev.parts) + dev.parts.int_vos - bench.adc.vref / 2
    lsb = bench.adc.vref / (1 << bench.adc.bits)
    assert np.abs(volts[:, 0] - start).max() < 2 * lsb    # 1 us at up to 1 V / tau = 1 mV
    assert np.abs(start).min() > 8 * lsb          # this board's start is off mid-scale


def test_the_abstract_circuit_board_refuses_a_recurrent_bench_in_one_line() -> None:
    with pytest.raises(ConfigError, match="is recurrent: .*feed-forward circuits only"):
        open_device("mock://?circuit=1", load_bench("oscillator-2"))


def test_a_recurrent_bench_whose_tau_is_not_its_integrators_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"tau_us\[0\] = 1000 disagrees .* 2000 us"):
        load_bench("oscillator-2", overrides={"circuit": {"int_ohms": 20_000.0}})
    with pytest.raises(ConfigError, match="int_farads = 0: a recurrent bench needs"):
        load_bench("oscillator-2", overrides={"circuit": {"int_farads": 0.0}})


@needs_ngspice
@pytest.mark.slow
def test_a_few_wp_central_epochs_on_spice_lower_the_oscillator_loss() -> None:
    bench = load_bench("oscillator-2")
    config = TrainConfig.for_bench(bench, epochs=12, seed=6)
    with open_device("spice://?seed=106", bench) as dev:
        trainer = make_trainer(dev, bench, load_task("oscillator"), config)
        records = list(trainer.run())
        assert dev.solves >= len(records) - 1             # the circuit was solved every epoch
    assert records[-1].loss < 0.9 * records[0].loss
