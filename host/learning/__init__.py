"""Learning: tasks, the code map between weights and converter codes, the ideal model, the
objective, learning rules, the optimizer, and the trainers (in-loop, offline, on-chip).

What other parts of wphil use is imported here; the modules themselves are internal.
"""

from wphil.learning.codes import CodeMap
from wphil.learning.correction import model_from_record
from wphil.learning.model import IdealModel, Mismatch
from wphil.learning.objective import Evaluation, Objective, meets_target
from wphil.learning.onchip import onchip_job, train_onchip
from wphil.learning.optim import OPTIMIZERS, SGD, Adam, make_optimizer
from wphil.learning.rules import RULES, check_rule, make_rule
from wphil.learning.rules.base import Estimate, LearningRule, Option
from wphil.learning.sequence_objective import SequenceObjective
from wphil.learning.sequences import SequenceTask
from wphil.learning.tasks import Task, load_task
from wphil.learning.train import EpochRecord, TrainConfig, Trainer, TrainState
from wphil.learning.trainers import make_trainer

__all__ = [
    "model_from_record",
    "OPTIMIZERS", "RULES", "SGD", "Adam", "make_optimizer", "meets_target", "CodeMap",
    "EpochRecord", "Estimate", "Evaluation", "IdealModel",
    "LearningRule", "Mismatch", "Objective", "Option", "SequenceObjective", "SequenceTask", "Task",
    "TrainConfig", "TrainState", "Trainer",
    "check_rule", "load_task", "make_rule", "make_trainer", "onchip_job", "train_onchip",
]
