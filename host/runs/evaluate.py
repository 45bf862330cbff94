"""`wphil eval`: put a finished run's weights on a device and measure them again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wphil.drivers import ConfigError, open_device
from wphil.learning import CodeMap, Objective, load_task
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
    with open_device(url, spec.bench) as dev:
        dev.set_codes(codes)
        result = Objective(dev, spec.bench, task, CodeMap(spec.bench)).evaluate(codes)
    patterns = [{"features": [round(float(v), 3) for v in task.features[i]],
                 "outputs": [round(float(v), 4) for v in result.outputs[i]],
                 "predicted": task.classes[result.predictions[i]],
                 "label": task.classes[task.labels[i]]} for i in range(len(task.labels))]
    return {"task": spec.task, "device": url, "loss": result.loss, "accuracy": result.accuracy,
            "patterns": patterns}
