"""`bp` and `offline`: backpropagation on the ideal digital model, the baselines.

Neither measures a gradient. `bp` takes it from `wphil.learning.model.IdealModel` (the network the
bench's schematic promises: nominal calibration, no mismatch, offsets, noise or
saturation error) by backpropagation, at the weights the DAC codes nominally set. Inside
the ordinary trainer that makes it "backprop, checked on the device": the device is
queried only by the per-epoch evaluation (one query per pattern), which decides when the
target is reached. Its estimates cost no queries.

`offline` is the usual practice in-loop training exists to replace: train with bp on the
ideal model alone, in float, until the model meets the target (and `model_loss`), then
quantize the weights to DAC codes, load them onto the device and measure once. It does
not fit "estimate, step, evaluate on the device" (the device is not seen until the end),
so it is run by its own trainer, `wphil.learning.offline.OfflineTrainer`; the rule class here
carries its name, options and gradient so `--algo offline` and `--rule-option` work like
every other rule.
"""

from __future__ import annotations

import numpy as np

from wphil.learning.model import IdealModel
from wphil.learning.rules.base import Estimate, LearningRule, Option
from wphil.learning.sequence_model import SequenceModel


class Backprop(LearningRule):
    name = "bp"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        bench = self.objective.bench
        # recurrent benches: backpropagation through time (wphil.learning.sequence_model)
        self.model = (SequenceModel(bench, bench.recurrent.step_us) if bench.is_recurrent
                      else IdealModel(bench))
        self.signals = self.codemap.input_volts(self.objective.input_codes)

    def gradient_at(self, weights: np.ndarray, patterns: np.ndarray) -> tuple[float, np.ndarray]:
        """(loss, dloss/dweights) of the ideal model at float `weights` over `patterns`."""
        targets = self.objective.targets[patterns]
        if isinstance(self.model, SequenceModel):
            return self.model.gradient(weights, self.signals[patterns], targets,
                                       self.objective.scored)
        return self.model.gradient(weights, self.signals[patterns], targets)

    def _estimate(self, codes: np.ndarray, patterns: np.ndarray) -> Estimate:
        loss, gradient = self.gradient_at(self.codemap.codes_to_weights(codes), patterns)
        return Estimate(gradient, loss)

    def model_outputs(self, weights: np.ndarray) -> np.ndarray:
        """The ideal model's output volts (P, n_outputs) on every pattern (sequences:
        (S, T, n_outputs))."""
        if isinstance(self.model, SequenceModel):
            return self.model.forward(weights, self.signals)
        return self.model.forward(weights, self.signals)[-1]


class OfflineBackprop(Backprop):
    name = "offline"
    trainer = "offline"
    options = {"model_loss": Option(0.01, "also train until the ideal model's loss (V^2) is "
                                    "at most this, for margin", 0.0, 100.0)}
