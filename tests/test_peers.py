"""The peer-optimizer adapter: same device, same loss, every query counted."""

from __future__ import annotations

import numpy as np
import pytest

from wphil.compare.peers import DeviceLoss, StopSearch, initial_weights
from wphil.compare.registry import PEERS, make_peer
from wphil.drivers import open_device
from wphil.drivers.errors import ConfigError
from wphil.learning.codes import CodeMap
from wphil.learning.objective import Objective
from wphil.learning.tasks import load_task
from wphil.learning.train import TrainConfig, Trainer


def objective_for(dev):
    return Objective(dev, dev.bench, load_task("xor"), CodeMap(dev.bench))


@pytest.mark.parametrize("name", [p for p in PEERS if p != "cma-es-mb"])
@pytest.mark.slow
def test_peer_adapter_counts_every_query(xor_bench, name) -> None:
    with open_device("mock://?seed=5", xor_bench) as dev:
        objective = objective_for(dev)
        loss = DeviceLoss(objective, target_accuracy=1.0, target_loss=1e-9, max_queries=3000)
        lo, hi = objective.codemap.weight_bounds()
        result = make_peer(name).run(loss, initial_weights(objective, 0.8, 0), lo, hi, 0)
        assert result.stop_reason == "max_queries"
        assert result.queries == dev.queries == loss.queries
        assert result.evaluations == len(result.history) == dev.queries // 4   # 4 patterns each
        assert 3000 <= result.queries < 3000 + 4 * 20          # stops within one batch
        assert [p.queries for p in result.history] == sorted(p.queries for p in result.history)


def test_adapter_measures_the_same_loss_as_the_trainer(ideal_xor_bench) -> None:
    with open_device("mock://", ideal_xor_bench) as dev:
        objective = objective_for(dev)
        weights = np.random.default_rng(0).uniform(-1, 1, (5, 9))
        losses = DeviceLoss(objective, 1.0, 1e-9).many(weights)
        codes = objective.codemap.weights_to_codes(weights)
        assert losses == pytest.approx(objective.losses(codes, np.arange(4)))


def test_adapter_stops_the_search_at_the_target_and_keeps_that_point(xor_bench) -> None:
    with open_device("mock://", xor_bench) as dev:
        loss = DeviceLoss(objective_for(dev), target_accuracy=0.0)
        with pytest.raises(StopSearch, match="converged"):
            loss(np.zeros(9))
        assert loss.best.accuracy >= 0.0 and loss.evaluations == 1


def test_peers_start_from_the_trainers_initial_weights(xor_bench) -> None:
    with open_device("mock://", xor_bench) as dev:
        trainer = Trainer(dev, xor_bench, load_task("xor"), TrainConfig.for_bench(xor_bench, seed=4))
        assert np.array_equal(initial_weights(trainer.objective, 0.8, 4), trainer.state.weights)


def test_unknown_peer_and_option_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown peer optimizer 'bfgs'; valid: nelder-mead"):
        make_peer("bfgs")
    with pytest.raises(ConfigError,
                       match="cma-es has no option 'sigma'; valid: stall_scale, sigma0, popsize"):
        make_peer("cma-es", {"sigma": 1})


@pytest.mark.slow
def test_mini_batch_cma_counts_batch_queries_and_records_only_whole_set_checks() -> None:
    from wphil.drivers import load_bench

    bench = load_bench("iris")
    with open_device("mock://?seed=5", bench) as dev:
        objective = Objective(dev, bench, load_task("iris"), CodeMap(bench))
        loss = DeviceLoss(objective, target_accuracy=1.0, target_loss=1e-9, max_queries=5000)
        lo, hi = objective.codemap.weight_bounds()
        result = make_peer("cma-es-mb").run(loss, initial_weights(objective, 1.0, 0), lo, hi, 0)
    assert result.stop_reason == "max_queries" and result.queries == dev.queries
    # checks every 5 whole-set passes of queries: 150 of every ~900 go to whole-set points
    assert 3 <= len(result.history) <= 6
    assert len(result.history) * 150 < result.queries


def test_a_hit_is_confirmed_by_a_fresh_counted_measurement(ideal_xor_bench) -> None:
    with open_device("mock://", ideal_xor_bench) as dev:
        objective = objective_for(dev)
        loss = DeviceLoss(objective, 0.0, 0.0, margin=0.0, confirm=True)   # any point meets it
        with pytest.raises(StopSearch):
            loss.many(np.zeros((1, 9)))
        assert dev.queries == 8                  # the point, and its confirmation


@pytest.mark.parametrize("name", ["nelder-mead", "powell", "cma-es", "ngopt", "bobyqa"])
@pytest.mark.slow
def test_every_whole_set_peer_measures_each_weight_vector_on_the_whole_set_in_one_request(
        xor_bench, name) -> None:
    """Issue 21: peers evaluated full-batch per weight vector (every pattern of a vector in
    one device request; CMA-ES a whole population per request), so they run at the
    batched rate."""
    with open_device("mock://?seed=5", xor_bench) as dev:
        requests: list[tuple[int, int]] = []
        evaluate = dev.evaluate

        def spy(inputs, codes=None, *args, **kwargs):
            requests.append((len(inputs), 1 if np.ndim(codes) == 1 else len(codes)))
            return evaluate(inputs, codes, *args, **kwargs)

        dev.evaluate = spy
        objective = objective_for(dev)
        loss = DeviceLoss(objective, target_accuracy=1.0, target_loss=1e-9, max_queries=800)
        lo, hi = objective.codemap.weight_bounds()
        result = make_peer(name).run(loss, initial_weights(objective, 0.8, 0), lo, hi, 0)
    assert {patterns for patterns, _ in requests} == {4}           # xor's 4 patterns
    assert sum(vectors for _, vectors in requests) == result.evaluations
    if name == "cma-es":
        # a population of 4 + 3 ln 9 = 10 per request (the last one cut by the budget)
        assert len(requests) == -(-result.evaluations // 10)


def test_a_scipy_searchs_runtime_warnings_go_to_the_log_not_stderr(caplog, capsys) -> None:
    import logging
    import warnings

    from wphil.compare.peers import warnings_to_log

    with caplog.at_level(logging.DEBUG, logger="wphil.compare.peers"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")          # a warning that escaped would raise here
            with warnings_to_log("powell"):
                for _ in range(3):
                    warnings.warn("overflow encountered in scalar multiply", RuntimeWarning,
                                  stacklevel=1)
    assert capsys.readouterr().err == ""
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["powell: 3 RuntimeWarning(s) from scipy, first: "
                     "overflow encountered in scalar multiply"]
