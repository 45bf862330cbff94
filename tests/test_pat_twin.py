"""Physics-aware training, the twin, Adam and restarts, and the held-out physics."""

from __future__ import annotations

import copy
import logging

import numpy as np
import pytest

from wphil.drivers import load_bench, open_device
from wphil.drivers.errors import ConfigError
from wphil.drivers.upy import sim_board_file
from wphil.learning import CodeMap, IdealModel, Objective, load_task, make_rule
from wphil.learning.identify import batched_readouts, predicted
from wphil.learning.model import Mismatch
from wphil.learning.train import TrainConfig, TrainState
from wphil.learning.trainers import make_trainer


def train(bench, url="mock://", state: TrainState | None = None, task="xor", **overrides):
    with open_device(url, bench) as dev:
        trainer = make_trainer(dev, bench, load_task(task), TrainConfig.for_bench(bench, **overrides),
                               state)
        records = list(trainer.run())
    return trainer, records


def test_pat_gradient_is_backprop_on_an_ideal_noiseless_bench(ideal_xor_bench) -> None:
    """Measured activations equal the model's there, so pat's estimate is bp's, for P queries."""
    with open_device("mock://", ideal_xor_bench) as dev:
        objective = Objective(dev, ideal_xor_bench, load_task("xor"), CodeMap(ideal_xor_bench))
        rng = np.random.default_rng(0)
        codes = objective.codemap.weights_to_codes(rng.uniform(-1, 1, ideal_xor_bench.n_weights))
        pat = make_rule("pat", objective, 0.04, rng).estimate(codes, np.arange(4))
        bp = make_rule("bp", objective, 0.04, rng).estimate(codes, np.arange(4))
    assert pat.queries == 4
    np.testing.assert_allclose(pat.gradient, bp.gradient, rtol=2e-3, atol=1e-5)


def test_pat_without_hidden_readouts_uses_the_model_and_says_so(caplog) -> None:
    bench = load_bench("parity4")
    with caplog.at_level(logging.INFO), open_device("mock://", bench) as dev:
        objective = Objective(dev, bench, load_task("parity4"), CodeMap(bench))
        make_rule("pat", objective, 0.04, np.random.default_rng(0))
    assert "does not read its hidden units back" in caplog.text


@pytest.mark.parametrize("profile", ["harsh", "heldout"])
@pytest.mark.parametrize("algo", ["pat", "twin"])
@pytest.mark.slow
def test_pat_and_twin_reach_the_target_on_harsh_and_held_out_physics(profile, algo) -> None:
    bench = load_bench("xor-2-2-1", profile)
    for seed in range(3):
        trainer, _ = train(bench, f"mock://?seed={100 + seed}&board_seed={1 + seed}", algo=algo,
                           seed=seed, momentum=0.8, max_queries=20_000)
        assert trainer.stop_reason == "converged", (seed, trainer.state)


def test_twin_counts_its_probes_and_records_its_fit(xor_bench) -> None:
    trainer, records = train(xor_bench, algo="twin", seed=0)
    probes = trainer.fit.probes
    # probes on every pattern, 48 readouts again (16 queries of 3 readouts) for the noise
    # floor, the transfer, and the measurement that confirms it
    assert trainer.fit.queries == 4 * probes + 16
    assert records[0].queries == trainer.fit.queries + 4 + 4
    fit = trainer.extra_files()["twin.json"]
    assert {"gain", "offset", "vsat", "out_offset"} <= set(fit["fitted"])
    assert all(s > 0 for s in fit["sigma"]["gain"])
    assert fit["rms_volts"] < 0.01                         # the board is in the model's family


@pytest.mark.slow
def test_twin_on_physics_outside_its_equation_transfers_through_its_correction() -> None:
    """On the held-out board the fitted correction (transfer curves, compression) makes the
    twin good enough that the transfer alone reaches the target on most boards (the plain
    model's transfer missed and needed the in-loop fallback); every run converges."""
    bench = load_bench("xor-2-2-1", "heldout")
    transferred = 0
    for seed in range(4):
        trainer, records = train(bench, f"mock://?seed={100 + seed}&board_seed={1 + seed}",
                                 algo="twin", seed=seed, momentum=0.8, max_queries=20_000)
        assert trainer.stop_reason == "converged"
        assert trainer.fit.params.level.name.startswith("curves")
        transferred += len(records) == 1
    assert transferred >= 3


def test_twin_fit_recovers_the_mock_boards_mismatch() -> None:
    bench = load_bench("xor-2-2-1")
    with open_device("mock://?board_seed=3", bench) as dev:
        objective = Objective(dev, bench, load_task("xor"), CodeMap(bench))
        from wphil.learning.identify import fit_mismatch
        fit = fit_mismatch(objective, 12, np.random.default_rng(1))
        vsat_true = np.array(dev.network.board.vsat)
    assert np.max(np.abs(fit.mismatch.vsat - vsat_true)) < 0.05
    assert objective.queries == 12 * 4


def test_batched_model_readouts_match_the_model() -> None:
    bench = load_bench("iris")
    rng = np.random.default_rng(0)
    theta = Mismatch.ideal(bench).vector() + rng.normal(0, 0.05, len(Mismatch.ideal(bench).vector()))
    weights, signals = rng.uniform(-2, 2, (3, bench.n_weights)), rng.uniform(-0.5, 0.5, (7, 4))
    model = IdealModel(bench, Mismatch.from_vector(theta, Mismatch.ideal(bench)))
    np.testing.assert_allclose(batched_readouts(bench, theta[None], weights, signals, False)[0],
                               predicted(model, weights, signals, False), atol=1e-12)


def test_twin_resumes_without_probing_again(xor_bench) -> None:
    bench = load_bench("xor-2-2-1", "heldout")
    # the fitted model barely trained (one epoch): the transfer misses, the loop goes on
    settings = {"algo": "twin", "seed": 1, "momentum": 0.8, "rule_options": {"model_epochs": 1}}
    first, records = train(bench, epochs=1, **settings)
    assert first.stop_reason == "max_epochs" and first.state.rule
    assert first.rule.level.startswith("curves")
    saved = copy.deepcopy(first.state)
    second, more = train(bench, state=saved, epochs=3, **settings)
    assert more[0].epoch == 2 and second.rule.level == first.rule.level
    np.testing.assert_array_equal(second.rule.correction.alpha, first.rule.correction.alpha)
    assert more[0].queries - saved.queries <= 4 * 2      # one pat step (+ a confirmation)


@pytest.mark.parametrize("settings", [{"optimizer": "adam", "lr": 0.1},
                                      {"optimizer": "sgd", "momentum": 0.9, "restart_after": 3}])
def test_adam_and_restarts_resume_exactly(ideal_xor_bench, settings) -> None:
    settings = {"algo": "pat", "seed": 4, "target_accuracy": 1.0, "target_loss": 1e-9, **settings}
    straight, _ = train(ideal_xor_bench, epochs=30, **settings)
    first, _ = train(ideal_xor_bench, epochs=12, **settings)
    saved = copy.deepcopy(first.state)
    assert saved.optimizer
    second, records = train(ideal_xor_bench, state=saved, epochs=30, **settings)
    assert records[0].epoch == 13
    assert np.array_equal(second.state.weights, straight.state.weights)


def test_restart_after_a_stall_draws_fresh_weights(ideal_xor_bench, caplog) -> None:
    with caplog.at_level(logging.INFO):
        train(ideal_xor_bench, algo="pat", lr=1e-9, epochs=9, restart_after=3,
              target_loss=1e-9)
    # best at epochs 1 and 5, three stalled epochs after each: restarts before epochs 5 and 9
    assert caplog.text.count("restarting from fresh weights") == 2


def test_unknown_optimizer_is_refused(xor_bench) -> None:
    with pytest.raises(ConfigError, match="optimizer must be one of sgd, adam"):
        train(xor_bench, optimizer="rmsprop", epochs=1)


def test_held_out_physics_changes_the_outputs_and_upy_refuses_it(tmp_path) -> None:
    default, held_out = load_bench("xor-2-2-1"), load_bench("xor-2-2-1", "heldout")
    codes = np.full((1, 9), 3000)
    reads = []
    for bench in (default, held_out):
        with open_device("mock://?noise=0", bench) as dev:
            reads.append(dev.evaluate(CodeMap(bench).inputs_to_codes(load_task("xor").features),
                                      codes))
    assert np.abs(reads[0] - reads[1]).max() > 20            # tens of ADC codes apart
    with pytest.raises(ConfigError, match="held-out physics"):
        sim_board_file(held_out, tmp_path, {})
