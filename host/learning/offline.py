"""Offline training: bp on the ideal model in float, then one transfer to the device.

The baseline that shows the reality gap (`--algo offline`, rule class in
host/learning/rules/bp.py). Each epoch steps the float weights with the ideal model's exact
gradient (same initial weights, batches, optimizer and learning rate as in-loop
training) and records the *model's* loss and accuracy, with 0 device queries. When the
model meets the target accuracy and its loss is at most `model_loss` (or the epoch limit
is hit), one more record is the transfer: the weights are quantized to DAC codes, loaded
onto the device and measured once (one query per pattern; once more to confirm a hit).
The run has converged only if the device, not the model, meets the target.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import numpy as np

from wphil.learning.objective import Evaluation, QueryMeter
from wphil.learning.train import EpochRecord, Trainer

log = logging.getLogger(__name__)


class OfflineTrainer(Trainer):
    """Train on the ideal model, then transfer and evaluate on the device once."""

    def _model_evaluation(self) -> Evaluation:
        return self.objective.score(self.rule.model_outputs(self.state.weights))

    def _model_done(self, evaluation: Evaluation) -> bool:
        return (evaluation.accuracy >= self.config.target_accuracy
                and evaluation.loss <= max(self.rule.opts["model_loss"], self.config.target_loss))

    def run(self) -> Iterator[EpochRecord]:
        st = self.state
        start = time.perf_counter() - st.elapsed_s
        self.stop_reason = None
        model_done = st.epoch > 0 and self._model_done(self._model_evaluation())
        while not model_done and st.epoch < self.config.epochs:
            losses, grad_norm = [], 0.0
            for patterns in self._batches():
                loss, gradient = self.rule.gradient_at(st.weights, patterns)
                st.weights = np.clip(self.optimizer.step(st.weights, gradient), self.lo, self.hi)
                losses.append(loss)
                grad_norm = float(np.linalg.norm(gradient))
            evaluation = self._model_evaluation()
            model_done = self._model_done(evaluation)
            yield self._record(evaluation, start, float(np.mean(losses)), grad_norm)
        log.info("offline: ideal model %s after %d epochs (loss %.5f, accuracy %.3f); "
                 "transferring to the device", "converged" if model_done else "stopped",
                 st.epoch, st.loss, st.accuracy)
        meter = QueryMeter(self.objective, st.queries)
        device = self.last_evaluation = self.objective.evaluate(self.codes())
        reached = self.confirmed(device) is not None
        st.queries = meter.spent
        self.stop_reason = "converged" if reached else "transferred" if model_done else "max_epochs"
        yield self._record(device, start, float("nan"), 0.0)

    def _record(self, evaluation: Evaluation, start: float, train_loss: float,
                grad_norm: float) -> EpochRecord:
        st = self.state
        st.epoch += 1
        st.elapsed_s = time.perf_counter() - start
        st.loss, st.accuracy = evaluation.loss, evaluation.accuracy
        st.optimizer = self.optimizer.state()
        st.rng_state = self.rng.bit_generator.state
        return EpochRecord(st.epoch, st.queries, evaluation.loss, evaluation.accuracy,
                           st.elapsed_s, train_loss, grad_norm)
