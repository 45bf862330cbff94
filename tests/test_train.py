"""Training on the mock: convergence across seeds, stop conditions, exact resumption."""

from __future__ import annotations

import numpy as np
import pytest

from wphil.drivers import load_bench, open_device
from wphil.learning.tasks import load_task
from wphil.learning.train import TrainConfig, Trainer


def train(bench, task_name: str, url: str = "mock://", **overrides):
    with open_device(url, bench) as dev:
        trainer = Trainer(dev, bench, load_task(task_name), TrainConfig.for_bench(bench, **overrides))
        records = list(trainer.run())
    return trainer, records


def test_xor_converges_on_at_least_19_of_20_seeds_with_default_settings(xor_bench) -> None:
    results = [train(xor_bench, "xor", f"mock://?seed={100 + s}", seed=s)[0] for s in range(20)]
    converged = [t for t in results if t.stop_reason == "converged"]
    assert len(converged) >= 19
    assert all(t.state.accuracy == 1.0 and t.state.loss <= 0.02 for t in converged)


@pytest.mark.slow
def test_xor_converges_per_pattern_as_in_the_paper(xor_bench) -> None:
    results = [train(xor_bench, "xor", f"mock://?seed={s}", seed=s, batch_size=1, lr=0.05,
                     epochs=3000)[0] for s in range(10)]
    assert sum(t.stop_reason == "converged" for t in results) >= 8


def test_wp_central_trains_xor(xor_bench) -> None:
    trainer, _ = train(xor_bench, "xor", algo="wp-central", seed=1)
    assert trainer.stop_reason == "converged"


def test_records_count_every_query_and_epochs_increase(xor_bench) -> None:
    trainer, records = train(xor_bench, "xor", epochs=7, target_accuracy=1.0, target_loss=1e-9)
    assert [r.epoch for r in records] == list(range(1, 8))
    # whole-batch wp: (9 + 1) passes x 4 patterns per step; its base pass is the stop check,
    # so no separate 4-pattern evaluation is paid for
    assert [r.queries for r in records] == [40 * e for e in range(1, 8)]
    assert trainer.stop_reason == "max_epochs"


def test_query_budget_stops_the_run(xor_bench) -> None:
    trainer, records = train(xor_bench, "xor", max_queries=100, target_loss=1e-9)
    assert trainer.stop_reason == "max_queries" and 100 <= records[-1].queries < 150


def test_weights_stay_inside_the_limits_even_with_a_huge_learning_rate(xor_bench) -> None:
    trainer, _ = train(xor_bench, "xor", lr=1e4, epochs=5, target_loss=1e-9)
    lo, hi = trainer.codemap.weight_bounds()
    assert np.all(trainer.state.weights >= lo) and np.all(trainer.state.weights <= hi)


def test_stochastic_rounding_trains_xor(xor_bench) -> None:
    trainer, _ = train(xor_bench, "xor", rounding="stochastic", seed=2)
    assert trainer.stop_reason == "converged"


def test_resuming_from_a_saved_state_continues_exactly(ideal_xor_bench) -> None:
    """On a noise-free device a resumed run reproduces the uninterrupted one bit for bit."""
    import copy
    straight, _ = train(ideal_xor_bench, "xor", epochs=30, momentum=0.5, rounding="stochastic",
                        target_loss=1e-9)
    with open_device("mock://", ideal_xor_bench) as dev:
        config = TrainConfig.for_bench(ideal_xor_bench, epochs=12, momentum=0.5,
                                       rounding="stochastic", target_loss=1e-9)
        first = Trainer(dev, ideal_xor_bench, load_task("xor"), config)
        list(first.run())
        saved = copy.deepcopy(first.state)
    with open_device("mock://", ideal_xor_bench) as dev:
        config = TrainConfig.for_bench(ideal_xor_bench, epochs=30, momentum=0.5,
                                       rounding="stochastic", target_loss=1e-9)
        second = Trainer(dev, ideal_xor_bench, load_task("xor"), config, state=saved)
        records = list(second.run())
    assert records[0].epoch == 13
    assert np.array_equal(second.state.weights, straight.state.weights)
    assert second.state.queries == straight.state.queries


@pytest.mark.slow
def test_iris_reaches_its_target_accuracy() -> None:
    trainer, _ = train(load_bench("iris"), "iris", seed=0)
    assert trainer.stop_reason == "converged" and trainer.state.accuracy >= 0.97
