"""`pat`: physics-aware training (Wright et al., "Deep physical neural networks trained with
backpropagation", Nature 601, 2022).

The forward pass is measured: one query per pattern at the current codes, with the hidden
units read back where the bench wires them ([wiring] hidden). The backward pass is the
digital model's: the measured output error is backpropagated through the ideal model (or
the twin's fitted one), evaluated at the measured activations, so what the hardware does
wrong in the forward pass (mismatch, offsets, saturation) is in the error signal even
though the model knows nothing of it. Where the hidden units are not wired, the model's
own hidden activations stand in for them (logged once). The shared optimizer steps.
Cost: P queries per step, against wp's P * (1 + n_weights).
"""

from __future__ import annotations

import logging

import numpy as np

from wphil.learning.model import IdealModel
from wphil.learning.rules.base import Estimate, LearningRule

log = logging.getLogger(__name__)


class PhysicsAware(LearningRule):
    name = "pat"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        bench = self.objective.bench
        self.model = IdealModel(bench)
        self.signals = self.codemap.input_volts(self.objective.input_codes)
        self.hidden = bool(bench.wiring.hidden)
        if not self.hidden and len(bench.topology.layers) > 2:
            log.info("%s: bench %s does not read its hidden units back; the backward pass uses "
                     "the model's hidden activations", self.name, bench.name)

    def measure(self, codes: np.ndarray, patterns: np.ndarray) -> list[np.ndarray]:
        """Activations (P, units) of every layer at `codes`: inputs (nominal volts), the
        hidden layers (measured if wired, else the model's), outputs (measured)."""
        obj, bench = self.objective, self.objective.bench
        adc = obj.device.evaluate(obj.input_codes[patterns], codes, hidden=self.hidden)
        volts = self.codemap.adc_to_volts(adc)[0]
        out = volts[:, :bench.n_outputs]
        obj.note_base(codes, patterns, out)
        acts = self.model.forward(self.codemap.codes_to_weights(codes), self.signals[patterns])
        if self.hidden:
            splits = np.cumsum(bench.topology.layers[1:-1])[:-1]
            acts[1:-1] = np.split(self.model.hidden_from_readouts(volts[:, bench.n_outputs:]),
                                 splits, axis=1)
        acts[-1] = out
        return acts

    def _estimate(self, codes: np.ndarray, patterns: np.ndarray) -> Estimate:
        acts = self.measure(codes, patterns)
        loss, gradient = self.model.backward(self.codemap.codes_to_weights(codes), acts,
                                             self.objective.targets[patterns], measured=True)
        return Estimate(gradient, loss)
