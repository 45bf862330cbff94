"""The host-driven training loop: estimate, step, quantize, repeat; one record per epoch.

Float weights live here and are quantized to DAC codes (nearest or stochastic rounding,
clipped to the bench limits) before every estimate. An epoch is one pass over the
patterns in steps of `batch_size` (0: the whole set, one step; 1: the per-pattern loop
of Jabri & Flower). After each epoch the whole set is evaluated at the current codes
(one query per pattern, counted) and a record is yielded. When a rule's step already
measured the whole set at exactly the current codes (full-batch rules with nearest
rounding), that base measurement is the stop check instead, taken before the step, and
the epoch's record is it: the same measurement is not paid for twice. The loop stops at
the target accuracy (and target loss, if set), the epoch limit or the query budget.

Convergence is claimed only when a fresh measurement confirms it: the patterns counted
correct are those decided by at least `margin` volts, and when an evaluation meets the
target the whole set is measured once more (counted) and must meet it too. Restarts on
stall (`restart_after`): after that many epochs without a new lowest loss the weights
are drawn afresh and the optimizer forgets its state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from wphil.drivers.base import Device
from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError
from wphil.drivers.training_settings import SETTINGS, TrainingSettings
from wphil.learning.codes import CodeMap
from wphil.learning.objective import Evaluation, QueryMeter, meets_target
from wphil.learning.optim import make_optimizer
from wphil.learning.rules import RULES, make_rule
from wphil.learning.sequence_objective import make_objective
from wphil.learning.tasks import Task

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class TrainConfig(TrainingSettings):
    """Every training setting (declared once, with its range, in
    wphil.drivers.training_settings) and the rule's own hyperparameters."""

    rule_options: dict[str, Any] = field(default_factory=dict)   # the rule's own hyperparameters

    @classmethod
    def for_bench(cls, bench: Bench, **overrides: Any) -> TrainConfig:
        """The bench's [defaults], then any non-None overrides.

        The bench's lr is tuned for its own algo; another rule gets it scaled by the two
        rules' `lr_factor`s (its default step relative to wp's) unless lr is given.
        """
        d = bench.defaults
        values = {name: getattr(d, name) for name, f in SETTINGS.items() if f.metadata["bench"]}
        values.update({k: v for k, v in overrides.items() if v is not None})
        if overrides.get("lr") is None and (values["batch_size"] == 1 or values.get("onchip")):
            values["lr"] = d.pattern_lr
        elif overrides.get("lr") is None and values["algo"] != d.algo:
            values["lr"] = d.lr * _lr_factor(values["algo"]) / _lr_factor(d.algo)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["rule_options"] = dict(self.rule_options)
        return out


@dataclass
class TrainState:
    """Everything needed to continue a run exactly where it stopped."""

    weights: np.ndarray
    rng_state: dict[str, Any]
    optimizer: dict[str, np.ndarray] = field(default_factory=dict)
    rule: dict[str, np.ndarray] = field(default_factory=dict)
    epoch: int = 0
    queries: int = 0
    elapsed_s: float = 0.0
    loss: float = float("nan")
    accuracy: float = 0.0
    #: the device's own random state (read noise, drift) where it can be saved (mock://)
    device_rng: dict[str, Any] | None = None


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    queries: int
    loss: float          # on the whole set, measured after the epoch
    accuracy: float
    elapsed_s: float
    train_loss: float    # mean of the base losses measured during the epoch's steps
    grad_norm: float     # norm of the last gradient estimate

    COLUMNS = ("epoch", "queries", "loss", "accuracy", "elapsed_s", "train_loss", "grad_norm")


def _lr_factor(algo: str) -> float:
    return RULES[algo].lr_factor if algo in RULES else 1.0


class Trainer:
    """Host-driven in-loop training of one task on one device."""

    def __init__(self, device: Device, bench: Bench, task: Task, config: TrainConfig,
                 state: TrainState | None = None, codemap: CodeMap | None = None) -> None:
        if config.rounding not in ("round", "stochastic"):
            raise ConfigError(f"rounding must be round or stochastic, not {config.rounding!r}")
        self.config, self.bench, self.task = config, bench, task
        self.codemap = codemap or CodeMap(bench)
        self.objective = make_objective(device, bench, task, self.codemap)
        self.rng = np.random.Generator(np.random.PCG64(config.seed))
        self.state = state or self._initial_state()
        self.rng.bit_generator.state = self.state.rng_state
        self.rule = make_rule(config.algo, self.objective, config.pert, self.rng, config.rule_options)
        self.rule.load_state(self.state.rule)
        self.optimizer = make_optimizer(config.optimizer, config.lr, config.momentum)
        self.optimizer.load_state(self.state.optimizer)
        stall = self.state.optimizer.get("stall", np.array([np.inf, 0.0]))
        self.best_loss, self.stalled = float(stall[0]), int(stall[1])
        self.lo, self.hi = self.codemap.weight_bounds()
        self.stop_reason: str | None = None
        self.last_evaluation: Evaluation | None = None    # the device's, after the last epoch

    def _initial_state(self) -> TrainState:
        lo, hi = self.codemap.weight_bounds()
        scale = self.config.init_scale
        weights = np.clip(self.rng.uniform(-scale, scale, self.bench.n_weights), lo, hi)
        return TrainState(weights=weights, rng_state=self.rng.bit_generator.state)

    def codes(self) -> np.ndarray:
        """The current weights at the nearest codes (what is evaluated and saved)."""
        return self.codemap.weights_to_codes(self.state.weights)

    def _train_codes(self) -> np.ndarray:
        return self.codemap.weights_to_codes(self.state.weights, self.config.rounding, self.rng)

    def _batches(self) -> list[np.ndarray]:
        n = self.objective.n_patterns
        size = self.config.batch_size or n
        if size >= n:
            return [np.arange(n)]
        order = self.rng.permutation(n)
        return [order[i:i + size] for i in range(0, n, size)]

    def _done(self, evaluation: Evaluation | None) -> str | None:
        cfg, st = self.config, self.state
        if evaluation is not None and self.meets_target(evaluation):
            return "converged"
        if st.epoch >= cfg.epochs:
            return "max_epochs"
        if cfg.max_queries and st.queries >= cfg.max_queries:
            return "max_queries"
        return None

    def extra_files(self) -> dict[str, Any]:
        """JSON files this trainer adds to the run directory (name -> data)."""
        return {}

    def summary_fields(self) -> dict[str, Any]:
        """Fields this trainer adds to summary.json (e.g. the twin's fit)."""
        return {}

    def meets_target(self, evaluation: Evaluation) -> bool:
        cfg = self.config
        return meets_target(evaluation, cfg.target_accuracy, cfg.target_loss, cfg.margin)

    def confirmed(self, evaluation: Evaluation) -> Evaluation | None:
        """`evaluation` if it meets the target and a fresh whole-set measurement at the
        current codes (counted) does too; else None."""
        if not self.meets_target(evaluation):
            return None
        if not self.config.confirm:
            return evaluation
        fresh = self.objective.evaluate(self.codes())
        if self.meets_target(fresh):
            return evaluation
        log.info("epoch %d met the target, the fresh measurement did not (loss %.5f, "
                 "accuracy %.3f): training on", self.state.epoch + 1, fresh.loss, fresh.accuracy)
        return None

    def _count_stall(self, evaluation: Evaluation) -> None:
        """Epochs since the lowest loss so far (improving by at least 0.1%)."""
        if evaluation.loss < self.best_loss * (1 - 1e-3):
            self.best_loss, self.stalled = evaluation.loss, 0
        else:
            self.stalled += 1

    def _restart_if_stalled(self) -> None:
        """Restart from fresh weights after `restart_after` epochs without a new lowest loss
        (at the start of an epoch, so a run that stops keeps the weights it measured)."""
        if self.config.restart_after and self.stalled >= self.config.restart_after:
            log.info("epoch %d: no new lowest loss in %d epochs; restarting from fresh weights",
                     self.state.epoch, self.stalled)
            self.state.weights = self._initial_state().weights
            self.optimizer.reset()
            self.best_loss, self.stalled = np.inf, 0

    def _optimizer_state(self) -> dict[str, np.ndarray]:
        return {**self.optimizer.state(), "stall": np.array([self.best_loss, self.stalled])}

    def run(self) -> Iterator[EpochRecord]:
        """Train until a stop condition; yield one record per epoch. Sets `stop_reason`."""
        st = self.state
        start, meter = time.perf_counter() - st.elapsed_s, QueryMeter(self.objective, st.queries)
        self.stop_reason = self._done(None)
        while self.stop_reason is None:
            self._restart_if_stalled()
            losses, grad_norm, evaluation, reached = [], 0.0, None, None
            for patterns in self._batches():
                est = self.rule.estimate(self._train_codes(), patterns)
                base = self.objective.base_evaluation(self.codes())
                if base is not None:
                    evaluation, reached = base, self.confirmed(base)
                    if reached:
                        losses.append(est.loss)
                        break
                weights = self.optimizer.step(st.weights, est.gradient, est.lr_scale)
                st.weights = np.clip(weights, self.lo, self.hi)
                losses.append(est.loss)
                grad_norm = float(np.linalg.norm(est.gradient))
                st.queries = meter.spent
                if self.config.max_queries and st.queries >= self.config.max_queries:
                    break
            if evaluation is None:
                evaluation = self.objective.evaluate(self.codes())
                reached = self.confirmed(evaluation)
            self.last_evaluation = evaluation
            st.epoch += 1
            st.queries = meter.spent
            st.elapsed_s = time.perf_counter() - start
            st.loss, st.accuracy = evaluation.loss, evaluation.accuracy
            self.stop_reason = self._done(reached)
            self._count_stall(evaluation)
            st.optimizer = self._optimizer_state()
            st.rule = self.rule.state()
            st.rng_state = self.rng.bit_generator.state
            yield EpochRecord(st.epoch, st.queries, evaluation.loss, evaluation.accuracy,
                              st.elapsed_s, float(np.mean(losses)), grad_norm)
        log.info("stopped after epoch %d (%s): loss %.5f accuracy %.3f, %d queries",
                 st.epoch, self.stop_reason, st.loss, st.accuracy, st.queries)
