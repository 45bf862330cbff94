"""`wp`: serial weight perturbation, forward difference (Jabri & Flower 1992).

For each weight in turn: perturb it by at least one LSB, measure the error, and take
    g_k = (E(w + d_k e_k) - E(w)) / d_k
All perturbations of one step share the base and go to the device in one request
(base + a list of single-weight perturbations): n_weights + 1 forward passes per pattern.
Whether a step covers one pattern (the paper's per-pattern loop) or a batch is the
trainer's batch size.
"""

from __future__ import annotations

import numpy as np

from wphil.learning.rules.base import Estimate, LearningRule


class WeightPerturbation(LearningRule):
    name = "wp"

    def _estimate(self, codes: np.ndarray, patterns: np.ndarray) -> Estimate:
        steps = self.signed_steps(codes, self.codemap.perturbation_codes(self.pert))
        perturbations = [[(k, int(d))] for k, d in enumerate(steps)]
        losses = self.objective.perturbed_losses(codes, perturbations, patterns)
        dw = self.codemap.codes_to_weights(codes + steps) - self.codemap.codes_to_weights(codes)
        return Estimate((losses[1:] - losses[0]) / dw, float(losses[0]))
