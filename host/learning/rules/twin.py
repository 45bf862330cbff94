"""`twin`: identify the board, train its fitted model, transfer, then fine-tune in the loop.

Run by `wphil.learning.twin.TwinTrainer` (like `offline`, it does not fit "estimate, step,
evaluate" from the start). This class carries the rule's name and options and is the
in-loop rule once the twin has been transferred: physics-aware training (`pat`) through
the *fitted* model, or plain weight perturbation (`fallback=wp`), which uses no model.
Its state is the fitted mismatch and correction (`wphil.learning.correction`) with the
chosen model's level, so a resumed run does not probe the board again.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from wphil.learning.correction import LEVEL_NAMES, Correction, TwinModel, level_named
from wphil.learning.model import IdealModel, Mismatch
from wphil.learning.rules.base import Estimate, Option
from wphil.learning.rules.pat import PhysicsAware
from wphil.learning.rules.wp import WeightPerturbation


class Twin(PhysicsAware):
    name = "twin"
    trainer = "twin"
    requires = ("scipy",)          # the fit: scipy.optimize.least_squares
    options = {
        "probes": Option(0, "probe weight vectors, each measured on 5 patterns per input of "
                         "the widest layer or every pattern (0: six readouts per parameter of "
                         "the richest candidate model, at least 2 per weight and 10)", 0, 1000),
        "probe_share": Option(1.0, "with probes 0: this share of the default probe count "
                              "(a cheaper, coarser fit; its held-out error is reported)",
                              0.01, 1.0),
        "noise_readouts": Option(0, "readouts measured twice for the noise floor, against "
                                 "which the held-out fit error is reported (0: 48 x "
                                 "probe_share, at least 12)", 0, 10_000),
        "model": Option("auto", "the fitted model: auto (the candidate with the lowest held-out "
                        "probe error, simplest first) or one candidate",
                        choices=("auto", *LEVEL_NAMES)),
        "fallback": Option("pat", "in-loop rule when the transferred twin misses the target",
                           choices=("pat", "wp")),
        "model_epochs": Option(4000, "most epochs of training the fitted model per start",
                               1, 1_000_000),
        "model_restarts": Option(5, "fresh starts of the model training if it misses", 0, 100),
        "model_loss": Option(0.5, "train the model until its loss is at most this fraction "
                             "of the target loss (margin for the transfer)", 0.0, 1.0),
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fitted: Mismatch | None = None
        self.sigma: Mismatch | None = None
        self.correction: Correction | None = None
        self.level = "plain"
        self.inner = (WeightPerturbation(self.objective, self.pert, self.rng)
                      if self.opts["fallback"] == "wp" else None)

    def use_fit(self, fitted: Mismatch, sigma: Mismatch, correction: Correction | None = None,
                level: str = "plain") -> None:
        """Use the fitted model (with its correction, unless the plain model was chosen)."""
        self.fitted, self.sigma, self.level = fitted, sigma, level
        bench = self.objective.bench
        self.correction = correction if correction is not None else Correction.none(bench)
        self.model = (IdealModel(bench, fitted) if level == "plain"
                      else TwinModel(bench, fitted, self.correction))

    def _estimate(self, codes: np.ndarray, patterns: np.ndarray) -> Estimate:
        if self.inner is not None:
            return self.inner.estimate(codes, patterns)
        return super()._estimate(codes, patterns)

    def state(self) -> dict[str, np.ndarray]:
        if self.fitted is None or self.sigma is None:
            return {}
        return {"twin_fit": self.fitted.vector(), "twin_sigma": self.sigma.vector(),
                "twin_correction": self.correction.vector(),
                "twin_level": np.array([LEVEL_NAMES.index(self.level)])}

    def load_state(self, state: Mapping[str, np.ndarray]) -> None:
        if "twin_fit" in state:
            like = Mismatch.ideal(self.objective.bench)
            level = LEVEL_NAMES[int(state["twin_level"][0])] if "twin_level" in state else "plain"
            correction = (Correction.from_vector(state["twin_correction"], self.objective.bench,
                                                 level_named(level).terms)
                          if "twin_correction" in state else None)
            self.use_fit(Mismatch.from_vector(state["twin_fit"], like),
                         Mismatch.from_vector(state["twin_sigma"], like), correction, level)
