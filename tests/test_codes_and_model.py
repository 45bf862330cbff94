"""Calibration (weights <-> codes) and the ideal model's analytic gradient."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from wphil.drivers import load_bench
from wphil.learning.codes import CodeMap
from wphil.learning.model import IdealModel
from wphil.learning.tasks import load_task

XOR = load_bench("xor-2-2-1")
IRIS = load_bench("iris")


@given(arrays(float, 9, elements=st.floats(-4.0, 4.0)))
def test_weights_quantize_to_the_nearest_code_within_half_an_lsb(weights: np.ndarray) -> None:
    cm = CodeMap(XOR)
    back = cm.codes_to_weights(cm.weights_to_codes(weights))
    lo, hi = cm.weight_bounds()
    assert np.all(np.abs(back - np.clip(weights, lo, hi)) <= cm.weight_lsb / 2 + 1e-12)


def test_codes_are_clipped_to_the_limits_and_stochastic_rounding_is_unbiased() -> None:
    cm = CodeMap(XOR)
    assert cm.weights_to_codes(np.full(9, 99.0)).max() == XOR.max_code
    assert cm.weights_to_codes(np.full(9, -99.0)).min() == XOR.limits.min_code
    lsb = cm.weight_lsb[0]
    w = cm.codes_to_weights(np.full(9, 2100)) + 0.3 * lsb         # 30% of the way to the next code
    codes = cm.weights_to_codes(np.tile(w, (20_000, 1)), "stochastic", np.random.default_rng(0))
    assert set(np.unique(codes)) == {2100, 2101}
    assert np.mean(cm.codes_to_weights(codes), axis=0) == pytest.approx(w, abs=lsb / 50)


def test_perturbation_is_at_least_one_lsb() -> None:
    cm = CodeMap(XOR)
    assert np.all(cm.perturbation_codes(1e-9) == 1)
    assert np.all(cm.perturbation_codes(0.04) == round(0.04 / cm.weight_lsb[0]))


def test_features_map_to_the_calibrated_input_volts() -> None:
    cm = CodeMap(XOR)
    volts = cm.input_volts(cm.inputs_to_codes(np.array([[0.0, 1.0]])))
    assert volts == pytest.approx(np.array([[-0.5, 0.5]]), abs=cm.dac_lsb_volts)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_ideal_model_gradient_matches_finite_differences(seed: int) -> None:
    rng = np.random.default_rng(seed)
    model, cm, task = IdealModel(IRIS), CodeMap(IRIS), load_task("iris")
    signals = cm.input_volts(cm.inputs_to_codes(task.features[::10]))
    targets = task.targets(IRIS)[::10]
    w = rng.uniform(-1.5, 1.5, IRIS.n_weights)
    _, grad = model.gradient(w, signals, targets)
    h = 1e-6
    numeric = np.array([(model.loss(w + h * e, signals, targets)
                         - model.loss(w - h * e, signals, targets)) / (2 * h)
                        for e in np.eye(len(w))])
    assert np.allclose(grad, numeric, atol=1e-7, rtol=1e-5)
