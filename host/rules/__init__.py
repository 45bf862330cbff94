"""Learning rules (gradient estimators), one module each, chosen by name."""

from __future__ import annotations

import numpy as np

from drivers.errors import ConfigError
from host.objective import Objective
from host.rules.base import Estimate, LearningRule
from host.rules.wp import WeightPerturbation
from host.rules.wp_central import CentralWeightPerturbation

RULES: dict[str, type[LearningRule]] = {
    rule.name: rule for rule in (WeightPerturbation, CentralWeightPerturbation)
}

__all__ = ["Estimate", "LearningRule", "RULES", "make_rule"]


def make_rule(name: str, objective: Objective, pert: float,
              rng: np.random.Generator) -> LearningRule:
    """The learning rule called `name`; unknown names are a `ConfigError` listing the valid ones."""
    if name not in RULES:
        raise ConfigError(f"unknown learning rule {name!r}; valid: {', '.join(RULES)}")
    return RULES[name](objective, pert, rng)
