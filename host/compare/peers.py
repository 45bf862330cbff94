"""Peer optimizers: what a user would otherwise reach for, on the same device and loss.

scipy's Nelder-Mead and Powell and CMA-ES (the `cma` package; all in the `bench` extra)
minimise the measured loss of the whole training set as a black box. They see the device
only through `DeviceLoss`, one adapter that quantizes their float weights to DAC codes
exactly as the trainer does, measures loss and accuracy in one pass over every pattern
(one query per pattern, counted by the device like every other query), keeps the history
and the incumbent (the lowest loss seen, what the optimizer would return), and stops the
search by raising `StopSearch` when the target is met or the query budget is spent.
A peer that stops on its own tolerances before either is restarted from its incumbent,
so every peer gets the whole budget, as a patient user would give it.

The starting point is the trainer's: the same seed draws the same initial weights.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from wphil.drivers.errors import ConfigError
from wphil.learning import Objective, Option

log = logging.getLogger(__name__)


class StopSearch(Exception):
    """Raised through the optimizer to end its search; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Point:
    queries: int       # device queries spent when this point had been measured
    loss: float
    accuracy: float


class DeviceLoss:
    """The measured whole-set loss of float weights, for black-box optimizers; counts queries."""

    def __init__(self, objective: Objective, target_accuracy: float, target_loss: float = 0.0,
                 max_queries: int = 0) -> None:
        self.objective = objective
        self.target_accuracy, self.target_loss = target_accuracy, target_loss
        self.max_queries = max_queries
        self.start_queries = objective.queries
        self.history: list[Point] = []
        self.evaluations = 0
        self.best: Point | None = None
        self.best_weights: np.ndarray | None = None

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
        losses = np.mean((out - obj.targets) ** 2, axis=(1, 2))
        accuracy = np.mean(obj.task.predict(out, obj.bench) == obj.task.labels, axis=1)
        queries = self.queries
        for k, (loss, acc) in enumerate(zip(losses, accuracy)):
            self._record(Point(queries, float(loss), float(acc)), weights[k])
        for point in self.history[-len(losses):]:
            if self._reached(point):
                raise StopSearch("converged")
        if self.max_queries and queries >= self.max_queries:
            raise StopSearch("max_queries")
        return losses

    def _record(self, point: Point, weights: np.ndarray) -> None:
        self.history.append(point)
        self.evaluations += 1
        if self.best is not None and self._reached(self.best):
            return                                   # the search stops at the first hit
        if self.best is None or self._reached(point) or point.loss < self.best.loss:
            self.best, self.best_weights = point, np.array(weights, dtype=float)

    def _reached(self, point: Point) -> bool:
        return point.accuracy >= self.target_accuracy and (
            self.target_loss <= 0 or point.loss <= self.target_loss)


@dataclass
class PeerResult:
    stop_reason: str
    queries: int
    loss: float            # at the incumbent
    accuracy: float
    evaluations: int
    restarts: int
    wall_s: float
    history: list[Point] = field(repr=False)


class PeerOptimizer:
    """One black-box optimizer. Subclasses set `name`, `options` and implement `search`."""

    name: ClassVar[str]
    options: ClassVar[dict[str, Option]] = {}
    package: ClassVar[str] = "scipy"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        given = dict(options or {})
        for key in given:
            if key not in self.options:
                raise ConfigError(f"optimizer {self.name} has no option {key!r}; "
                                  f"valid: {', '.join(self.options) or 'none'}")
        self.opts = {k: o.check(self.name, k, given[k]) if k in given else o.default
                     for k, o in self.options.items()}

    def search(self, loss: DeviceLoss, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               seed: int) -> None:
        """Minimise `loss` from `x0` until the optimizer stops on its own (or StopSearch)."""
        raise NotImplementedError

    def run(self, loss: DeviceLoss, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray,
            seed: int) -> PeerResult:
        """Search, restarting from the incumbent, until the target or the budget stops it."""
        start, restarts, x = time.perf_counter(), 0, x0
        try:
            while True:
                evaluations = loss.evaluations
                self.search(loss, x, lo, hi, seed + restarts)
                if not loss.max_queries or loss.evaluations == evaluations:
                    reason = "optimizer_stopped"
                    break
                restarts += 1
                x = loss.best_weights
                log.debug("%s stopped on its own after %d queries; restart %d from the incumbent",
                          self.name, loss.queries, restarts)
        except StopSearch as stop:
            reason = stop.reason
        best = loss.best
        return PeerResult(reason, loss.queries, best.loss, best.accuracy, loss.evaluations,
                          restarts, time.perf_counter() - start, loss.history)


class NelderMead(PeerOptimizer):
    name = "nelder-mead"
    options = {"step": Option(0.5, "initial simplex edge (weight units)", 1e-6, 100.0)}

    def search(self, loss, x0, lo, hi, seed) -> None:
        from scipy.optimize import minimize

        simplex = np.vstack([x0, x0 + self.opts["step"] * np.eye(len(x0))])
        minimize(loss, x0, method="Nelder-Mead", bounds=list(zip(lo, hi)),
                 options={"initial_simplex": np.clip(simplex, lo, hi), "adaptive": True,
                          "maxfev": 10**9, "maxiter": 10**9, "xatol": 1e-4, "fatol": 1e-7})


class Powell(PeerOptimizer):
    name = "powell"

    def search(self, loss, x0, lo, hi, seed) -> None:
        from scipy.optimize import minimize

        minimize(loss, x0, method="Powell", bounds=list(zip(lo, hi)),
                 options={"maxfev": 10**9, "maxiter": 10**9, "xtol": 1e-4, "ftol": 1e-7})


class CMAES(PeerOptimizer):
    name = "cma-es"
    package = "cma"
    options = {"sigma0": Option(0.5, "initial step size (weight units)", 1e-6, 100.0),
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


PEERS: dict[str, type[PeerOptimizer]] = {p.name: p for p in (NelderMead, Powell, CMAES)}


def make_peer(name: str, options: Mapping[str, Any] | None = None) -> PeerOptimizer:
    """The peer optimizer called `name`, its package checked; a `ConfigError` otherwise."""
    if name not in PEERS:
        raise ConfigError(f"unknown peer optimizer {name!r}; valid: {', '.join(PEERS)}")
    peer = PEERS[name]
    try:
        __import__(peer.package)
    except ImportError:
        raise ConfigError(f"optimizer {name} needs the {peer.package} package: "
                          "pip install 'wphil[bench]'") from None
    return peer(options)


def initial_weights(objective: Objective, init_scale: float, seed: int) -> np.ndarray:
    """The trainer's initial weights for `seed` (its first draw from the same generator)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    lo, hi = objective.codemap.weight_bounds()
    return np.clip(rng.uniform(-init_scale, init_scale, objective.bench.n_weights), lo, hi)
