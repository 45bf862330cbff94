"""The learning-rule interface: turn measured losses into a gradient estimate.

A rule is told the current weight codes and a set of patterns; it asks the objective
for as many (batched) forward passes as it needs and returns its estimate of
dloss/dweight in weight units, the loss measured at the base codes, and the queries
it spent. Rules never know which device they drive; the optimizer is separate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from host.objective import Objective


@dataclass(frozen=True)
class Estimate:
    gradient: np.ndarray   # dloss/dweight, weight units
    loss: float            # loss at the base codes, as measured
    queries: int           # forward passes spent


class LearningRule(ABC):
    """One gradient estimator. Subclasses set `name` and implement `estimate`."""

    name: ClassVar[str]

    def __init__(self, objective: Objective, pert: float, rng: np.random.Generator) -> None:
        self.objective = objective
        self.codemap = objective.codemap
        self.pert = pert
        self.rng = rng

    @abstractmethod
    def estimate(self, codes: np.ndarray, patterns: np.ndarray) -> Estimate:
        """Estimate the gradient of the mean loss over `patterns` at weight codes `codes`."""

    def signed_steps(self, codes: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """Perturbation code steps, flipped where +step would leave the limits."""
        return np.where(codes + steps > self.codemap.max_code, -steps, steps)
