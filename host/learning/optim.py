"""Optimizers: how a gradient estimate becomes a weight step (separate from the rule)."""

from __future__ import annotations

import numpy as np


class SGD:
    """Stochastic gradient descent with optional (heavy-ball) momentum."""

    def __init__(self, lr: float, momentum: float = 0.0) -> None:
        if lr <= 0:
            raise ValueError(f"learning rate must be > 0, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.lr, self.momentum = lr, momentum
        self.velocity: np.ndarray | None = None

    def step(self, weights: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        """New weights after one step against `gradient`."""
        if self.velocity is None:
            self.velocity = np.zeros_like(weights)
        self.velocity = self.momentum * self.velocity - self.lr * gradient
        return weights + self.velocity

    def state(self) -> dict[str, np.ndarray]:
        return {} if self.velocity is None else {"velocity": self.velocity.copy()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.velocity = state["velocity"].copy() if "velocity" in state else None


class Adam:
    """Adam (Kingma & Ba 2015): steps scaled per weight by running moments of the gradient,
    so `lr` is about the largest step any weight takes. Recurrent benches use it: their
    losses have long flat stretches (an oscillator that has not started, a memory that has
    not formed) where a fixed-rate step crawls, and steep walls where it overshoots."""

    def __init__(self, lr: float, momentum: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        if lr <= 0:
            raise ValueError(f"learning rate must be > 0, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.lr, self.beta1, self.beta2, self.eps = lr, momentum, beta2, eps
        self.moments: dict[str, np.ndarray] = {}

    def step(self, weights: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        m = self.moments
        if not m:
            m.update(mean=np.zeros_like(weights), square=np.zeros_like(weights), t=np.array(0))
        m["t"] = m["t"] + 1
        m["mean"] = self.beta1 * m["mean"] + (1 - self.beta1) * gradient
        m["square"] = self.beta2 * m["square"] + (1 - self.beta2) * gradient ** 2
        mean = m["mean"] / (1 - self.beta1 ** m["t"])
        square = m["square"] / (1 - self.beta2 ** m["t"])
        return weights - self.lr * mean / (np.sqrt(square) + self.eps)

    def state(self) -> dict[str, np.ndarray]:
        return {k: np.array(v, copy=True) for k, v in self.moments.items()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.moments = {k: np.array(state[k], copy=True) for k in ("mean", "square", "t")
                        if k in state}
        if len(self.moments) < 3:
            self.moments = {}


OPTIMIZERS = ("sgd", "adam")


def make_optimizer(name: str, lr: float, momentum: float) -> SGD | Adam:
    """`sgd` (momentum as given) or `adam` (momentum is its beta1; 0 means the usual 0.9)."""
    if name == "adam":
        return Adam(lr, momentum or 0.9)
    return SGD(lr, momentum)
