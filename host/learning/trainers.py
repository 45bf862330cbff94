"""Which trainer runs a rule: the in-loop `Trainer` for every rule, train-then-transfer for
`offline`, identify-train-transfer-then-in-loop for `twin` (`Trainer` subclasses). Kept out
of `train` so that `offline` can import `train` without a cycle."""

from __future__ import annotations

from wphil.drivers.base import Device
from wphil.drivers.bench import Bench
from wphil.learning.offline import OfflineTrainer
from wphil.learning.tasks import Task
from wphil.learning.train import TrainConfig, Trainer, TrainState
from wphil.learning.twin import TwinTrainer


def make_trainer(device: Device, bench: Bench, task: Task, config: TrainConfig,
                 state: TrainState | None = None) -> Trainer:
    """The trainer for `config.algo`: in-loop for every rule, train-then-transfer for offline."""
    if config.algo == "offline":
        return OfflineTrainer(device, bench, task, config, state)
    if config.algo == "twin":
        return TwinTrainer(device, bench, task, config, state)
    return Trainer(device, bench, task, config, state)
