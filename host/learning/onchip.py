"""On-chip training: the firmware runs the perturbation loop; the host only watches.

The job is expressed in converter units, since the board knows nothing of weights or
volts: inputs as DAC codes, targets as ADC codes, the learning rate per weight as
code steps per code^2 of error, the perturbation as DAC codes. With w = s*c + i and
loss L = mean (y_v - t_v)^2 = mean (y_c - t_c)^2 / scale^2, the host's step
dw = -lr dL/dw is dc = -lr / (s^2 scale^2) * d(mean e_c)/dc on the board.
Each progress frame becomes a metrics row and a checkpoint, exactly as host-driven runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from wphil.drivers.base import Device
from wphil.drivers.bench import Bench
from wphil.learning.codes import CodeMap
from wphil.learning.tasks import Task
from wphil.learning.train import EpochRecord, TrainConfig, TrainState

log = logging.getLogger(__name__)


def onchip_job(bench: Bench, task: Task, config: TrainConfig, codemap: CodeMap,
               state: TrainState) -> dict[str, Any]:
    """The TRAIN request for the firmware, from the host's settings and current state."""
    scale = codemap.adc_scale
    low, high = (v * scale + codemap.adc_mid for v in bench.calibration.targets)
    return {
        "inputs": codemap.inputs_to_codes(task.features).ravel().tolist(),
        "target_codes": [low, high], "labels": task.labels.tolist(),
        "threshold": (low + high) / 2,
        "lr": (config.lr / (codemap.slope ** 2 * scale ** 2)).tolist(),
        "pert": codemap.perturbation_codes(config.pert).tolist(),
        "codes": codemap.weights_to_codes(state.weights).tolist(),
        "epochs": config.epochs - state.epoch,
        "max_queries": max(config.max_queries - state.queries, 1) if config.max_queries else 0,
        "target_accuracy": config.target_accuracy,
        "target_loss": config.target_loss * scale ** 2,
        "seed": config.seed + state.epoch, "shuffle": True,
    }


def train_onchip(device: Device, bench: Bench, task: Task, config: TrainConfig,
                 state: TrainState, sink: Callable[[EpochRecord, TrainState], None]) -> str:
    """Run on the device; call `sink` once per epoch; return the stop reason."""
    codemap = CodeMap(bench)
    scale2 = codemap.adc_scale ** 2
    epoch0, queries0 = state.epoch, state.queries
    start = time.perf_counter() - state.elapsed_s

    def progress(event: dict[str, Any]) -> None:
        state.epoch = epoch0 + event["epoch"]
        state.queries = queries0 + event["queries"]
        state.loss, state.accuracy = event["loss"] / scale2, event["accuracy"]
        state.weights = codemap.codes_to_weights(np.array(event["codes"]))
        state.elapsed_s = time.perf_counter() - start
        sink(EpochRecord(state.epoch, state.queries, state.loss, state.accuracy, state.elapsed_s,
                         float("nan"), float("nan")), state)

    job = onchip_job(bench, task, config, codemap, state)
    if job["epochs"] <= 0:
        return "max_epochs"
    log.info("on-chip training: %d patterns, %d epochs at most", len(task.labels), job["epochs"])
    result = device.train_onchip(job, progress)
    state.weights = codemap.codes_to_weights(np.array(result["codes"]))
    log.info("on-chip training stopped (%s) after %s epochs", result["stop"], result["epochs"])
    return result["stop"]
