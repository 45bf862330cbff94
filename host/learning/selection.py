"""Fit the twin and choose its model by held-out probe error, against the noise floor.

The probes (`wphil.learning.identify.measure_with_repeats`: wide random weight vectors,
each on a few patterns, the hidden units read back where wired) are measured once; some
of their queries are measured twice, which gives the noise floor (the read noise of one
readout, from the differences of repeated reads: std(d) / sqrt 2) and averages those
points. Each candidate
model of `wphil.learning.correction.LEVELS` is fitted by regularized least squares (the
data in units of the read resolution, a prior that holds each parameter near its nominal
value; the exact Jacobian of `wphil.learning.jacobian`) and scored by k-fold
cross-validation over the probe vectors (each held-out probe vector with all its patterns
and readouts): the held-out rms, in volts. The simplest candidate within `TOLERANCE` of
the best held-out rms is chosen, then refitted on every probe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from wphil.learning.correction import LEVELS, Correction, Level, readouts
from wphil.learning.identify import (
    NOISE_READOUTS,
    PRIOR,
    READ_VOLTS,
    measure_with_repeats,
    probe_patterns,
)
from wphil.learning.jacobian import readout_jacobian
from wphil.learning.model import Mismatch
from wphil.learning.objective import Objective

log = logging.getLogger(__name__)

#: prior spread of the correction's parameters: converter offsets (V), transfer-curve
#: coefficients (fractions of vsat), compression coefficients
CORRECTION_PRIOR = {"signal_offset": 0.02, "read_offset": 0.02, "alpha": 0.3, "compression": 0.2}
#: prior spread of a bias weight's offset (weight units): it carries the neuron's input
#: offset (multiplier output offsets times Rf / Rin, hundreds of mV on an untrimmed board)
BIAS_OFFSET_PRIOR = 0.5
#: cross-validation folds over the probe queries
FOLDS = 5
#: a richer model is chosen only if its held-out rms is below the simpler one's by this factor
TOLERANCE = 0.95
#: least squares stops when an iteration improves the cost (or moves the parameters) by less
#: than this fraction: far below the noise
FTOL = 1e-5
#: the ladder stops once a model's held-out rms is within this factor of the noise floor:
#: no richer model can do better than the noise
AT_NOISE = 1.2
#: data (readouts) per parameter of the richest candidate, for the default probe count
DATA_PER_PARAMETER = 6
#: at least two probe vectors per cross-validation fold: every weight is seen at 8 values
MIN_PROBES = 10
#: probe vectors per weight, at least: a weight's gain, offset and signal offset show only
#: across vectors (a vector's patterns vary the weight's input, not the weight), and the
#: held-out error on new vectors falls with the vectors, not the patterns (iris, no hidden
#: readouts: 10 vectors on all 150 patterns read 2-15x the noise on new vectors, 30 on 25
#: patterns 1.3-3.4x, 60 on 25 patterns 1.2-1.6x; xor and parity4 get 34 and 53 from
#: DATA_PER_PARAMETER, above their 18 and 50)
VECTORS_PER_WEIGHT = 2

@dataclass(frozen=True)
class Params:
    level: Level
    mismatch: Mismatch
    correction: Correction


@dataclass
class FitReport:
    params: Params
    sigma: Params                 # one standard deviation of each fitted parameter
    rms_volts: float              # rms of the data residuals at the final fit
    heldout_rms_volts: float      # cross-validated rms of the chosen model
    noise_volts: float            # read noise of one readout, from repeated reads
    probes: int
    queries: int                  # every probe query, repeats included
    n_params: int                 # fitted parameters of the chosen model
    candidates: dict[str, float] = field(default_factory=dict)   # level -> held-out rms

    def to_dict(self) -> dict[str, object]:
        """Everything twin.json records: the summary, the fitted parameters and their sigmas."""
        def rounded(p: Params) -> dict[str, list]:
            arrays = {**p.mismatch.__dict__, **p.correction.__dict__}
            return {k: np.round(np.asarray(v, dtype=float), 5).tolist() for k, v in arrays.items()}
        return {**self.summary(), "queries": self.queries, "rms_volts": round(self.rms_volts, 6),
                "fitted": rounded(self.params), "sigma": rounded(self.sigma)}

    def summary(self) -> dict[str, object]:
        return {"model": self.params.level.name, "probes": self.probes,
                "probe_queries": self.queries, "fitted_parameters": self.n_params,
                "queries_per_parameter": round(self.queries / self.n_params, 3),
                "heldout_rms_volts": round(self.heldout_rms_volts, 6),
                "noise_volts": round(self.noise_volts, 6),
                "heldout_over_noise": round(self.heldout_rms_volts / max(self.noise_volts, 1e-12), 3),
                "candidates": {k: round(v, 6) for k, v in self.candidates.items()}}


class Problem:
    """One bench's probe data and the parameter layout of one candidate level."""

    def __init__(self, objective: Objective, weights: np.ndarray, measured: np.ndarray,
                 level: Level, patterns: np.ndarray | None = None) -> None:
        """`measured` (K, S, reads) on the patterns (K, S) given (default: all, in order)."""
        bench = self.bench = objective.bench
        self.level, self.weights, self.measured = level, weights, measured
        self.hidden = bool(bench.wiring.hidden)
        signals = objective.codemap.input_volts(objective.input_codes)
        self.signals = signals if patterns is None else signals[patterns]
        self.nominal = Mismatch.ideal(bench)
        self.n_m = len(self.nominal.vector())
        corr = Correction.none(bench, level.terms)
        bias_cols = np.concatenate([np.arange(s + f - 1, s + u * f, f) for s, (u, f) in zip(
            np.cumsum([0] + [u * f for u, f in bench.layer_shapes[:-1]]), bench.layer_shapes)])
        offset_prior = np.full(bench.n_weights, PRIOR["offset"])
        offset_prior[bias_cols] = BIAS_OFFSET_PRIOR
        spreads = [np.full(bench.n_weights, PRIOR["gain"]), offset_prior,
                   PRIOR["vsat"] * self.nominal.vsat, np.full(bench.n_outputs, PRIOR["out_offset"])]
        self.free = [np.ones(self.n_m, bool)]
        for name in ("signal_offset", "read_offset", "alpha", "compression"):
            size = getattr(corr, name).size
            spreads.append(np.full(size, CORRECTION_PRIOR[name]))
            on = {"signal_offset": level.offsets, "read_offset": level.offsets,
                  "alpha": True, "compression": level.compression}[name]
            self.free.append(np.full(size, on))
        self.free[1][bias_cols] = False        # a bias multiplier's Y offset is its gain
        self.spread, self.free = np.concatenate(spreads), np.concatenate(self.free)
        self.theta0 = np.concatenate([self.nominal.vector(), corr.vector()])

    @property
    def n_free(self) -> int:
        return int(self.free.sum())

    def unpack(self, thetas: np.ndarray) -> tuple[Mismatch, Correction]:
        """Batched parameter sets (M, n) -> arrays with a leading axis M."""
        m = self.nominal
        sizes = np.cumsum([len(m.gain), len(m.offset), len(m.vsat), len(m.out_offset)])
        gain, offset, vsat, out_offset, rest = np.split(thetas, sizes, axis=1)
        corr = Correction.none(self.bench, self.level.terms)
        sizes = np.cumsum([corr.signal_offset.size, corr.read_offset.size, corr.alpha.size])
        in_off, read_off, alpha, comp = np.split(rest, sizes, axis=1)
        return (Mismatch(gain, offset, vsat, out_offset),
                Correction(in_off, read_off, alpha.reshape(len(thetas), *corr.alpha.shape), comp))

    def predict(self, thetas: np.ndarray) -> np.ndarray:
        return readouts(self.bench, *self.unpack(thetas), self.weights, self.signals, self.hidden)

    def params(self, theta: np.ndarray) -> Params:
        m, c = self.unpack(theta[None])
        return Params(self.level, Mismatch(*(a[0] for a in (m.gain, m.offset, m.vsat, m.out_offset))),
                      Correction(c.signal_offset[0], c.read_offset[0], c.alpha[0], c.compression[0]))

    def theta_from(self, params: Params) -> np.ndarray:
        """A start from another level's fit: its parameters, the new curve terms at zero."""
        alpha = np.zeros((len(self.nominal.vsat), self.level.terms))
        terms = min(self.level.terms, params.level.terms)
        alpha[:, :terms] = params.correction.alpha[:, :terms]
        c = params.correction
        return np.concatenate([params.mismatch.vector(), c.signal_offset, c.read_offset,
                               alpha.ravel(), c.compression])

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.theta0 - 10 * self.spread, self.theta0 + 10 * self.spread
        nm = self.nominal
        n_w, n_n = len(nm.gain), len(nm.vsat)
        lo[:n_w], hi[:n_w] = -0.5, 2.0
        lo[2 * n_w:2 * n_w + n_n], hi[2 * n_w:2 * n_w + n_n] = 0.05 * nm.vsat, 3.0 * nm.vsat
        return lo[self.free], hi[self.free]

    def fit(self, mask: np.ndarray, start: np.ndarray | None = None, max_nfev: int = 150
            ) -> tuple[np.ndarray, np.ndarray]:
        """(theta, the least-squares result's Jacobian) fitted to the queries where `mask`
        (K, P) is True."""
        from scipy.optimize import least_squares

        theta = (self.theta0 if start is None else start).copy()
        free, spread, data = self.free, self.spread[self.free], self.measured[mask]
        lower, upper = self.bounds()
        prior_jac = np.diag(1 / spread)

        def full(x: np.ndarray) -> np.ndarray:
            theta[free] = x
            return theta

        def residuals(x: np.ndarray) -> np.ndarray:
            pred = self.predict(full(x)[None])[0][mask]
            return np.concatenate([((pred - data) / READ_VOLTS).ravel(),
                                   (x - self.theta0[free]) / spread])

        def jacobian(x: np.ndarray) -> np.ndarray:
            p = self.params(full(x))
            _, jac = readout_jacobian(self.bench, p.mismatch, p.correction, self.weights,
                                      self.signals, self.hidden)
            data_jac = jac[mask][..., free].reshape(-1, len(x)) / READ_VOLTS
            return np.vstack([data_jac, prior_jac])

        x0 = np.clip(theta[free], lower + 1e-9, upper - 1e-9)
        result = least_squares(residuals, x0, jac=jacobian, method="lm", x_scale=spread,
                               max_nfev=max_nfev, ftol=FTOL, xtol=FTOL)
        return full(result.x).copy(), result.jac


def default_probes(objective: Objective, levels: tuple[Level, ...] = LEVELS) -> int:
    """Probe vectors for `DATA_PER_PARAMETER` readouts per parameter of the richest
    candidate (each on `probe_patterns` patterns), at least `VECTORS_PER_WEIGHT` per weight
    and `MIN_PROBES`."""
    bench = objective.bench
    reads = bench.n_outputs + len(bench.wiring.hidden)
    dummy = np.zeros((1, objective.n_patterns, reads))
    n_params = max(Problem(objective, np.zeros((1, bench.n_weights)), dummy, level).n_free
                   for level in levels)
    return max(MIN_PROBES, VECTORS_PER_WEIGHT * bench.n_weights,
               -(-DATA_PER_PARAMETER * n_params // (probe_patterns(objective) * reads)))


def _folds(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A fold index (K, P) for every probe query: whole probe vectors are held out (a
    query-level split would share each held-out query's weight vector with the fit, which
    with few probes on many patterns says nothing about new weights)."""
    per_probe = rng.permutation(shape[0]) % FOLDS
    return np.repeat(per_probe[:, None], shape[1], axis=1)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x ** 2)))


def cross_validated(problem: Problem, folds: np.ndarray, start: np.ndarray) -> float:
    """Held-out rms (V) over the folds, each fitted from `start` (the fit on every probe)."""
    errors = np.empty_like(problem.measured)
    for k in range(FOLDS):
        held = folds == k
        theta, _ = problem.fit(~held, start, max_nfev=25)
        errors[held] = problem.predict(theta[None])[0][held] - problem.measured[held]
    return _rms(errors)


def fit_twin(objective: Objective, probes: int, rng: np.random.Generator,
             levels: tuple[Level, ...] = LEVELS, stop_at_noise: bool = True,
             noise_readouts: int = NOISE_READOUTS) -> FitReport:
    """Probe the board, fit the candidate levels in order, choose one by held-out error
    (`stop_at_noise`: no richer candidates once one is within `AT_NOISE` of the noise);
    `noise_readouts` readouts are measured twice for the noise floor."""
    before = objective.queries
    weights, measured, patterns, noise = measure_with_repeats(objective, probes, rng,
                                                              noise_readouts)
    folds = _folds(measured.shape[:2], np.random.default_rng(rng.integers(1 << 31)))
    everything = np.ones(measured.shape[:2], bool)
    scores, fitted = {}, {}
    previous: Params | None = None
    for level in levels:
        problem = Problem(objective, weights, measured, level, patterns)
        start = None if previous is None else problem.theta_from(previous)
        theta, jac = problem.fit(everything, start)
        scores[level.name] = cross_validated(problem, folds, theta)
        fitted[level.name] = (problem, theta, jac)
        previous = problem.params(theta)
        log.info("twin: model %s, %d parameters: held-out probe rms %.5f V (noise %.5f V)",
                 level.name, problem.n_free, scores[level.name], noise)
        if stop_at_noise and scores[level.name] <= AT_NOISE * noise:
            break
    chosen = levels[0].name
    for level in levels[1:len(scores)]:
        if scores[level.name] < TOLERANCE * scores[chosen]:
            chosen = level.name
    problem, theta, jac = fitted[chosen]
    return _report(problem, theta, jac, scores, noise, probes, objective.queries - before)


def _report(problem: Problem, theta: np.ndarray, jac: np.ndarray, scores: dict[str, float],
            noise: float, probes: int, queries: int) -> FitReport:
    n_data = problem.measured.size
    data_rms = _rms(problem.predict(theta[None])[0] - problem.measured)
    sigma = np.zeros_like(theta)
    try:
        cov = np.linalg.inv(jac.T @ jac) * max(data_rms / READ_VOLTS, 1.0) ** 2
        sigma[problem.free] = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        sigma[problem.free] = np.nan
    name = problem.level.name
    log.info("twin: chose model %s (%d parameters, %d probe queries over %d readouts): "
             "held-out rms %.5f V, %.2fx the noise floor %.5f V", name, problem.n_free, queries,
             n_data, scores[name], scores[name] / max(noise, 1e-12), noise)
    return FitReport(problem.params(theta), problem.params(sigma), data_rms, scores[name], noise,
                     probes, queries, problem.n_free, scores)
