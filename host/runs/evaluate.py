"""`wphil eval`: put a finished run's weights on a device and measure them again.

For a twin-trained run (twin.json in the run directory) it also says how far the fitted
model's outputs are from the device's at the same weights: the reality gap of the twin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from wphil.drivers import ConfigError, open_device
from wphil.learning import (
    CodeMap,
    Objective,
    SequenceObjective,
    SequenceTask,
    load_task,
    model_from_record,
)
from wphil.runs.rundir import RunDir
from wphil.runs.session import RunSpec


def evaluate_run(path: Path, device: str | None = None) -> dict[str, Any]:
    """Loss, accuracy and per-pattern outputs of the run's final codes on `device`."""
    rundir = RunDir.reopen(path)
    spec = RunSpec.from_config(rundir.config(), str(path / "config.toml"))
    _, codes = rundir.load_weights()
    if codes.shape != (spec.bench.n_weights,):
        raise ConfigError(f"{path / 'weights.npz'}: {codes.shape[0]} codes, but the run's bench "
                          f"{spec.bench.name} has {spec.bench.n_weights} weights")
    lo, hi = spec.bench.limits.min_code, spec.bench.max_code
    if codes.size and (codes.min() < lo or codes.max() > hi):
        raise ConfigError(f"{path / 'weights.npz'}: codes outside the bench limits {lo}..{hi}")
    task = load_task(spec.task)
    url = device or spec.device
    if isinstance(task, SequenceTask):
        return _evaluate_sequences(spec, task, codes, url)
    with open_device(url, spec.bench) as dev:
        dev.set_codes(codes)
        result = Objective(dev, spec.bench, task, CodeMap(spec.bench)).evaluate(codes)
    patterns = [{"features": [round(float(v), 3) for v in task.features[i]],
                 "outputs": [round(float(v), 4) for v in result.outputs[i]],
                 "predicted": task.classes[result.predictions[i]],
                 "label": task.classes[task.labels[i]]} for i in range(len(task.labels))]
    out = {"task": spec.task, "device": url, "loss": result.loss, "accuracy": result.accuracy,
           "patterns": patterns}
    if (path / "twin.json").exists():
        out["twin"] = _twin_gap(path / "twin.json", spec.bench, codes, result.outputs,
                                CodeMap(spec.bench), task)
    return out


def _twin_gap(file: Path, bench, codes: np.ndarray, device_outputs: np.ndarray,
              codemap: CodeMap, task) -> dict[str, Any]:
    """The fitted model's outputs at the run's codes against the device's, in volts."""
    model = model_from_record(bench, json.loads(file.read_text(encoding="utf-8")))
    signals = codemap.input_volts(codemap.inputs_to_codes(task.features))
    twin = model.forward(codemap.codes_to_weights(codes), signals)[-1]
    gap = twin - device_outputs
    return {"rms_volts": float(np.sqrt(np.mean(gap ** 2))), "max_volts": float(np.max(np.abs(gap))),
            "outputs": np.round(twin, 4).tolist()}


def _evaluate_sequences(spec: RunSpec, task: SequenceTask, codes: np.ndarray,
                        url: str) -> dict[str, Any]:
    """A recurrent run: each sequence replayed once at the run's codes; per sequence the
    RMS error (V) over its scored steps and, for a temporal task, how many steps are right."""
    with open_device(url, spec.bench) as dev:
        objective = SequenceObjective(dev, spec.bench, task, CodeMap(spec.bench))
        result = objective.evaluate(codes)
    sequences = []
    for s in range(len(task.features)):
        err = result.outputs[s, task.scored] - objective.targets[s, task.scored]
        sequences.append({"steps": int(task.steps), "scored": int(task.scored.sum()),
                          "rms_volts": round(float(np.sqrt(np.mean(err ** 2))), 5),
                          "right": int(np.sum(result.predictions[s])),
                          "outputs": np.round(result.outputs[s], 4).tolist()})
    return {"task": spec.task, "device": url, "loss": result.loss, "accuracy": result.accuracy,
            "trajectory": task.trajectory is not None, "patterns": [], "sequences": sequences,
            "adc_lsb_volts": spec.bench.adc.vref / (1 << spec.bench.adc.bits)}
