"""Learning rules (gradient estimators), one module each, chosen by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from wphil.drivers.errors import ConfigError
from wphil.learning.objective import Objective
from wphil.learning.rules.base import Estimate, LearningRule, Option
from wphil.learning.rules.bp import Backprop, OfflineBackprop
from wphil.learning.rules.mgd import MultiplexedGradientDescent
from wphil.learning.rules.node import NodePerturbation
from wphil.learning.rules.pat import PhysicsAware
from wphil.learning.rules.spsa import SPSA
from wphil.learning.rules.swnp import SummedWeightNeuronPerturbation
from wphil.learning.rules.twin import Twin
from wphil.learning.rules.wp import WeightPerturbation
from wphil.learning.rules.wp_central import CentralWeightPerturbation

RULES: dict[str, type[LearningRule]] = {
    rule.name: rule for rule in (WeightPerturbation, CentralWeightPerturbation, NodePerturbation,
                                 SummedWeightNeuronPerturbation, SPSA, MultiplexedGradientDescent,
                                 PhysicsAware, Twin, Backprop, OfflineBackprop)
}

__all__ = ["Estimate", "LearningRule", "Option", "RULES", "check_rule", "make_rule"]


def check_rule(name: str, options: Mapping[str, Any] | None = None) -> type[LearningRule]:
    """The rule class called `name`, its options checked; a bad name or option is a `ConfigError`."""
    if name not in RULES:
        raise ConfigError(f"unknown learning rule {name!r}; valid: {', '.join(RULES)}")
    RULES[name].resolve_options(options or {})
    RULES[name].check_imports()
    return RULES[name]


def make_rule(name: str, objective: Objective, pert: float, rng: np.random.Generator,
              options: Mapping[str, Any] | None = None) -> LearningRule:
    """The learning rule called `name`; unknown names are a `ConfigError` listing the valid ones."""
    return check_rule(name, options)(objective, pert, rng, options)
