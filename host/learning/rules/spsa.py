"""`spsa`: simultaneous perturbation stochastic approximation (Spall 1992).

Spall, "Multivariate stochastic approximation using a simultaneous perturbation gradient
approximation", IEEE Trans. Automatic Control 37(3), 1992; gains as in Spall,
"Implementation of the simultaneous perturbation algorithm for stochastic optimization",
IEEE Trans. Aerospace and Electronic Systems 34(3), 1998. The analog-hardware versions
are Cauwenberghs (NIPS 5, 1993) and Alspector et al. (NIPS 5, 1993).

Every weight is perturbed at once by an independent random sign Delta_k times c_k, and
two measurements give the whole gradient:

    g_k = (E(w + c_k Delta) - E(w - c_k Delta)) / (2 c_k Delta_k)

with Spall's gain sequences
    step         a_k = a / (k + 1 + A)^alpha      (alpha = 0.602)
    perturbation c_k = c / (k + 1)^gamma          (gamma = 0.101)
Here `lr` is the first step a_0 = a / (1 + A)^alpha (so lr means the same as for the
other rules) and the schedule is returned as `lr_scale` = a_k / a_0; `pert` is c. The
perturbation is rounded to whole DAC codes (at least one LSB) and the differences are
divided by the weight change actually applied, so limits and rounding stay exact.
`samples` > 1 averages that many independent draws per step (Spall's gradient averaging).
The base loss is not measured (it would cost 50% more queries): the reported loss is the
mean of the two perturbed ones, which equals it to O(c_k^2).
"""

from __future__ import annotations

import numpy as np

from wphil.learning.rules.base import Estimate, LearningRule, Option


class SPSA(LearningRule):
    name = "spsa"
    lr_factor = 0.25
    options = {
        "alpha": Option(0.602, "decay exponent of the step a_k", 0.0, 1.0),
        "gamma": Option(0.101, "decay exponent of the perturbation c_k", 0.0, 0.5),
        "stability": Option(100.0, "Spall's A: a_k = a / (k + 1 + A)^alpha", 0.0, 1e9),
        "samples": Option(1, "independent perturbations averaged per step", 1, 1000),
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.iteration = 0

    def _estimate(self, codes: np.ndarray, patterns: np.ndarray) -> Estimate:
        k, o = self.iteration, self.opts
        c_k = self.pert / (k + 1) ** o["gamma"]
        steps = self.codemap.perturbation_codes(c_k)
        signs = self.rng.choice((-1, 1), (o["samples"], len(codes)))
        plus = self.clipped(codes + signs * steps)
        minus = self.clipped(codes - signs * steps)
        losses = self.objective.losses(np.concatenate([plus, minus]), patterns)
        up, down = losses[:o["samples"]], losses[o["samples"]:]
        delta = self.weight_delta(plus, minus)
        gradient = np.mean((up - down)[:, None] / delta, axis=0)
        self.iteration += 1
        lr_scale = ((1 + o["stability"]) / (k + 1 + o["stability"])) ** o["alpha"]
        return Estimate(gradient, float(np.mean(losses)), lr_scale=lr_scale)

    def state(self) -> dict[str, np.ndarray]:
        return {"iteration": np.array(self.iteration)}

    def load_state(self, state) -> None:
        self.iteration = int(state.get("iteration", 0))
