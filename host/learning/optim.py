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
