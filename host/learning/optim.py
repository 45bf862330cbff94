"""Optimizers: how a gradient estimate becomes a weight step (separate from the rule).

`sgd` is heavy-ball momentum SGD; `adam` is Kingma & Ba's Adam (the optimizer Wright et
al. 2022 use for physics-aware training), whose per-weight step size suits rules whose
gradient scale varies a lot between layers. Both keep their state as arrays so a
checkpoint restores them exactly. Restarts on stall live in the trainer (they re-draw
the weights), not here.

A rule's gain schedule (`Estimate.lr_scale`, e.g. SPSA's a_k / a_0) is `step`'s `scale`:
it multiplies the learning rate of that one step, applied after the optimizer's own
normalisation, as optax chains a schedule after `scale_by_adam`. Multiplied into the
gradient instead, Adam would divide it out again (m / sqrt(v) does not see a common factor)
and SPSA's decaying steps would stay near the first one.
"""

from __future__ import annotations

import numpy as np

from wphil.drivers.errors import ConfigError
from wphil.drivers.training_settings import SETTINGS

OPTIMIZERS: tuple[str, ...] = SETTINGS["optimizer"].metadata["choices"]


class SGD:
    """Stochastic gradient descent with optional (heavy-ball) momentum."""

    def __init__(self, lr: float, momentum: float = 0.0) -> None:
        if lr <= 0:
            raise ValueError(f"learning rate must be > 0, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.lr, self.momentum = lr, momentum
        self.velocity: np.ndarray | None = None

    def step(self, weights: np.ndarray, gradient: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """New weights after one step against `gradient`, its learning rate times `scale`."""
        if self.velocity is None:
            self.velocity = np.zeros_like(weights)
        self.velocity = self.momentum * self.velocity - self.lr * scale * gradient
        return weights + self.velocity

    def state(self) -> dict[str, np.ndarray]:
        return {} if self.velocity is None else {"velocity": self.velocity.copy()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.velocity = state["velocity"].copy() if "velocity" in state else None

    def reset(self) -> None:
        """Forget the accumulated state (after a restart)."""
        self.velocity = None


class Adam:
    """Adam: per-weight steps from bias-corrected first and second moment estimates.

    `lr` is the largest step of one weight (weight units); `momentum` is beta1 (0 means
    Adam's recommended 0.9), beta2 = 0.999, eps = 1e-8.
    """

    def __init__(self, lr: float, momentum: float = 0.0, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        if lr <= 0:
            raise ValueError(f"learning rate must be > 0, got {lr}")
        self.lr, self.beta1, self.beta2, self.eps = lr, momentum or 0.9, beta2, eps
        self.m: np.ndarray | None = None
        self.v: np.ndarray | None = None
        self.t = 0

    def step(self, weights: np.ndarray, gradient: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """New weights: the normalised step m_hat / sqrt(v_hat), its learning rate times `scale`."""
        if self.m is None or self.v is None:
            self.m, self.v = np.zeros_like(weights), np.zeros_like(weights)
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * gradient
        self.v = self.beta2 * self.v + (1 - self.beta2) * gradient ** 2
        m_hat = self.m / (1 - self.beta1 ** self.t)
        v_hat = self.v / (1 - self.beta2 ** self.t)
        return weights - self.lr * scale * m_hat / (np.sqrt(v_hat) + self.eps)

    def state(self) -> dict[str, np.ndarray]:
        if self.m is None or self.v is None:
            return {}
        return {"adam_m": self.m.copy(), "adam_v": self.v.copy(), "adam_t": np.array(self.t)}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        if "adam_m" in state:
            self.m, self.v = state["adam_m"].copy(), state["adam_v"].copy()
            self.t = int(state["adam_t"])
        else:
            self.reset()

    def reset(self) -> None:
        self.m = self.v = None
        self.t = 0


def make_optimizer(name: str, lr: float, momentum: float = 0.0) -> SGD | Adam:
    """The optimizer called `name` (`sgd` or `adam`); anything else is a `ConfigError`."""
    if name == "sgd":
        return SGD(lr, momentum)
    if name == "adam":
        return Adam(lr, momentum)
    raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {name!r}")
