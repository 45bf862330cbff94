"""The strongest general-purpose derivative-free peers (issue 21): nevergrad's NGOpt and
Py-BOBYQA, beside Nelder-Mead, Powell and CMA-ES in `wphil.compare.peers`.

Both see the device only through `DeviceLoss` (full-batch: one whole-set loss per weight
vector, every query counted, the same confirmed target and budget), inside the same weight
box, seeded from the job's seed, and restart like every peer (`PeerOptimizer.run`: from a
fresh random point when they stop on their own or stagnate under noise). Both packages are
in the `bench` extra; without them the peer is refused in one line naming it.

- `ngopt`: `nevergrad.optimizers.NGOpt`, nevergrad's recommended black-box optimizer, in an
  ask/tell loop with one worker and the budget left (in whole-set evaluations). NGOpt picks
  its algorithm from the budget and the dimension; the choice is kept in the run's row
  (`algorithm`).
- `bobyqa`: Py-BOBYQA (Cartis, Fiala, Marteau & Roberts, "Improving the flexibility and
  robustness of model-based derivative-free optimization solvers", ACM TOMS 45(3), 2019)
  with its noise-aware settings: `objfun_has_noise=True` (its own soft restarts, and it
  quits once its recent losses all lie within the noise level) and `seek_global_minimum=True`
  (restarts with a growing trust region). Its noise level is the measured loss noise at an
  undecided network (`Resolution.loss_sd`); rhoend, the smallest trust-region radius (a
  distance in weight space), is one DAC step: the loss noise sets when it stops, the DAC
  what it can resolve.
"""

from __future__ import annotations

import logging
import re
from collections import Counter

import numpy as np

from wphil.compare.peers import DeviceLoss, PeerOptimizer, warnings_to_log
from wphil.compare.resolution import Resolution
from wphil.learning import Objective, Option

log = logging.getLogger(__name__)

#: the evaluations a start is given when the run has no query budget
UNBOUNDED_EVALUATIONS = 10_000


def evaluations_left(loss: DeviceLoss) -> int:
    """Whole-set evaluations the query budget still pays for (at least one)."""
    if not loss.max_queries:
        return UNBOUNDED_EVALUATIONS
    return max(1, (loss.max_queries - loss.queries) // loss.objective.n_patterns)


def algorithm_name(optimizer) -> str:  # noqa: ANN001
    """NGOpt's choice, short: class paths dropped, repeated members counted
    ("ConfPortfolio(optimizers=[NGOpt14 x14], warmup_ratio=0.7)")."""
    name = getattr(optimizer, "name", type(optimizer).__name__)
    name = re.sub(r"<class '[\w.]*\.(\w+)'>", r"\1", name)

    def count(match: re.Match) -> str:
        members = Counter(m.strip() for m in match.group(1).split(","))
        return "[" + ", ".join(f"{k} x{n}" if n > 1 else k for k, n in members.items()) + "]"

    return re.sub(r"\[([^\[\]]*)\]", count, name)


def _scalar(value) -> float:  # noqa: ANN001
    """float() of a one-element array, as numpy < 2.? allowed."""
    return float(np.asarray(value).reshape(-1)[0]) if np.size(value) == 1 else float(value)


def _patch_metamodel() -> None:
    """nevergrad 1.0.12's metamodel (metamodel.py, learn_on_k_best) minimises
    `float(model.predict(x[None, :]))`, a one-element array, which numpy 2.4 refuses
    ("only 0-dimensional arrays can be converted to Python scalars"): every NGOpt whose
    choice includes a MetaModel (xor's, below 2,000 evaluations) failed on its first model
    step. Its module-level `float` is pointed at `_scalar`; nothing else changes."""
    from nevergrad.optimization import metamodel

    metamodel.float = _scalar


class NGOpt(PeerOptimizer):
    name = "ngopt"
    package = "nevergrad"
    #: NGOpt's choice at xor's budget is a portfolio of 14 optimizers sharing the
    #: evaluations: at the common window (270 evaluations on xor) it stagnated 15-22 times
    #: per run on seeds 200-202 (50-58k queries to the target); each member needs its own
    STALL_MIN, STALL_PER_WEIGHT = 1000, 100
    options = {**PeerOptimizer.options,
               "sigma": Option(1.0, "initial mutation scale of the weights (nevergrad's "
                               "default 1)", 1e-6, 100.0)}

    def search(self, loss, x0, lo, hi, seed) -> None:
        import nevergrad as ng

        _patch_metamodel()
        weights = ng.p.Array(init=np.clip(x0, lo, hi), lower=lo, upper=hi)
        weights.set_mutation(sigma=self.opts["sigma"])
        weights.random_state = np.random.RandomState(seed)
        budget = evaluations_left(loss)
        optimizer = ng.optimizers.NGOpt(parametrization=weights, budget=budget, num_workers=1)
        chosen = algorithm_name(optimizer.optim)
        seen = self.notes.get("algorithm", "")
        if chosen not in seen.split(" / "):
            self.notes["algorithm"] = f"{seen} / {chosen}" if seen else chosen
        log.debug("ngopt: budget %d evaluations, dimension %d: %s", budget, len(x0), chosen)
        with warnings_to_log("ngopt"):        # its members include scipy's Powell
            for _ in range(budget):
                candidate = optimizer.ask()
                optimizer.tell(candidate, loss(candidate.value))

    @classmethod
    def settings(cls, objective: Objective) -> str:
        return ("NGOpt, one worker, budget: the evaluations the query budget has left, "
                "bounds, seeded; its choice of algorithm is in each run's row; restarts "
                "from fresh points")


class BOBYQA(PeerOptimizer):
    name = "bobyqa"
    package = "pybobyqa"
    options = {**PeerOptimizer.options,
               "rhobeg": Option(0.0, "initial trust-region radius (weight units; 0: "
                                "Py-BOBYQA's default, 0.1 x the widest bound)", 0.0, 100.0)}

    def search(self, loss, x0, lo, hi, seed) -> None:
        import pybobyqa

        res = Resolution.of(loss.objective)
        # Py-BOBYQA draws its restarts' directions from numpy's global generator
        np.random.seed(seed % 2**32)
        rhobeg = self.opts["rhobeg"] or None
        maxfun, npt = evaluations_left(loss), 2 * len(x0) + 1
        if maxfun <= npt:
            log.info("bobyqa: %d evaluations left, not more than the %d of its first model "
                     "(the query budget is too small for this many weights)", maxfun, npt)
        with warnings_to_log("bobyqa"):
            soln = pybobyqa.solve(loss, np.clip(x0, lo, hi), bounds=(lo, hi),
                                  rhoend=res.weight, rhobeg=rhobeg, maxfun=maxfun,
                                  objfun_has_noise=True, seek_global_minimum=True,
                                  do_logging=False,
                                  user_params={"noise.additive_noise_level":
                                               res.loss_sd(res.undecided)})
        log.debug("bobyqa stopped on its own: %s (%d runs)", soln.msg, soln.nruns)

    @classmethod
    def settings(cls, objective: Objective) -> str:
        res = Resolution.of(objective)
        return (f"Py-BOBYQA, objfun_has_noise, seek_global_minimum, bounds, seeded; noise "
                f"level {res.loss_sd(res.undecided):.2g} V^2 (1 sd of the measured loss), "
                f"rhoend {res.weight:.3g} (1 DAC step); restarts from fresh points")
