"""Peer optimizers: what a user would otherwise reach for, on the same device and loss.

scipy's Nelder-Mead and Powell and CMA-ES (the `cma` package; all in the `bench` extra)
minimise the measured loss of the whole training set as a black box. They see the device
only through `DeviceLoss`, one adapter that quantizes their float weights to DAC codes
exactly as the trainer does, measures loss and accuracy in one pass over every pattern
(one query per pattern, counted by the device like every other query), keeps the history
and the incumbent (the lowest loss seen, what the optimizer would return), and stops the
search by raising `StopSearch` when the target is met or the query budget is spent.

Restarts (issue 21: the same for every peer, and the same as our rules'): a start ends
when the optimizer stops on its own tolerances or when it stagnates under noise (no
whole-set loss lower than the start's best by more than one standard deviation of a
measured loss, `Resolution.loss_sd`, for `stall_evaluations` evaluations; `Stagnated`).
The run then restarts from a fresh random point, drawn from the job's generator with the
trainer's initial-weight distribution (the trainer's `restart_after` draws fresh weights
too), not from the incumbent, until the target or the budget stops it. The incumbent
(the lowest loss of the whole run) is what the run returns.

The target is the trainers' (`wphil.learning.objective.meets_target`: accuracy counted with
a decision margin, and the loss), and a hit is confirmed by measuring the same weights
once more (counted), exactly as the trainer confirms its own. The tolerances of the
scipy optimizers come from the bench (`Resolution`): one DAC step in weight units, and
the loss change the read noise can resolve; finer ones only spend queries on noise.

The starting point is the trainer's: the same seed draws the same initial weights.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from wphil.compare.resolution import Resolution
from wphil.drivers.errors import ConfigError
from wphil.learning import Objective, Option, meets_target

log = logging.getLogger(__name__)


class StopSearch(Exception):
    """Raised through the optimizer to end its search; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Stagnated(StopSearch):
    """Raised through the optimizer to end one start: no improvement beyond the noise."""

    def __init__(self) -> None:
        super().__init__("stagnated")


@dataclass(frozen=True)
class Point:
    queries: int       # device queries spent when this point had been measured
    loss: float
    accuracy: float
    reached: bool = False   # met the target (before confirmation)


class DeviceLoss:
    """The measured whole-set loss of float weights, for black-box optimizers; counts queries."""

    def __init__(self, objective: Objective, target_accuracy: float, target_loss: float = 0.0,
                 max_queries: int = 0, margin: float = 0.0, confirm: bool = False) -> None:
        self.objective = objective
        self.target_accuracy, self.target_loss = target_accuracy, target_loss
        self.margin, self.confirm = margin, confirm
        self.max_queries = max_queries
        self.start_queries = objective.queries
        self.history: list[Point] = []
        self.evaluations = 0
        self.best: Point | None = None
        self.best_weights: np.ndarray | None = None
        self.stall_after = 0                 # evaluations without improvement; 0: never
        self.start_best, self.stalled = np.inf, 0
        self._resolution: Resolution | None = None

    def begin_start(self) -> None:
        """A new start (first or restart): its stagnation count begins afresh."""
        self.start_best, self.stalled = np.inf, 0

    def _count_stall(self, losses: list[float]) -> None:
        """Raise `Stagnated` once `stall_after` evaluations in a row were not lower than
        this start's best by more than one sd of a measured loss at that level."""
        if not self.stall_after:
            return
        if self._resolution is None:
            self._resolution = Resolution.of(self.objective)
        for value in losses:
            noise = self._resolution.loss_sd(self.start_best) if np.isfinite(self.start_best) else 0
            if value < self.start_best - noise:
                self.start_best, self.stalled = value, 0
            else:
                self.stalled += 1
        if self.stalled >= self.stall_after:
            raise Stagnated()

    @property
    def queries(self) -> int:
        """Queries spent through this adapter (the device's own counter)."""
        return self.objective.queries - self.start_queries

    def __call__(self, weights: np.ndarray) -> float:
        return float(self.many(np.asarray(weights)[None, :])[0])

    def many(self, weights: np.ndarray) -> np.ndarray:
        """Losses of a batch of weight vectors (B, n_w), measured in one device request."""
        obj = self.objective
        codes = obj.codemap.weights_to_codes(weights)
        adc = obj.device.evaluate(obj.input_codes, codes)
        out = obj.codemap.adc_to_volts(adc[..., :obj.bench.n_outputs])
        evaluations = [obj.evaluation_of(o) for o in out]
        queries = self.queries
        for k, ev in enumerate(evaluations):
            self._record(Point(queries, ev.loss, ev.accuracy, self._meets(ev)), weights[k])
        for k, ev in enumerate(evaluations):
            if self._meets(ev) and self._confirmed(codes[k]):
                raise StopSearch("converged")
        if self.max_queries and self.queries >= self.max_queries:
            raise StopSearch("max_queries")
        self._count_stall([ev.loss for ev in evaluations])
        return np.array([ev.loss for ev in evaluations])

    def batch(self, weights: np.ndarray, patterns: np.ndarray) -> np.ndarray:
        """Mini-batch losses of weight vectors (B, n_w) on `patterns` (counted, not recorded:
        the history holds whole-set measurements only)."""
        obj = self.objective
        losses = obj.losses(obj.codemap.weights_to_codes(weights), patterns)
        if self.max_queries and self.queries >= self.max_queries:
            raise StopSearch("max_queries")
        return losses

    def _meets(self, evaluation) -> bool:
        return meets_target(evaluation, self.target_accuracy, self.target_loss, self.margin)

    def _confirmed(self, codes: np.ndarray) -> bool:
        """A fresh whole-set measurement of the same codes (counted) meets the target too."""
        if not self.confirm:
            return True
        fresh = self.objective.evaluate(codes)
        if self._meets(fresh):
            return True
        if self.best is not None and self.best.reached:   # the hit did not hold up
            self.best = Point(self.best.queries, self.best.loss, self.best.accuracy, False)
        return False

    def _record(self, point: Point, weights: np.ndarray) -> None:
        self.history.append(point)
        self.evaluations += 1
        if self.best is not None and self._reached(self.best):
            return                                   # the search stops at the first hit
        if self.best is None or self._reached(point) or point.loss < self.best.loss:
            self.best, self.best_weights = point, np.array(weights, dtype=float)

    @staticmethod
    def _reached(point: Point) -> bool:
        return point.reached


@dataclass
class PeerResult:
    stop_reason: str
    queries: int
    loss: float            # at the incumbent
    accuracy: float
    evaluations: int
    restarts: int          # fresh starts after the first
    wall_s: float
    history: list[Point] = field(repr=False)
    stagnations: int = 0   # of the restarts, those the stagnation rule called
    notes: dict[str, Any] = field(default_factory=dict)   # peer-specific, for the result row


class PeerOptimizer:
    """One black-box optimizer. Subclasses set `name`, `options` and implement `search`."""

    name: ClassVar[str]
    #: every peer's options include the stagnation window's scale (tuned like the rest)
    options: ClassVar[dict[str, Option]] = {
        "stall_scale": Option(1.0, "scale of the stagnation window (evaluations without "
                              "an improvement beyond the noise before a restart)", 0.01, 1000.0)}
    package: ClassVar[str] = "scipy"
    extra: ClassVar[str] = "bench"     # the pyproject extra that installs `package`
    #: a start stagnates after max(STALL_MIN, STALL_PER_WEIGHT x n_weights) whole-set
    #: evaluations without an improvement beyond the loss noise (xor: 270 evaluations,
    #: 1,080 queries; parity4: 750, 12,000 queries)
    STALL_MIN: ClassVar[int] = 200
    STALL_PER_WEIGHT: ClassVar[int] = 30

    @classmethod
    def stall_evaluations(cls, n_weights: int) -> int:
        return max(cls.STALL_MIN, cls.STALL_PER_WEIGHT * n_weights)

    @classmethod
    def settings(cls, objective: Objective) -> str:
        """The hyperparameters this peer runs with, for the report."""
        return ""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        given = dict(options or {})
        for key in given:
            if key not in self.options:
                raise ConfigError(f"optimizer {self.name} has no option {key!r}; "
                                  f"valid: {', '.join(self.options) or 'none'}")
        self.opts = {k: o.check(self.name, k, given[k]) if k in given else o.default
                     for k, o in self.options.items()}
        self.notes: dict[str, Any] = {}

    def search(self, loss: DeviceLoss, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               seed: int) -> None:
        """Minimise `loss` from `x0` until the optimizer stops on its own (or StopSearch)."""
        raise NotImplementedError

    def run(self, loss: DeviceLoss, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray,
            seed: int, init_scale: float | None = None) -> PeerResult:
        """Search from `x0`, restarting from fresh random points, until the target or the
        budget stops it. `x0` is the job's first draw (`initial_weights(.., init_scale,
        seed)`); restarts are the next draws of the same generator (`init_scale`: the
        bench's; if not given, the largest |x0|)."""
        scale = init_scale if init_scale is not None else float(np.max(np.abs(x0))) or 1.0
        fresh = np.random.Generator(np.random.PCG64(seed))
        fresh.uniform(-scale, scale, len(x0))          # x0 itself: the first draw
        loss.stall_after = max(1, round(self.opts["stall_scale"]
                                        * self.stall_evaluations(len(x0))))
        start, restarts, stagnations, x = time.perf_counter(), 0, 0, x0
        try:
            while True:
                evaluations = loss.evaluations
                loss.begin_start()
                try:
                    self.search(loss, x, lo, hi, seed + restarts)
                    why = "stopped on its own"
                except Stagnated:
                    why, stagnations = "stagnated", stagnations + 1
                if not loss.max_queries or loss.evaluations == evaluations:
                    reason = "optimizer_stopped"
                    break
                restarts += 1
                x = np.clip(fresh.uniform(-scale, scale, len(x0)), lo, hi)
                log.debug("%s %s after %d queries; restart %d from a fresh point",
                          self.name, why, loss.queries, restarts)
        except StopSearch as stop:
            reason = stop.reason
        best = loss.best
        return PeerResult(reason, loss.queries, best.loss, best.accuracy, loss.evaluations,
                          restarts, time.perf_counter() - start, loss.history, stagnations,
                          dict(self.notes))


class NelderMead(PeerOptimizer):
    """scipy's Nelder-Mead stops when the simplex is within xatol of its best vertex and
    their losses within fatol. fatol used to be the read-noise power (6e-7 V^2 on xor),
    far below the noise of a whole-set loss (1e-4 to 4e-4 V^2 there), so it never held
    and Nelder-Mead never stopped or restarted (0 of 90 runs, issue 21). It is now
    FATOL_SD standard deviations of the measured loss at the incumbent's loss (at the
    first start: an undecided network's), so a simplex that has shrunk to a DAC step and
    whose losses differ only by noise stops, and the run restarts."""

    name = "nelder-mead"
    options = {**PeerOptimizer.options,
               "step": Option(0.5, "initial simplex edge (weight units)", 1e-6, 100.0)}
    #: the range of n + 1 noisy readings of one loss is ~3.1 sd for 10 vertices (xor)
    #: and ~4.0 for 26: at 4 sd a collapsed simplex stops within a few iterations
    FATOL_SD = 4.0

    def search(self, loss, x0, lo, hi, seed) -> None:
        from scipy.optimize import minimize

        res = Resolution.of(loss.objective)
        level = loss.best.loss if loss.best is not None else res.undecided
        simplex = np.vstack([x0, x0 + self.opts["step"] * np.eye(len(x0))])
        minimize(loss, x0, method="Nelder-Mead", bounds=list(zip(lo, hi)),
                 options={"initial_simplex": np.clip(simplex, lo, hi), "adaptive": True,
                          "maxfev": 10**9, "maxiter": 10**9, "xatol": res.weight,
                          "fatol": self.FATOL_SD * res.loss_sd(level)})

    @classmethod
    def settings(cls, objective: Objective) -> str:
        res = Resolution.of(objective)
        return (f"initial simplex edge 0.5, adaptive, bounds; xatol {res.weight:.3g} "
                f"(1 DAC step), fatol {cls.FATOL_SD:g} sd of the measured loss at the "
                f"incumbent's (first start: {cls.FATOL_SD * res.loss_sd(res.undecided):.2g} "
                "V^2); restarts from fresh points")


@contextmanager
def warnings_to_log(who: str) -> Iterator[None]:
    """Route the RuntimeWarnings a scipy search raises (Powell's bounded line search
    overflows on flat, noisy losses) to this module's log, one line per search, instead of
    flooding stderr: library code logs, only the CLI prints."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        try:
            yield
        finally:
            runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
            if runtime:
                log.debug("%s: %d RuntimeWarning(s) from scipy, first: %s", who, len(runtime),
                          runtime[0].message)


class Powell(PeerOptimizer):
    name = "powell"
    options = {**PeerOptimizer.options,
               "step": Option(1.0, "length of the initial unit directions (weight units; "
                              "scipy's default 1)", 1e-6, 100.0)}

    def search(self, loss, x0, lo, hi, seed) -> None:
        from scipy.optimize import minimize

        res = Resolution.of(loss.objective)
        with warnings_to_log("powell"):
            minimize(loss, x0, method="Powell", bounds=list(zip(lo, hi)),
                     options={"maxfev": 10**9, "maxiter": 10**9, "xtol": res.weight,
                              "ftol": res.relative_loss,
                              "direc": self.opts["step"] * np.eye(len(x0))})

    @classmethod
    def settings(cls, objective: Objective) -> str:
        res = Resolution.of(objective)
        return (f"scipy defaults (unit directions), bounds; xtol {res.weight:.3g} (1 DAC step), "
                f"ftol {res.relative_loss:.2g} (read noise / target loss)")


class CMAES(PeerOptimizer):
    name = "cma-es"
    package = "cma"
    options = {**PeerOptimizer.options,
               "sigma0": Option(0.5, "initial step size (weight units)", 1e-6, 100.0),
               "popsize": Option(0, "population (0: 4 + 3 ln n)", 0, 10_000)}

    def search(self, loss, x0, lo, hi, seed) -> None:
        import cma

        inopts = {"seed": seed + 1, "bounds": [list(lo), list(hi)], "verbose": -9,
                  "maxfevals": 10**12}
        if self.opts["popsize"]:
            inopts["popsize"] = self.opts["popsize"]
        es = cma.CMAEvolutionStrategy(x0, self.opts["sigma0"], inopts)
        while not es.stop():
            candidates = es.ask()
            es.tell(candidates, loss.many(np.array(candidates)).tolist())

    @classmethod
    def settings(cls, objective: Objective) -> str:
        return ("sigma0 0.5, default population 4 + 3 ln n, bounds, seeded; restarts from "
                "fresh points")


class CMAESMiniBatch(CMAES):
    """CMA-ES given the in-loop rules' mini-batch lever: each generation's candidates are
    ranked on one random mini-batch (the same patterns for all of them), and the whole
    set is measured at the distribution's mean (the stop check, counted) once the queries
    since the last check reach `check_every` passes over the set."""

    name = "cma-es-mb"
    #: its whole-set evaluations are stop checks, one per 5 passes of queries: 20 of them
    STALL_MIN, STALL_PER_WEIGHT = 20, 0
    options = {**CMAES.options,
               "batch": Option(10, "patterns per generation", 1, 100_000),
               "check_every": Option(5, "whole-set passes of queries between stop checks",
                                     1, 1000)}

    def search(self, loss, x0, lo, hi, seed) -> None:
        import cma

        rng = np.random.default_rng(seed)
        n_patterns = loss.objective.n_patterns
        inopts = {"seed": seed + 1, "bounds": [list(lo), list(hi)], "verbose": -9,
                  "maxfevals": 10**12}
        if self.opts["popsize"]:
            inopts["popsize"] = self.opts["popsize"]
        es = cma.CMAEvolutionStrategy(x0, self.opts["sigma0"], inopts)
        checked = loss.queries
        while not es.stop():
            candidates = es.ask()
            patterns = rng.choice(n_patterns, min(self.opts["batch"], n_patterns), replace=False)
            es.tell(candidates, loss.batch(np.array(candidates), patterns).tolist())
            if loss.queries - checked >= self.opts["check_every"] * n_patterns:
                loss.many(np.clip(es.mean, lo, hi)[None, :])
                checked = loss.queries
        loss.many(np.clip(es.mean, lo, hi)[None, :])

    @classmethod
    def settings(cls, objective: Objective) -> str:
        return ("as cma-es, candidates ranked on a random mini-batch of 10 patterns per "
                "generation; whole-set stop check at the mean every 5 passes of queries")


def initial_weights(objective: Objective, init_scale: float, seed: int) -> np.ndarray:
    """The trainer's initial weights for `seed` (its first draw from the same generator)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    lo, hi = objective.codemap.weight_bounds()
    return np.clip(rng.uniform(-init_scale, init_scale, objective.bench.n_weights), lo, hi)
