"""The learning-rule interface: turn measured losses into a gradient estimate.

A rule is told the current weight codes and a set of patterns; it asks the objective
for as many (batched) forward passes as it needs and returns its estimate of
dloss/dweight in weight units, the loss measured at the base codes, and the queries
it spent. Rules never know which device they drive; the optimizer is separate.

A rule may have its own hyperparameters (`options`, each with a default and an allowed
range, set from the CLI with `--rule-option NAME=VALUE`), its own state (an iteration
counter, an integrated gradient; saved in checkpoints so a resumed run continues
exactly), and its own gain schedule (`Estimate.lr_scale`, a factor on the learning rate
for this step, e.g. Spall's a_k / a_0, applied after the optimizer's normalisation).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError
from wphil.learning.objective import Objective, QueryMeter


@dataclass(frozen=True)
class Estimate:
    gradient: np.ndarray   # dloss/dweight, weight units
    loss: float            # loss at the base codes, as measured
    queries: int = 0       # forward passes spent (filled in by LearningRule.estimate)
    lr_scale: float = 1.0  # the rule's gain schedule: a factor on this step's learning rate


@dataclass(frozen=True)
class Option:
    """One rule hyperparameter: default, allowed range (numbers) or choices (strings), meaning."""

    default: float | int | str
    doc: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] | None = None

    def allowed(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        return f"in {self.lo:g}..{self.hi:g}"

    def check(self, rule: str, name: str, value: Any) -> float | int | str:
        """`value` (a string from the command line, or a number) converted and range-checked."""
        kind = type(self.default)
        try:
            converted = kind(value) if kind is not int else int(str(value), 10)
        except ValueError:
            raise ConfigError(f"rule {rule}: option {name}={value!r} must be "
                              f"{'an integer' if kind is int else 'a number'} "
                              f"{self.allowed()}") from None
        if self.choices and converted not in self.choices:
            raise ConfigError(f"rule {rule}: option {name}={value!r} is not {self.allowed()}")
        if self.lo is not None and not self.lo <= converted <= self.hi:
            raise ConfigError(f"rule {rule}: option {name}={value!r} is out of range: "
                              f"must be {self.allowed()}")
        return converted


class LearningRule(ABC):
    """One gradient estimator. Subclasses set `name` and implement `estimate`."""

    name: ClassVar[str]
    options: ClassVar[dict[str, Option]] = {}
    #: True for rules that need the bench's hidden units read back ([wiring] hidden)
    needs_hidden: ClassVar[bool] = False
    #: default learning rate relative to wp's: a bench's [defaults] lr is tuned for its own
    #: algo, and noisier estimates (one draw instead of one difference per weight) need
    #: smaller steps; `--lr` overrides it (wphil.learning.train.TrainConfig.for_bench)
    lr_factor: ClassVar[float] = 1.0
    #: the training loop this rule needs, by name (wphil.learning.trainers.TRAINERS): "loop"
    #: is estimate-step-evaluate in the loop; "offline" and "twin" train a model first
    trainer: ClassVar[str] = "loop"
    #: modules the rule imports when it runs (checked before a run starts, `check_imports`)
    requires: ClassVar[tuple[str, ...]] = ()
    #: True for rules that need the network's layer structure (neurons fed forward): they
    #: cannot train a recurrent bench
    feedforward_only: ClassVar[bool] = False

    def __init__(self, objective: Objective, pert: float, rng: np.random.Generator,
                 options: Mapping[str, Any] | None = None) -> None:
        self.objective = objective
        self.codemap = objective.codemap
        self.pert = pert
        self.rng = rng
        self.opts = self.resolve_options(options or {})
        self.check_bench(objective.bench)

    @classmethod
    def check_bench(cls, bench: Bench) -> None:
        """Reject a bench this rule cannot train (a `ConfigError` that says why)."""
        if cls.feedforward_only and bench.is_recurrent:
            raise ConfigError(f"rule {cls.name} needs a feed-forward network and bench "
                              f"{bench.name} is recurrent: use wp, wp-central, spsa, mgd or bp")
        if cls.needs_hidden and not bench.wiring.hidden:
            raise ConfigError(f"rule {cls.name} needs the hidden units read back, and bench "
                              f"{bench.name} has no [wiring] hidden channels "
                              "(use swnp, which does not)")

    @classmethod
    def check_imports(cls) -> None:
        """A `ConfigError` naming the missing module if one the rule needs cannot be imported
        (a core dependency, so only a broken or partial install gets here)."""
        for module in cls.requires:
            try:
                importlib.import_module(module)
            except ImportError:
                raise ConfigError(f"rule {cls.name} needs {module}, which is not installed: "
                                  f"pip install {module} (or reinstall wphil: pip install .)"
                                  ) from None

    @classmethod
    def resolve_options(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """Every option of this rule: the given ones checked, the rest at their defaults."""
        for name in given:
            if name not in cls.options:
                valid = ", ".join(cls.options) or "none"
                raise ConfigError(f"rule {cls.name} has no option {name!r}; valid: {valid}")
        return {name: opt.check(cls.name, name, given[name]) if name in given else opt.default
                for name, opt in cls.options.items()}

    def estimate(self, codes: np.ndarray, patterns: np.ndarray) -> Estimate:
        """Estimate the gradient of the mean loss over `patterns` at weight codes `codes`,
        with the queries it spent (read from the device's meter, not counted by the rule)."""
        meter = QueryMeter(self.objective)
        return replace(self._estimate(codes, patterns), queries=meter.spent)

    @abstractmethod
    def _estimate(self, codes: np.ndarray, patterns: np.ndarray) -> Estimate:
        """The rule's estimate (its `queries` are filled in by `estimate`)."""

    def state(self) -> dict[str, np.ndarray]:
        """What a resumed run needs to continue this rule exactly (empty if stateless)."""
        return {}

    def load_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore what `state` returned."""

    def signed_steps(self, codes: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """Perturbation code steps, flipped where +step would leave the limits."""
        return np.where(codes + steps > self.codemap.max_code, -steps, steps)

    def clipped(self, codes: np.ndarray) -> np.ndarray:
        """Codes clipped to the bench limits."""
        return np.clip(codes, self.codemap.min_code, self.codemap.max_code)

    def weight_delta(self, after: np.ndarray, before: np.ndarray) -> np.ndarray:
        """The (nominal) weight change between two code vectors, per weight."""
        return self.codemap.codes_to_weights(after) - self.codemap.codes_to_weights(before)
