"""The rules beyond wp against the analytic gradient of the same network, and their costs.

On the `ideal` profile the mock is the ideal model to within half an ADC LSB, so every
estimate must point where backpropagation points. The thresholds follow from what each
rule is. Deterministic estimators (node, mgd with Walsh or sequential codes over a whole
code cycle) differ from the analytic gradient only by the O(pert) curvature of a forward
difference: cosine > 0.99, as for wp. Random-sign estimators are unbiased, but one draw
carries cross-talk from the m - 1 other weights perturbed with it (variance sum_{j!=k}
g_j^2 per component), so averaging N draws leaves an expected cosine of about
(1 + (m - 1) / N)^(-1/2): spsa perturbs all 9 XOR weights (m = 9; N = 400 draws -> 0.990),
mgd with random codes is the same with N = tau_theta, swnp perturbs one neuron's fan-in
(m = 3 on XOR, 5 on iris; N = 200 -> 0.995 and 0.990). Their threshold is 0.97, several
standard deviations of the cosine below those values for these sizes.
"""

from __future__ import annotations

import numpy as np
import pytest

from wphil.drivers import load_bench, open_device
from wphil.drivers.errors import ConfigError
from wphil.learning.codes import CodeMap
from wphil.learning.model import IdealModel
from wphil.learning.objective import Objective
from wphil.learning.rules import make_rule
from wphil.learning.rules.mgd import walsh_hadamard
from wphil.learning.tasks import load_task


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def check_against_analytic(bench_name: str, task_name: str, algo: str, options: dict,
                           draws: int, threshold: float, per_step_queries) -> None:
    bench, task = load_bench(bench_name, "ideal"), load_task(task_name)
    cm, model = CodeMap(bench), IdealModel(bench)
    rng = np.random.default_rng(7)
    with open_device("mock://", bench) as dev:
        objective = Objective(dev, bench, task, cm)
        rule = make_rule(algo, objective, 0.01, np.random.default_rng(1), options)
        patterns = np.arange(len(task.labels))
        for _ in range(3):
            codes = cm.weights_to_codes(rng.uniform(-1.5, 1.5, bench.n_weights))
            estimates = [rule.estimate(codes, patterns) for _ in range(draws)]
            _, analytic = model.gradient(cm.codes_to_weights(codes),
                                         cm.input_volts(objective.input_codes), objective.targets)
            gradient = np.mean([e.gradient for e in estimates], axis=0)
            assert cosine(gradient, analytic) > threshold
            assert all(e.queries == per_step_queries(bench) * len(patterns) for e in estimates)


def neurons(bench) -> int:
    return sum(bench.topology.layers[1:])


@pytest.mark.parametrize("bench_name,task_name,algo,options,draws,threshold,cost", [
    ("xor-2-2-1", "xor", "node", {}, 1, 0.99, lambda b: 1 + neurons(b)),
    ("xor-2-2-1", "xor", "swnp", {"samples": 200}, 1, 0.97, lambda b: 1 + 200 * neurons(b)),
    ("iris", "iris", "swnp", {"samples": 200}, 1, 0.97, lambda b: 1 + 200 * neurons(b)),
    ("xor-2-2-1", "xor", "spsa", {"samples": 400, "gamma": 0.0}, 1, 0.97, lambda b: 800),
    ("xor-2-2-1", "xor", "mgd", {"tau_theta": 400}, 1, 0.97, lambda b: 401),
    ("xor-2-2-1", "xor", "mgd", {"code": "walsh", "tau_theta": 16}, 1, 0.99, lambda b: 17),
    ("iris", "iris", "mgd", {"code": "walsh", "tau_theta": 32}, 1, 0.99, lambda b: 33),
    ("iris", "iris", "mgd", {"code": "sequential", "tau_theta": 27}, 1, 0.99, lambda b: 28),
    # the code clock runs on across windows: 16 windows of 2 periods are one 32-period cycle
    ("iris", "iris", "mgd", {"code": "walsh", "tau_theta": 4, "tau_p": 2}, 16, 0.99, lambda b: 5),
])
def test_rule_gradient_matches_analytic_on_ideal_network(bench_name, task_name, algo, options,
                                                         draws, threshold, cost) -> None:
    check_against_analytic(bench_name, task_name, algo, options, draws, threshold, cost)


def test_spsa_draws_average_to_the_analytic_gradient() -> None:
    """One draw at a time, as training uses it: 400 single-draw estimates average out."""
    check_against_analytic("xor-2-2-1", "xor", "spsa", {"gamma": 0.0}, 400, 0.97, lambda b: 2)


def test_bp_gradient_is_the_ideal_models_and_costs_no_queries(ideal_xor_bench) -> None:
    check_against_analytic("xor-2-2-1", "xor", "bp", {}, 1, 0.999999, lambda b: 0)


def test_walsh_codes_are_orthogonal_and_zero_mean_over_a_cycle() -> None:
    codes = walsh_hadamard(10)[:, 1:10]
    assert codes.shape == (16, 9)
    assert np.array_equal(codes.T @ codes, 16 * np.eye(9, dtype=int))
    assert np.all(codes.sum(axis=0) == 0)


def test_spsa_follows_spalls_gain_schedules(ideal_xor_bench) -> None:
    cm = CodeMap(ideal_xor_bench)
    with open_device("mock://", ideal_xor_bench) as dev:
        objective = Objective(dev, ideal_xor_bench, load_task("xor"), cm)
        rule = make_rule("spsa", objective, 0.04, np.random.default_rng(0), {"stability": 10})
        codes = cm.weights_to_codes(np.full(9, 0.3))
        scales = [rule.estimate(codes, np.arange(4)).lr_scale for _ in range(50)]
    k = np.arange(50)
    assert scales == pytest.approx((11 / (k + 11)) ** 0.602)
    assert rule.opts == {"alpha": 0.602, "gamma": 0.101, "stability": 10.0, "samples": 1}


def test_node_perturbation_needs_readable_hidden_units() -> None:
    bench = load_bench("parity4")
    with open_device("mock://", bench) as dev:
        objective = Objective(dev, bench, load_task("parity4"), CodeMap(bench))
        with pytest.raises(ConfigError, match="node needs the hidden units read back.*swnp"):
            make_rule("node", objective, 0.04, np.random.default_rng(0))


@pytest.mark.parametrize("options,message", [
    ({"tau_q": 1}, "rule mgd has no option 'tau_q'; valid: code, tau_p, tau_theta, tau_x"),
    ({"tau_p": "0"}, "rule mgd: option tau_p='0' is out of range: must be in 1..1e\\+06"),
    ({"tau_p": "1.5"}, "rule mgd: option tau_p='1.5' must be an integer"),
    ({"code": "gold"}, "option code='gold' is not one of random, sequential, walsh"),
])
def test_bad_rule_options_are_rejected_with_the_allowed_values(ideal_mock, options, message) -> None:
    objective = Objective(ideal_mock, ideal_mock.bench, load_task("xor"), CodeMap(ideal_mock.bench))
    with pytest.raises(ConfigError, match=message):
        make_rule("mgd", objective, 0.04, np.random.default_rng(0), options)
