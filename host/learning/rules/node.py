"""`node`: node perturbation, for benches whose hidden units can be read back.

Perturb one neuron's input (its net) at a time, through its bias channel: moving the
bias weight by d moves net_i by d * bias_volts. Per pattern p the measured error change
gives dE_p/dnet_ip, and the chain rule through the neuron's (measured) inputs x_jp gives
every weight of its fan-in at once:

    dL/dw_ij = (1/P) sum_p dE_p/dnet_ip * x_jp,   x_jp = input volts, hidden ADC readings, or bias

so one step costs (1 + n_neurons) forward passes per pattern instead of wp's
(1 + n_weights). The price is hardware: the inputs of every neuron must be measured, so
the hidden units need ADC channels ([wiring] hidden). Flower & Jabri, "Summed weight
neuron perturbation: an O(N) improvement over weight perturbation", NIPS 5 (1993), review
node perturbation as the hidden-access alternative to weight perturbation; see `swnp` for
theirs, which needs no hidden access.
"""

from __future__ import annotations

import numpy as np

from wphil.learning.rules.base import Estimate, LearningRule
from wphil.learning.rules.neurons import neurons


class NodePerturbation(LearningRule):
    name = "node"
    feedforward_only = True
    needs_hidden = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.neurons = neurons(self.objective.bench)
        self.bias_index = np.array([n.bias for n in self.neurons])

    def _estimate(self, codes: np.ndarray, patterns: np.ndarray) -> Estimate:
        obj, bench = self.objective, self.objective.bench
        steps = self.signed_steps(codes, self.codemap.perturbation_codes(self.pert))
        rows = np.repeat(codes[None, :], 1 + len(self.neurons), axis=0)
        rows[np.arange(1, len(rows)), self.bias_index] += steps[self.bias_index]
        volts = self.codemap.adc_to_volts(
            obj.device.evaluate(obj.input_codes[patterns], rows, hidden=True))
        n_out = bench.n_outputs
        losses = np.mean((volts[..., :n_out] - obj.targets[patterns]) ** 2, axis=-1)  # (B, P)
        dnet = self.weight_delta(rows[1:], codes[None, :])[np.arange(len(self.neurons)),
                                                            self.bias_index]
        dnet = dnet * bench.topology.bias_volts
        dloss_dnet = (losses[1:] - losses[0]) / dnet[:, None] / len(patterns)   # (neurons, P)
        inputs = self._layer_inputs(patterns, volts[0, :, n_out:])
        gradient = np.zeros(bench.n_weights)
        for k, neuron in enumerate(self.neurons):
            x = inputs[neuron.layer]
            gradient[neuron.fan_in] = np.append(dloss_dnet[k] @ x,
                                                dloss_dnet[k].sum() * bench.topology.bias_volts)
        return Estimate(gradient, float(losses[0].mean()))

    def _layer_inputs(self, patterns: np.ndarray, hidden_volts: np.ndarray) -> list[np.ndarray]:
        """The signal volts entering each layer, (P, units of the layer before), measured."""
        layers = self.objective.bench.topology.layers
        inputs = [self.codemap.input_volts(self.objective.input_codes[patterns])]
        splits = np.cumsum(layers[1:-1])[:-1]
        inputs += np.split(hidden_volts, splits, axis=1) if len(layers) > 2 else []
        return inputs
