"""`mgd`: multiplexed gradient descent (McCaughan et al. 2023).

McCaughan, Oripov, Ganesh, Nam, Dienstfrey & Buckley, "Multiplexed gradient descent: fast
online training of modern datasets on hardware neural networks without backpropagation",
APL Machine Learning 1, 026118 (2023). A framework that contains weight perturbation,
SPSA-like random perturbation and code-multiplexed perturbation as settings of a few time
constants, counted in timesteps (here one timestep = one measurement of the cost of the
current sample at the current, perturbed weights):

    tau_p      perturbation period: the perturbation pattern theta~(t) changes every tau_p steps
    tau_theta  gradient integration time: G integrates tau_theta steps, then the weights update
    tau_x      input period: the training sample changes every tau_x steps
               (0 here: every timestep sees the trainer's whole batch)

Perturbation codes, amplitude d = `pert` (rounded to whole DAC codes, at least one LSB):
    random      theta~_i = +-d, independent random signs per period (SPSA-like)
    sequential  one parameter at a time, cycling: period k perturbs parameter k mod n (= wp)
    walsh       theta~_i = d * H[k mod N, i + 1], Walsh-Hadamard codes of order N >= n + 1:
                orthogonal over a cycle of N periods, so the crosstalk cancels exactly

At every timestep the cost change is demodulated against each parameter's own code and
integrated (the paper's homodyne step):
    C~(t) = C(theta + theta~(t), x(t)) - C(theta, x(t))
    e_i(t) = C~(t) theta~_i(t) / d^2,     G_i = sum over the window of e_i
and after tau_theta timesteps theta_i <- theta_i - eta G_i, G <- 0.

Choices made here (the paper works in continuous time and high-pass filters C to get
C~): the baseline C(theta, x) is measured once per sample per window (theta is fixed
within a window); and the returned gradient is G_i divided by the window's perturbation
energy sum_t theta~_i(t)^2 / d^2 rather than taken raw, so it estimates dL/dtheta_i for
every code and every tau (for random and Walsh codes that is G / tau_theta; for
sequential, parameters not perturbed in the window get 0). `lr` is therefore the paper's
eta times tau_theta. Each call of `estimate` is one window (one weight update); the clock
t, the current perturbation and the sample position run on across calls and are saved in
checkpoints.
"""

from __future__ import annotations

import numpy as np

from wphil.learning.rules.base import Estimate, LearningRule, Option

CODES = ("random", "sequential", "walsh")


def walsh_hadamard(order: int) -> np.ndarray:
    """The Sylvester Hadamard matrix of the smallest power-of-two order >= `order`."""
    h = np.ones((1, 1), dtype=np.int64)
    while len(h) < order:
        h = np.block([[h, h], [h, -h]])
    return h


class MultiplexedGradientDescent(LearningRule):
    name = "mgd"
    lr_factor = 0.5
    options = {
        "code": Option("random", "perturbation code", choices=CODES),
        "tau_p": Option(1, "timesteps per perturbation pattern", 1, 10**6),
        "tau_theta": Option(1, "timesteps integrated per weight update", 1, 10**6),
        "tau_x": Option(0, "timesteps per input sample (0: the whole batch each step)", 0, 10**6),
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        n = self.objective.bench.n_weights
        self.walsh = walsh_hadamard(n + 1)[:, 1:n + 1]   # column 0 is constant: not zero-mean
        self.time = 0
        self.signs = np.zeros(n, dtype=np.int64)       # the random code of the current period
        self.period = -1

    def _code(self, t: int) -> np.ndarray:
        """theta~(t) / d: the perturbation signs (or zeros) of every parameter at timestep t."""
        k, n = t // self.opts["tau_p"], len(self.signs)
        if self.opts["code"] == "walsh":
            return self.walsh[k % len(self.walsh)]
        if self.opts["code"] == "sequential":
            return np.eye(n, dtype=np.int64)[k % n]
        if k != self.period:
            self.signs, self.period = self.rng.choice((-1, 1), n), k
        return self.signs

    def _sample(self, t: int, n_patterns: int) -> int:
        """Which pattern timestep t shows (-1: the whole batch)."""
        tau_x = self.opts["tau_x"]
        return -1 if tau_x == 0 else (t // tau_x) % n_patterns

    def _estimate(self, codes: np.ndarray, patterns: np.ndarray) -> Estimate:
        window = range(self.time, self.time + self.opts["tau_theta"])
        self.time = window.stop
        deltas = np.array([self._code(t) for t in window]) * self.codemap.perturbation_codes(self.pert)
        leaving = (codes + deltas > self.codemap.max_code) | (codes + deltas < self.codemap.min_code)
        perturbed = codes + np.where(leaving, -deltas, deltas)
        samples = np.array([self._sample(t, len(patterns)) for t in window])
        cost_change, base_losses = np.zeros(len(window)), []
        for sample in np.unique(samples):
            rows = np.flatnonzero(samples == sample)
            shown = patterns if sample < 0 else patterns[sample:sample + 1]
            losses = self.objective.losses(np.vstack([codes, perturbed[rows]]), shown)
            cost_change[rows] = losses[1:] - losses[0]
            base_losses.append(losses[0])
        theta = self.weight_delta(perturbed, codes[None, :])            # (tau_theta, n_w)
        integrated, energy = cost_change @ theta, np.sum(theta ** 2, axis=0)
        gradient = np.divide(integrated, energy, out=np.zeros_like(integrated), where=energy > 0)
        return Estimate(gradient, float(np.mean(base_losses)))

    def state(self) -> dict[str, np.ndarray]:
        return {"time": np.array(self.time), "period": np.array(self.period),
                "signs": self.signs.copy()}

    def load_state(self, state) -> None:
        if "time" in state:
            self.time, self.period = int(state["time"]), int(state["period"])
            self.signs = np.array(state["signs"], dtype=np.int64)
