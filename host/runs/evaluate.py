"""`wphil eval`: put a finished run's weights on a device and measure them again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wphil.drivers import open_device
from wphil.learning import CodeMap
from wphil.learning import Objective
from wphil.runs.rundir import RunDir
from wphil.runs.session import RunSpec
from wphil.learning import load_task


def evaluate_run(path: Path, device: str | None = None) -> dict[str, Any]:
    """Loss, accuracy and per-pattern outputs of the run's final codes on `device`."""
    rundir = RunDir.reopen(path)
    spec = RunSpec.from_config(rundir.config(), str(path / "config.toml"))
    _, codes = rundir.load_weights()
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
