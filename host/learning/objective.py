"""The measured objective: the loss of a task as read back from a device, in batches.

This is the only place the training side turns ADC codes into a loss. The loss is the
mean squared error in output volts, over patterns and outputs.

It is also where "the target is met" is decided (`meets_target`), for the trainers and the
peer optimizers alike: the accuracy that counts is the share of patterns decided by at
least a margin (volts between the output and the class threshold, or between the right
output and the next best), so outputs that sit on the right side only by noise do not
count. And it keeps the outputs of the last whole-set measurement at one set of codes
(`base_evaluation`), so a trainer can use a rule's own base measurement as its stop check
instead of paying for the same measurement twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
    margins: np.ndarray | None = None   # (P,) volts by which each pattern is decided right


def meets_target(evaluation: Evaluation, target_accuracy: float, target_loss: float,
                 margin: float) -> bool:
    """Whether `evaluation` reaches the target: accuracy counted with `margin`, and the loss."""
    decided = (np.mean(evaluation.margins >= margin) if evaluation.margins is not None
               else evaluation.accuracy)
    return bool(decided >= target_accuracy and (target_loss <= 0 or evaluation.loss <= target_loss))


def decision_margins(outputs: np.ndarray, labels: np.ndarray, threshold: float) -> np.ndarray:
    """Volts by which each pattern is on the right side (negative: wrong), outputs (P, n_out)."""
    if outputs.shape[-1] == 1:
        return (outputs[:, 0] - threshold) * np.where(labels == 1, 1.0, -1.0)
    right = np.take_along_axis(outputs, labels[:, None], axis=1)[:, 0]
    others = np.where(np.arange(outputs.shape[1])[None, :] == labels[:, None], -np.inf, outputs)
    return right - others.max(axis=1)


class Objective:
    """A device, the bench calibration and a task: losses for codes, counted in queries."""

    def __init__(self, device: Device, bench: Bench, task: Task, codemap: CodeMap) -> None:
        task.check_fits(bench)
        self.device, self.bench, self.task, self.codemap = device, bench, task, codemap
        self.input_codes = codemap.inputs_to_codes(task.features)
        self.targets = task.targets(bench)
        self.threshold = sum(bench.calibration.targets) / 2
        self._base: tuple[bytes, np.ndarray] | None = None

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
        codes = np.atleast_2d(codes)
        out = self._outputs(self.device.evaluate(self.input_codes[patterns], codes))
        self.note_base(codes[0], patterns, out[0])
        return np.mean((out - self.targets[patterns]) ** 2, axis=-1)

    def losses(self, codes: np.ndarray, patterns: np.ndarray) -> np.ndarray:
        """Mean loss over `patterns` for each of a batch of code vectors (B, n_w)."""
        return self.pattern_losses(codes, patterns).mean(axis=1)

    def perturbed_losses(self, base: np.ndarray, perturbations: Sequence[Perturbation],
                         patterns: np.ndarray) -> np.ndarray:
        """Losses (1 + K,): the base codes, then base plus each perturbation."""
        adc = self.device.evaluate(self.input_codes[patterns], base, perturbations)
        out = self._outputs(adc)
        self.note_base(np.asarray(base), patterns, out[0])
        return np.mean((out - self.targets[patterns]) ** 2, axis=(1, 2))

    def score(self, outputs: np.ndarray) -> Evaluation:
        """Loss and accuracy of output volts (P, n_outputs), e.g. a model's."""
        predictions = self.task.predict(outputs, self.bench)
        return Evaluation(float(np.mean((outputs - self.targets) ** 2)),
                          float(np.mean(predictions == self.task.labels)), outputs, predictions)

    def evaluate(self, codes: np.ndarray) -> Evaluation:
        """Loss and accuracy on every pattern at these codes (costs one query per pattern)."""
        return self.evaluation_of(self._outputs(self.device.evaluate(self.input_codes, codes))[0])

    def evaluation_of(self, out: np.ndarray) -> Evaluation:
        """Loss, accuracy and decision margins of output volts (P, n_outputs) on every pattern."""
        predictions = self.task.predict(out, self.bench)
        return Evaluation(float(np.mean((out - self.targets) ** 2)),
                          float(np.mean(predictions == self.task.labels)), out, predictions,
                          decision_margins(out, self.task.labels, self.threshold))

    def note_base(self, codes: np.ndarray, patterns: np.ndarray, out: np.ndarray) -> None:
        """Keep output volts measured at `codes` if they cover every pattern, in order."""
        whole = len(patterns) == self.n_patterns and np.array_equal(patterns,
                                                                    np.arange(self.n_patterns))
        self._base = (codes.astype(np.int64).tobytes(), out.copy()) if whole else None

    def base_evaluation(self, codes: np.ndarray) -> Evaluation | None:
        """The evaluation a rule already measured at exactly `codes` on the whole set (then
        forgotten), or None."""
        base, self._base = self._base, None
        if base is None or base[0] != codes.astype(np.int64).tobytes():
            return None
        return self.evaluation_of(base[1])


class QueryMeter:
    """Forward passes spent since the meter started, plus `already` (a resumed run's).

    The one place queries are read: the device counts every pass it is asked for
    (`wphil.drivers.base.Device.queries`), and rules and trainers read their share as
    the difference from where their meter started, never with their own counters.
    """

    def __init__(self, source: Any, already: int = 0) -> None:
        self.source, self.start = source, source.queries - already

    @property
    def spent(self) -> int:
        return self.source.queries - self.start

