"""System identification for the twin: fit a board's mismatch from a few probe queries.

The probes are weight vectors drawn over a wide range (so that neurons run both in their
linear region and into saturation), each measured on every pattern (one query per
pattern, counted like every other), with the hidden units read back where the bench wires
them. The parameters of `wphil.learning.model.Mismatch` (per-weight gain and offset,
per-neuron vsat, per-output offset) are fitted by regularized nonlinear least squares
(scipy's `least_squares`): the data residuals in units of the read resolution, plus
prior residuals that hold each parameter near its nominal value with a datasheet-sized
spread, so a fit with fewer data than parameters stays well posed. The uncertainty of
each parameter is the square root of the diagonal of the Gauss-Newton covariance
(J^T J)^-1 at the solution, scaled by the residual variance.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from wphil.learning.model import IdealModel, Mismatch
from wphil.learning.objective import Objective

log = logging.getLogger(__name__)

#: prior spread of each parameter around its nominal value: weight gain (relative),
#: weight offset (weight units), vsat (relative), output offset (V)
PRIOR = {"gain": 0.1, "offset": 0.05, "vsat": 0.1, "out_offset": 0.02}
#: weights of the probes are drawn uniform in +- this (weight units), within the limits
PROBE_SCALE = 2.0
#: residuals are in units of this many volts (about the read noise of the shipped benches)
READ_VOLTS = 0.002
#: readouts measured twice for the noise floor
NOISE_READOUTS = 48
#: patterns per probe vector per input of the widest layer: a neuron's fan-in inputs (and
#: the readouts' offsets) are pinned by a few patterns; more patterns on the same vector
#: add no information about the weights
PATTERNS_PER_INPUT = 5


@dataclass(frozen=True)
class Fit:
    mismatch: Mismatch
    sigma: Mismatch          # one standard deviation of each fitted parameter
    rms_volts: float         # rms of the data residuals at the fit
    probes: int
    queries: int

    def to_dict(self) -> dict[str, object]:
        def rounded(m: Mismatch) -> dict[str, list[float]]:
            return {k: [round(float(v), 5) for v in getattr(m, k)] for k in PRIOR}
        return {"fitted": rounded(self.mismatch), "sigma": rounded(self.sigma),
                "rms_volts": round(self.rms_volts, 6), "probes": self.probes,
                "queries": self.queries}


def default_probes(objective: Objective) -> int:
    """Enough probes for three data per fitted parameter, at least two."""
    bench = objective.bench
    n_params = 2 * bench.n_weights + sum(bench.topology.layers[1:]) + bench.n_outputs
    reads = bench.n_outputs + (len(bench.wiring.hidden) if bench.wiring.hidden else 0)
    return max(2, int(np.ceil(3 * n_params / (objective.n_patterns * reads))))


def measure_probes(objective: Objective, probes: int, rng: np.random.Generator,
                   patterns: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probe weights (K, n_w) at their codes' nominal values, measured volts (K, S, reads),
    the patterns (K, S) each probe was measured on): every pattern, or (`patterns` = S
    below the task's) a random subset of S patterns for each probe, one query each."""
    codemap, bench = objective.codemap, objective.bench
    lo, hi = codemap.weight_bounds()
    weights = np.clip(rng.uniform(-PROBE_SCALE, PROBE_SCALE, (probes, bench.n_weights)), lo, hi)
    codes = codemap.weights_to_codes(weights)
    hidden, n_p = bool(bench.wiring.hidden), objective.n_patterns
    if patterns is None or patterns >= n_p:
        adc = objective.device.evaluate(objective.input_codes, codes, hidden=hidden)
        return codemap.codes_to_weights(codes), codemap.adc_to_volts(adc), \
            np.broadcast_to(np.arange(n_p), (probes, n_p)).copy()
    chosen = np.array([np.sort(rng.choice(n_p, patterns, replace=False)) for _ in range(probes)])
    adc = np.concatenate([objective.device.evaluate(objective.input_codes[p], c, hidden=hidden)
                          for p, c in zip(chosen, codes)])
    return codemap.codes_to_weights(codes), codemap.adc_to_volts(adc), chosen


def probe_patterns(objective: Objective) -> int:
    """Patterns each probe vector is measured on: `PATTERNS_PER_INPUT` per input of the widest
    layer (its fan-in, the bias included), or every pattern of a smaller task."""
    fan_in = max(f for _, f in objective.bench.layer_shapes)
    return min(objective.n_patterns, PATTERNS_PER_INPUT * fan_in)


def measure_with_repeats(objective: Objective, probes: int, rng: np.random.Generator,
                         noise_readouts: int = NOISE_READOUTS
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(probe weights, measured volts (K, S, reads) with repeated points averaged, the
    patterns (K, S) measured, noise floor (V) of one readout from the repeats)."""
    weights, measured, patterns = measure_probes(objective, probes, rng, probe_patterns(objective))
    n_p, reads = measured.shape[1:]
    repeats = min(-(-noise_readouts // reads), probes * n_p)
    codes = objective.codemap.weights_to_codes(weights)
    hidden = bool(objective.bench.wiring.hidden)
    diffs, k = [], 0
    while repeats > 0:
        first = np.arange(min(n_p, repeats))
        adc = objective.device.evaluate(objective.input_codes[patterns[k, first]], codes[k],
                                        hidden=hidden)
        again = objective.codemap.adc_to_volts(adc)[0]
        diffs.append((again - measured[k, first]).ravel())
        measured[k, first] = (again + measured[k, first]) / 2
        repeats, k = repeats - len(first), k + 1
    noise = float(np.std(np.concatenate(diffs)) / np.sqrt(2))
    return weights, measured, patterns, noise


def predicted(model: IdealModel, weights: np.ndarray, signals: np.ndarray,
              hidden: bool) -> np.ndarray:
    """The model's readouts (K, P, reads) for probe weights (K, n_w): outputs, then hidden."""
    out = []
    for w in weights:
        acts = model.forward(w, signals)
        out.append(np.concatenate([acts[-1]] + (acts[1:-1] if hidden else []), axis=1))
    return np.array(out)


def batched_readouts(bench, thetas: np.ndarray, weights: np.ndarray, signals: np.ndarray,
                     hidden: bool) -> np.ndarray:
    """Readouts (M, K, P, reads) of the model under M mismatch vectors for K probe weights."""
    like = Mismatch.ideal(bench)
    n_w, n_n = len(like.gain), len(like.vsat)
    gain, offset = thetas[:, :n_w], thetas[:, n_w:2 * n_w]
    vsat, out_offset = thetas[:, 2 * n_w:2 * n_w + n_n], thetas[:, 2 * n_w + n_n:]
    effective = weights[None, :, :] * gain[:, None, :] + offset[:, None, :]   # (M, K, n_w)
    act = np.broadcast_to(signals, (*effective.shape[:2], *signals.shape))     # (M, K, P, n_in)
    layers, start, first_neuron = [], 0, 0
    for units, fan_in in bench.layer_shapes:
        w = effective[..., start:start + units * fan_in].reshape(*effective.shape[:2], units, fan_in)
        v = vsat[:, None, None, first_neuron:first_neuron + units]
        net = act @ np.swapaxes(w[..., :-1], -1, -2) + bench.topology.bias_volts * w[..., None, :, -1]
        act = v * np.tanh(net / v)
        layers.append(act)
        start, first_neuron = start + units * fan_in, first_neuron + units
    out = layers[-1] + out_offset[:, None, None, :]
    return np.concatenate([out] + (layers[:-1] if hidden else []), axis=-1)


def _bounds(objective: Objective, nominal: Mismatch) -> tuple[np.ndarray, np.ndarray]:
    """Physical bounds, wide enough for a dead or stuck weight (gain 0, offset anywhere in
    the weight range) and a weak or strong neuron."""
    lo, hi = objective.codemap.weight_bounds()
    span = float(np.max(np.maximum(np.abs(lo), np.abs(hi))))
    n_w = len(nominal.gain)
    lower = Mismatch(np.full(n_w, -0.5), np.full(n_w, -span), 0.05 * nominal.vsat,
                     np.full(len(nominal.out_offset), -0.5))
    upper = Mismatch(np.full(n_w, 2.0), np.full(n_w, span), 3.0 * nominal.vsat,
                     np.full(len(nominal.out_offset), 0.5))
    return lower.vector(), upper.vector()


def fit_mismatch(objective: Objective, probes: int, rng: np.random.Generator) -> Fit:
    """Probe the board and fit its mismatch; every probe query is counted by the device."""
    from scipy.optimize import least_squares

    bench, before = objective.bench, objective.queries
    hidden = bool(bench.wiring.hidden)
    weights, measured, _ = measure_probes(objective, probes, rng)
    signals = objective.codemap.input_volts(objective.input_codes)
    nominal = Mismatch.ideal(bench)
    theta0 = nominal.vector()
    spread = np.concatenate([np.full(len(nominal.gain), PRIOR["gain"]),
                             np.full(len(nominal.offset), PRIOR["offset"]),
                             PRIOR["vsat"] * nominal.vsat,
                             np.full(len(nominal.out_offset), PRIOR["out_offset"])])

    def residuals(theta: np.ndarray) -> np.ndarray:
        model = batched_readouts(bench, theta[None], weights, signals, hidden)[0]
        data = (model - measured).ravel() / READ_VOLTS
        return np.concatenate([data, (theta - theta0) / spread])

    lower, upper = _bounds(objective, nominal)
    prior_jac = np.diag(1 / spread)

    def jacobian(theta: np.ndarray) -> np.ndarray:
        """Forward differences of every parameter at once (one batched forward pass)."""
        step = 1e-6 * spread
        thetas = np.vstack([theta, theta + np.diag(step)])
        out = batched_readouts(bench, thetas, weights, signals, hidden) / READ_VOLTS
        flat = out.reshape(len(thetas), -1)
        return np.vstack([((flat[1:] - flat[0]) / step[:, None]).T, prior_jac])

    result = least_squares(residuals, theta0, jac=jacobian, bounds=(lower, upper),
                           x_scale=spread)
    n_data = measured.size
    data = result.fun[:n_data]
    scale = max(float(np.sum(data ** 2)) / max(n_data - len(theta0), 1), 1.0)
    jac = result.jac
    try:
        cov = np.linalg.inv(jac.T @ jac) * scale
        sigma = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        sigma = np.full(len(theta0), np.nan)
    fit = Fit(Mismatch.from_vector(result.x, nominal), Mismatch.from_vector(sigma, nominal),
              float(np.sqrt(np.mean(data ** 2)) * READ_VOLTS), probes, objective.queries - before)
    log.info("twin: %d probes (%d queries), fit rms %.4f V over %d readouts",
             probes, fit.queries, fit.rms_volts, n_data)
    return fit
