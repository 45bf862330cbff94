"""The measured objective of a sequence task on a recurrent bench.

The same interface as `wphil.learning.objective.Objective`, so every rule that only asks
for losses (wp, wp-central, spsa, mgd) trains recurrent benches unchanged: a "pattern" is
one sequence, its loss the mean squared error in output volts over its scored steps and
outputs. Each sequence is replayed on the device once per weight vector; a batch of
perturbations goes in one request (`Device.evaluate_sequence`). One query per sampled step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wphil.drivers.base import Device, Perturbation
from wphil.drivers.bench import Bench
from wphil.learning.codes import CodeMap
from wphil.learning.objective import Evaluation, Objective
from wphil.learning.sequences import SequenceTask
from wphil.learning.tasks import Task


class SequenceObjective:
    """A device, the bench calibration and a sequence task: losses over whole sequences."""

    def __init__(self, device: Device, bench: Bench, task: SequenceTask, codemap: CodeMap) -> None:
        task.check_fits(bench)
        self.device, self.bench, self.task, self.codemap = device, bench, task, codemap
        self.input_codes = np.stack([codemap.inputs_to_codes(f) for f in task.features])
        self.targets = task.targets(bench)             # (S, T, n_outputs) volts
        self.scored = task.scored
        self.timing: dict[str, float] = {}            # the device's pacing, last replay

    @property
    def n_patterns(self) -> int:
        return len(self.input_codes)

    @property
    def queries(self) -> int:
        return self.device.queries

    def _replay(self, sequence: int, codes: np.ndarray,
                perturbations: Sequence[Perturbation] | None = None) -> np.ndarray:
        """Output volts (rows, T, n_outputs) of one sequence."""
        adc = self.device.evaluate_sequence(self.input_codes[sequence], codes, perturbations)
        self.timing = dict(self.device.sequence_timing)
        return self.codemap.adc_to_volts(adc[..., : self.bench.n_outputs])

    def _loss(self, volts: np.ndarray, sequence: int) -> np.ndarray:
        err = volts[:, self.scored] - self.targets[sequence, self.scored]
        return np.mean(err ** 2, axis=(1, 2))

    def pattern_losses(self, codes: np.ndarray, patterns: np.ndarray) -> np.ndarray:
        """Loss per weight vector and sequence, (B, len(patterns)), for codes (B, n_w)."""
        return np.stack([self._loss(self._replay(s, codes), s) for s in patterns], axis=1)

    def losses(self, codes: np.ndarray, patterns: np.ndarray) -> np.ndarray:
        return self.pattern_losses(codes, patterns).mean(axis=1)

    def perturbed_losses(self, base: np.ndarray, perturbations: Sequence[Perturbation],
                         patterns: np.ndarray) -> np.ndarray:
        """Losses (1 + K,): the base codes, then base plus each perturbation."""
        return np.mean([self._loss(self._replay(s, base, perturbations), s) for s in patterns],
                       axis=0)

    def score(self, outputs: np.ndarray) -> Evaluation:
        """Loss and accuracy of output volts (S, T, n_outputs); `predictions` holds whether
        each scored sample is right."""
        err = outputs[:, self.scored] - self.targets[:, self.scored]
        correct = self.task.correct(outputs, self.bench)
        return Evaluation(float(np.mean(err ** 2)), float(np.mean(correct)), outputs, correct)

    def base_evaluation(self, codes: np.ndarray) -> Evaluation | None:
        """Sequence runs do not reuse a step's measurement as the stop check (yet)."""
        return None

    def evaluate(self, codes: np.ndarray) -> Evaluation:
        """Every sequence at these codes (one query per step of each)."""
        return self.score(np.stack([self._replay(s, codes)[0] for s in range(self.n_patterns)]))


def make_objective(device: Device, bench: Bench, task: Task | SequenceTask,
                   codemap: CodeMap) -> Objective | SequenceObjective:
    """The objective for a task: per pattern for feed-forward tasks, per sequence otherwise."""
    if isinstance(task, SequenceTask):
        return SequenceObjective(device, bench, task, codemap)
    return Objective(device, bench, task, codemap)
