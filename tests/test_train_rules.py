"""Every rule trains XOR on the simulated bench; rule state survives a resume; offline transfers."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from wphil.drivers import load_bench, open_device
from wphil.learning.tasks import load_task
from wphil.learning.train import TrainConfig, TrainState
from wphil.learning.trainers import make_trainer


def train(bench, url: str = "mock://", state: TrainState | None = None, **overrides):
    with open_device(url, bench) as dev:
        trainer = make_trainer(dev, bench, load_task("xor"),
                               TrainConfig.for_bench(bench, **overrides), state)
        records = list(trainer.run())
    return trainer, records


@pytest.mark.parametrize("algo,at_least", [
    ("node", 6), ("swnp", 5), ("spsa", 5), ("mgd", 4), ("bp", 6), ("pat", 6),
])
@pytest.mark.slow
def test_each_rule_trains_xor_on_the_mock_with_its_defaults(xor_bench, algo, at_least) -> None:
    """Six seeds each (weights and read noise); the random-sign rules (spsa, swnp) may lose
    one to the 75%-accuracy local minimum of 2-2-1 XOR, which also traps wp on ~1.5% of
    seeds. swnp, seeds 0..59 of this test's setup: 55 converge on the trimmed bench, the rest
    stall at 75% accuracy (59 on the bench before the trimmers, Fisher p = 0.21); the step does
    not help (lr 0.25 / 0.35 / 0.7: 55 / 54 / 49), two sign draws per neuron barely
    (samples=2: 58, not significant, for ~40% more queries per converged run). mgd
    loses two (seeds 0 and 1 stall saturated at the epoch limit) since the stop check reuses
    its base pass and so draws different read noise."""
    results = [train(xor_bench, f"mock://?seed={100 + s}", algo=algo, seed=s)[0]
               for s in range(6)]
    converged = [t for t in results if t.stop_reason == "converged"]
    assert len(converged) >= at_least
    assert all(t.state.accuracy == 1.0 and t.state.loss <= 0.02 for t in converged)


def test_rules_with_noisier_estimates_default_to_smaller_steps(xor_bench) -> None:
    assert TrainConfig.for_bench(xor_bench, algo="wp").lr == 1.0
    assert TrainConfig.for_bench(xor_bench, algo="spsa").lr == 0.25
    assert TrainConfig.for_bench(xor_bench, algo="mgd").lr == 0.5
    assert TrainConfig.for_bench(xor_bench, algo="spsa", lr=0.7).lr == 0.7


@pytest.mark.parametrize("algo,options", [("spsa", {}), ("mgd", {"tau_theta": 3, "tau_p": 2}),
                                          ("mgd", {"code": "walsh", "tau_theta": 5})])
def test_resuming_continues_the_rules_own_state_exactly(ideal_xor_bench, algo, options) -> None:
    """Spall's iteration counter and MGD's clock and current code are checkpointed."""
    settings = dict(algo=algo, rule_options=options, momentum=0.5, target_loss=1e-9)
    straight, _ = train(ideal_xor_bench, epochs=30, **settings)
    first, _ = train(ideal_xor_bench, epochs=12, **settings)
    saved = copy.deepcopy(first.state)
    assert saved.rule                                      # the rule has state to save
    second, records = train(ideal_xor_bench, state=saved, epochs=30, **settings)
    assert records[0].epoch == 13
    assert np.array_equal(second.state.weights, straight.state.weights)


def test_offline_trains_on_the_model_then_spends_one_evaluation_on_the_device(
        ideal_xor_bench) -> None:
    # the ideal profile: on the default one (fitted to the AD633 circuit, with its neuron
    # offsets) the transferred weights usually miss, which is the next test's point
    trainer, records = train(ideal_xor_bench, algo="offline", seed=0)
    assert all(r.queries == 0 for r in records[:-1])       # epochs on the ideal model only
    # one whole-set measurement, and one more to confirm the hit
    assert records[-1].queries == 8 and trainer.state.queries == 8
    assert records[-1].epoch == len(records)
    assert trainer.stop_reason == "converged"


def test_offline_misses_on_untrimmed_boards_where_wp_converges(xor_bench) -> None:
    """An untrimmed board: the AD633 output offsets as the circuit fit gave them before the
    bring-up trim (neuron offsets sigma 0.35 V), which the ideal model knows nothing of. Eight
    boards: wp converges on each; the transferred weights miss the targets on 4 of 8 (boards
    1, 3, 5, 8), with a mean loss 5x wp's (0.045 V^2 against 0.009). Trimmed, as the default
    profile is (sigma 0.031 V), offline misses on only 1 of these 8 boards (mean loss 0.010
    against wp's 0.008), and meets the target on 9 of 10 boards of the circuit simulation
    (bench/results/spice_xor_boards.md): the trimmers close most of this gap."""
    untrimmed = dataclasses.replace(
        xor_bench, sim=dataclasses.replace(xor_bench.sim, neuron_offset_volts=0.35))
    offline, in_loop = [], []
    for board in range(1, 9):
        url = f"mock://?seed={100 + board}&board_seed={board}"
        offline.append(train(untrimmed, url, algo="offline", seed=0)[0])
        in_loop.append(train(untrimmed, url, algo="wp", seed=0)[0])
    assert all(t.stop_reason == "converged" for t in in_loop)
    assert sum(t.stop_reason == "transferred" for t in offline) >= 2
    assert np.mean([t.state.loss for t in offline]) > 2 * np.mean([t.state.loss for t in in_loop])


def test_offline_falls_short_on_the_harsh_bench_where_in_loop_training_does_not() -> None:
    """The reality gap: a stuck weight and 10% mismatch the ideal model knows nothing of."""
    harsh = load_bench("xor-2-2-1", "harsh")
    offline = [train(harsh, f"mock://?seed={100 + s}", algo="offline", seed=s)[0] for s in range(4)]
    in_loop = [train(harsh, f"mock://?seed={100 + s}", algo="wp", seed=s)[0] for s in range(4)]
    assert all(t.stop_reason == "transferred" for t in offline)
    assert np.mean([t.state.accuracy for t in in_loop]) > np.mean([t.state.accuracy for t in offline])
