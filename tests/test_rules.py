"""Measured gradients: weight perturbation against the analytic gradient of the same network.

On the `ideal` profile (no noise or mismatch, 16-bit converters) the mock is the ideal model
to within half an ADC LSB, so the estimates must point where backpropagation points:
a forward difference is biased by O(pert) curvature, a central one by O(pert^2).
"""

from __future__ import annotations

import numpy as np
import pytest

from wphil.drivers import load_bench, open_device
from wphil.drivers.errors import ConfigError
from wphil.learning.codes import CodeMap
from wphil.learning.model import IdealModel
from wphil.learning.objective import Objective
from wphil.learning.rules import RULES, make_rule
from wphil.learning.tasks import load_task


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.mark.parametrize("bench_name,task_name", [("xor-2-2-1", "xor"), ("iris", "iris")])
@pytest.mark.parametrize("algo", ["wp", "wp-central"])
def test_wp_gradient_matches_analytic_on_ideal_network(bench_name, task_name, algo) -> None:
    bench, task = load_bench(bench_name, "ideal"), load_task(task_name)
    cm, model = CodeMap(bench), IdealModel(bench)
    rng = np.random.default_rng(3)
    with open_device("mock://", bench) as dev:
        objective = Objective(dev, bench, task, cm)
        rule = make_rule(algo, objective, pert=0.01, rng=rng)
        for _ in range(5):
            codes = cm.weights_to_codes(rng.uniform(-1.5, 1.5, bench.n_weights))
            patterns = np.arange(len(task.labels))
            estimate = rule.estimate(codes, patterns)
            loss, analytic = model.gradient(cm.codes_to_weights(codes),
                                            cm.input_volts(objective.input_codes), objective.targets)
            assert cosine(estimate.gradient, analytic) > 0.99
            assert estimate.loss == pytest.approx(loss, rel=1e-3)
            per_pass = bench.n_weights + 1 if algo == "wp" else 2 * bench.n_weights + 1
            assert estimate.queries == per_pass * len(patterns)


def test_wp_per_pattern_gradient_matches_analytic_for_each_pattern(ideal_xor_bench) -> None:
    bench, task = ideal_xor_bench, load_task("xor")
    cm, model = CodeMap(bench), IdealModel(bench)
    with open_device("mock://", bench) as dev:
        objective = Objective(dev, bench, task, cm)
        rule = make_rule("wp", objective, 0.01, np.random.default_rng(0))
        codes = cm.weights_to_codes(np.random.default_rng(1).uniform(-1.5, 1.5, 9))
        for p in range(4):
            est = rule.estimate(codes, np.array([p]))
            _, analytic = model.gradient(cm.codes_to_weights(codes),
                                         cm.input_volts(objective.input_codes[p:p + 1]),
                                         objective.targets[p:p + 1])
            assert cosine(est.gradient, analytic) > 0.99


def test_perturbation_at_the_upper_limit_goes_down_instead(ideal_xor_bench) -> None:
    bench, task = ideal_xor_bench, load_task("xor")
    cm = CodeMap(bench)
    with open_device("mock://", bench) as dev:
        objective = Objective(dev, bench, task, cm)
        for algo in RULES:
            rule = make_rule(algo, objective, 0.01, np.random.default_rng(0))
            codes = cm.weights_to_codes(np.full(9, 0.5))
            codes[4] = bench.max_code
            assert np.all(np.isfinite(rule.estimate(codes, np.arange(4)).gradient))


def test_unknown_rule_lists_the_valid_ones(ideal_mock) -> None:
    objective = Objective(ideal_mock, ideal_mock.bench, load_task("xor"), CodeMap(ideal_mock.bench))
    with pytest.raises(ConfigError, match="unknown learning rule 'bp2'; valid: wp, wp-central"):
        make_rule("bp2", objective, 0.01, np.random.default_rng(0))
