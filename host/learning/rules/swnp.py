"""`swnp`: summed weight neuron perturbation (Flower & Jabri 1993), no hidden access needed.

Flower & Jabri, "Summed weight neuron perturbation: an O(N) improvement over weight
perturbation", Advances in Neural Information Processing Systems 5 (1993). One neuron at
a time, every weight of its fan-in is perturbed at once by an independent random +-d_k;
the error change is attributed to each weight by dividing by that weight's own
perturbation:

    g_k = (E(w + d) - E(w)) / d_k      for every k in the neuron's fan-in

Expanding E to first order, g_k = dE/dw_k + sum_{j != k} (d_j / d_k) dE/dw_j: the
cross terms have zero mean because the signs are independent (the "stochastic relation
between perturbations at the weights and the neurons" of the paper), so the estimate is
unbiased, with variance from the neuron's other weights. A step costs (1 + n_neurons)
forward passes per pattern, like node perturbation, but reads only the outputs. With
`samples` > 1, that many independent sign draws per neuron are averaged.
"""

from __future__ import annotations

import numpy as np

from wphil.learning.rules.base import Estimate, LearningRule, Option
from wphil.learning.rules.neurons import neurons


class SummedWeightNeuronPerturbation(LearningRule):
    name = "swnp"
    feedforward_only = True
    lr_factor = 0.5
    options = {"samples": Option(1, "independent sign draws per neuron, averaged", 1, 1000)}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.neurons = neurons(self.objective.bench)

    def _estimate(self, codes: np.ndarray, patterns: np.ndarray) -> Estimate:
        steps = self.codemap.perturbation_codes(self.pert)
        samples = self.opts["samples"]
        rows = np.repeat(codes[None, :], 1 + samples * len(self.neurons), axis=0)
        row = 1
        for _ in range(samples):
            for neuron in self.neurons:
                fan_in = neuron.fan_in
                signs = self.rng.choice((-1, 1), fan_in.stop - fan_in.start)
                rows[row, fan_in] += signs * steps[fan_in]
                row += 1
        rows = self.clipped(rows)
        losses = self.objective.losses(rows, patterns)
        delta = self.weight_delta(rows[1:], codes[None, :])                 # (samples*N, n_w)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_row = np.where(delta != 0, (losses[1:] - losses[0])[:, None] / delta, 0.0)
        gradient = per_row.sum(axis=0) / samples   # each weight is perturbed in one row per draw
        return Estimate(gradient, float(losses[0]))
