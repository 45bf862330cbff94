"""The measured objective: the loss of a task as read back from a device, in batches.

This is the only place the training side turns ADC codes into a loss. The loss is the
mean squared error in output volts, over patterns and outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wphil.drivers.base import Device, Perturbation
from wphil.drivers.bench import Bench
from wphil.learning.codes import CodeMap
from wphil.learning.tasks import Task


@dataclass(frozen=True)
class Evaluation:
    loss: float
    accuracy: float
    outputs: np.ndarray      # (P, n_outputs) volts
    predictions: np.ndarray  # (P,) class indices


class Objective:
    """A device, the bench calibration and a task: losses for codes, counted in queries."""

    def __init__(self, device: Device, bench: Bench, task: Task, codemap: CodeMap) -> None:
        task.check_fits(bench)
        self.device, self.bench, self.task, self.codemap = device, bench, task, codemap
        self.input_codes = codemap.inputs_to_codes(task.features)
        self.targets = task.targets(bench)

    @property
    def n_patterns(self) -> int:
        return len(self.input_codes)

    @property
    def queries(self) -> int:
        return self.device.queries

    def _outputs(self, adc_codes: np.ndarray) -> np.ndarray:
        return self.codemap.adc_to_volts(adc_codes[..., : self.bench.n_outputs])

    def pattern_losses(self, codes: np.ndarray, patterns: np.ndarray) -> np.ndarray:
        """Squared error per weight vector and pattern, (B, len(patterns)), for codes (B, n_w)."""
        out = self._outputs(self.device.evaluate(self.input_codes[patterns], codes))
        return np.mean((out - self.targets[patterns]) ** 2, axis=-1)

    def losses(self, codes: np.ndarray, patterns: np.ndarray) -> np.ndarray:
        """Mean loss over `patterns` for each of a batch of code vectors (B, n_w)."""
        return self.pattern_losses(codes, patterns).mean(axis=1)

    def perturbed_losses(self, base: np.ndarray, perturbations: Sequence[Perturbation],
                         patterns: np.ndarray) -> np.ndarray:
        """Losses (1 + K,): the base codes, then base plus each perturbation."""
        adc = self.device.evaluate(self.input_codes[patterns], base, perturbations)
        out = self._outputs(adc)
        return np.mean((out - self.targets[patterns]) ** 2, axis=(1, 2))

    def score(self, outputs: np.ndarray) -> Evaluation:
        """Loss and accuracy of output volts (P, n_outputs), e.g. a model's."""
        predictions = self.task.predict(outputs, self.bench)
        return Evaluation(float(np.mean((outputs - self.targets) ** 2)),
                          float(np.mean(predictions == self.task.labels)), outputs, predictions)

    def evaluate(self, codes: np.ndarray) -> Evaluation:
        """Loss and accuracy on every pattern at these codes (costs one query per pattern)."""
        out = self._outputs(self.device.evaluate(self.input_codes, codes))[0]
        predictions = self.task.predict(out, self.bench)
        return Evaluation(float(np.mean((out - self.targets) ** 2)),
                          float(np.mean(predictions == self.task.labels)), out, predictions)
