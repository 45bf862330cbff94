"""Which trainer runs a rule: each rule names the one it needs (`LearningRule.trainer`):
the in-loop `Trainer`, train-then-transfer for `offline`, identify-train-transfer-then-
in-loop for `twin` (`Trainer` subclasses). Kept out of `train` so that `offline` can import
`train` without a cycle."""

from __future__ import annotations

from wphil.drivers.base import Device
from wphil.drivers.bench import Bench
from wphil.learning.offline import OfflineTrainer
from wphil.learning.rules import check_rule
from wphil.learning.tasks import Task
from wphil.learning.train import TrainConfig, Trainer, TrainState
from wphil.learning.twin import TwinTrainer

#: trainer name (a rule's `trainer`) -> the class that runs it
TRAINERS: dict[str, type[Trainer]] = {"loop": Trainer, "offline": OfflineTrainer,
                                      "twin": TwinTrainer}


def make_trainer(device: Device, bench: Bench, task: Task, config: TrainConfig,
                 state: TrainState | None = None) -> Trainer:
    """The trainer `config.algo`'s rule declares (an unknown rule is a `ConfigError`)."""
    rule = check_rule(config.algo, config.rule_options)
    return TRAINERS[rule.trainer](device, bench, task, config, state)
