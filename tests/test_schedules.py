"""A rule's gain schedule is applied after the optimizer's normalisation (the optax way)."""

from __future__ import annotations

import numpy as np
import pytest

from wphil.drivers import load_bench, open_device
from wphil.learning.optim import SGD, Adam
from wphil.learning.tasks import load_task
from wphil.learning.train import TrainConfig
from wphil.learning.trainers import make_trainer


def _first_adam_step(iteration: int) -> float:
    """The largest weight change of the first Adam step, SPSA at `iteration`."""
    bench = load_bench("xor-2-2-1", "ideal")
    config = TrainConfig.for_bench(bench, algo="spsa", optimizer="adam", lr=0.01, epochs=1)
    with open_device("mock://", bench) as device:
        trainer = make_trainer(device, bench, load_task("xor"), config)
        trainer.rule.load_state({"iteration": np.array(iteration)})
        before = trainer.state.weights.copy()
        next(trainer.run())
        return float(np.abs(trainer.state.weights - before).max())


def test_spsa_gain_schedule_survives_adam_at_step_20k() -> None:
    # Adam's first step is lr * sign(g) per weight, so the step ratio is SPSA's a_k / a_0:
    # Spall 1998, a_k = a / (k + 1 + A)^alpha with A = 100, alpha = 0.602 -> 0.0413 at 20k
    schedule = ((1 + 100) / (20_000 + 1 + 100)) ** 0.602
    ratio = _first_adam_step(20_000) / _first_adam_step(0)
    assert ratio == pytest.approx(schedule, rel=0.02)
    assert 0.035 < ratio < 0.05


def test_adam_scale_multiplies_the_normalised_step_not_the_gradient() -> None:
    gradient = np.array([3.0, -0.2, 1e-3])
    plain, scaled = Adam(0.1), Adam(0.1)
    w = np.zeros(3)
    assert np.allclose(scaled.step(w, gradient, 0.25), 0.25 * plain.step(w, gradient))
    # the old way, the scale inside the gradient, is normalised away
    assert np.allclose(Adam(0.1).step(w, 0.25 * gradient), Adam(0.1).step(w, gradient), rtol=1e-4)


def test_sgd_scale_is_a_factor_on_the_learning_rate() -> None:
    gradient = np.array([1.0, -2.0])
    assert np.allclose(SGD(0.5).step(np.zeros(2), gradient, 0.1), SGD(0.05).step(np.zeros(2), gradient))
