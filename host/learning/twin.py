"""The twin trainer: probe the board, fit its model, train the twin, transfer, fine-tune.

1. Identify: `wphil.learning.selection.fit_twin` measures probe weight vectors on every
   pattern (some twice, for the noise floor) and fits the board's per-weight gain and
   offset, per-neuron saturation and per-output offset, and candidate corrections beyond
   that equation (`wphil.learning.correction`: converter offsets, per-neuron transfer
   curves, the multipliers' compression); the model is chosen by held-out probe error
   (every probe query counted). Its held-out rms, the noise floor and the queries per
   fitted parameter go into summary.json (`summary_fields`).
2. Train the fitted model with backpropagation in float (no queries), restarting from
   fresh weights if it misses, until it meets the target with margin.
3. Transfer: quantize, load, measure the whole set on the device (and confirm a hit).
   The first record is this measurement, its queries the probes plus the transfer.
4. Where the device disagrees with the twin (its physics is not the model's, or the fit
   is off), continue in the loop like any rule: `pat` through the fitted model, or `wp`.
The fitted parameters and their uncertainties are in the rule's state (checkpoint) and
in `twin.json` of the run directory (`extra_files`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from wphil.learning.correction import LEVELS, level_named
from wphil.learning.identify import NOISE_READOUTS
from wphil.learning.objective import QueryMeter, meets_target
from wphil.learning.optim import Adam
from wphil.learning.selection import FitReport, default_probes, fit_twin
from wphil.learning.train import EpochRecord, Trainer

log = logging.getLogger(__name__)

#: probe vectors at least, with a share of the default count: the 5-fold cross-validation
#: needs a vector per fold
MIN_PROBES_SHARED = 5
#: repeated readouts at least, with a share of the default: the noise floor's std is then
#: known to about 1 / sqrt(2 x 12) = 20 %
MIN_NOISE_READOUTS = 12

#: Adam's step (weight units) when training the fitted model; it costs no queries, so the
#: model trains with a small, safe step and many epochs
MODEL_LR = 0.02


class TwinTrainer(Trainer):
    """Identify, train the twin, transfer; then in-loop training with the fallback rule."""

    fit: FitReport | None = None

    def run(self) -> Iterator[EpochRecord]:
        if self.rule.fitted is None:
            yield from self._identify_and_transfer()
            if self.stop_reason is not None:
                return
            log.info("twin: the device missed the target after the transfer (loss %.5f, "
                     "accuracy %.3f); continuing in the loop with %s", self.state.loss,
                     self.state.accuracy, self.rule.opts["fallback"])
            self.optimizer.reset()
        yield from super().run()

    def _identify_and_transfer(self) -> Iterator[EpochRecord]:
        st = self.state
        start, meter = time.perf_counter() - st.elapsed_s, QueryMeter(self.objective, st.queries)
        model = self.rule.opts["model"]
        levels = LEVELS if model == "auto" else (level_named(model),)
        opts = self.rule.opts
        probes = opts["probes"] or max(MIN_PROBES_SHARED, int(np.ceil(
            opts["probe_share"] * default_probes(self.objective, levels))))
        noise = opts["noise_readouts"] or max(MIN_NOISE_READOUTS,
                                              round(NOISE_READOUTS * opts["probe_share"]))
        self.fit = fit_twin(self.objective, probes, self.rng, levels, noise_readouts=noise)
        self.rule.use_fit(self.fit.params.mismatch, self.fit.sigma.mismatch,
                          self.fit.params.correction, self.fit.params.level.name)
        self._train_model()
        evaluation = self.objective.evaluate(self.codes())
        reached = self.confirmed(evaluation)
        st.epoch += 1
        st.queries = meter.spent
        st.elapsed_s = time.perf_counter() - start
        st.loss, st.accuracy = evaluation.loss, evaluation.accuracy
        st.rule, st.rng_state = self.rule.state(), self.rng.bit_generator.state
        st.optimizer = self._optimizer_state()
        self.stop_reason = self._done(reached)
        yield EpochRecord(st.epoch, st.queries, evaluation.loss, evaluation.accuracy,
                          st.elapsed_s, float("nan"), 0.0)

    def _model_meets(self, weights: np.ndarray) -> bool:
        cfg, obj = self.config, self.objective
        out = self.rule.model.forward(weights, self.rule.signals)[-1]
        evaluation = obj.evaluation_of(out)
        loss_goal = self.rule.opts["model_loss"] * (cfg.target_loss or 0.02)
        return (meets_target(evaluation, cfg.target_accuracy, 0.0, cfg.margin)
                and evaluation.loss <= loss_goal)

    def _train_model(self) -> None:
        """Backpropagation on the fitted model from the current weights (fresh ones on a
        restart) until it meets the target with margin; no device queries."""
        opts, st = self.rule.opts, self.state
        targets, model = self.objective.targets, self.rule.model
        for attempt in range(1 + opts["model_restarts"]):
            if attempt:
                st.weights = self._initial_state().weights
            adam = Adam(MODEL_LR)
            for epoch in range(opts["model_epochs"]):
                _, gradient = model.gradient(st.weights, self.rule.signals, targets)
                st.weights = np.clip(adam.step(st.weights, gradient), self.lo, self.hi)
                if epoch % 20 == 19 and self._model_meets(st.weights):
                    log.info("twin: fitted model meets the target after %d epochs (start %d)",
                             epoch + 1, attempt + 1)
                    return
        log.info("twin: fitted model missed the target after %d starts; transferring the last",
                 1 + opts["model_restarts"])

    def extra_files(self) -> dict[str, Any]:
        if self.rule.fitted is None:
            return {}
        if self.fit is not None:
            return {"twin.json": self.fit.to_dict()}
        return {"twin.json": {"model": self.rule.level, "fitted": _rounded(self.rule.fitted),
                              "sigma": _rounded(self.rule.sigma)}}

    def summary_fields(self) -> dict[str, Any]:
        """The fit against the noise floor (a resumed run did not fit: nothing)."""
        return {"twin": self.fit.summary()} if self.fit is not None else {}


def _rounded(mismatch) -> dict[str, list[float]]:
    return {k: [round(float(v), 5) for v in getattr(mismatch, k)]
            for k in ("gain", "offset", "vsat", "out_offset")}
