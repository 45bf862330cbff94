"""`wphil.Run`: read a run directory from a script or a notebook.

Everything a run leaves behind, typed: `config` (the resolved settings and bench tables),
`metrics` (a numpy structured array, one row per epoch), `records` (the same rows as
dicts), `summary`, and the final `weights` and DAC `codes`.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from wphil.drivers.errors import ConfigError
from wphil.learning import EpochRecord
from wphil.runs.evaluate import evaluate_run
from wphil.runs.rundir import RunDir

#: the metrics.csv columns and their numpy types
METRIC_DTYPE = np.dtype([(name, np.int64 if name in ("epoch", "queries") else np.float64)
                         for name in EpochRecord.COLUMNS])


class Run:
    """A run directory written by `wphil train` or `wphil.train` (finished or not)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._dir = RunDir.reopen(self.path)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    @cached_property
    def config(self) -> dict[str, Any]:
        """config.toml: [run] (device, task, algo and every setting) and the bench's tables."""
        return self._dir.config()

    @property
    def metrics(self) -> np.ndarray:
        """One row per epoch: epoch, queries, loss, accuracy, elapsed_s, train_loss, grad_norm."""
        rows = self._dir.metrics()
        try:
            return np.array([tuple(float(row[c]) for c in EpochRecord.COLUMNS) for row in rows],
                            dtype=METRIC_DTYPE)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{self.path / 'metrics.csv'}: not a metrics table ({exc})") from None

    @property
    def records(self) -> list[dict[str, Any]]:
        """The metrics as a list of dicts, one per epoch."""
        return [{name: row[name].item() for name in METRIC_DTYPE.names} for row in self.metrics]

    @property
    def summary(self) -> dict[str, Any] | None:
        """summary.json (None while the run has not stopped yet)."""
        return self._dir.summary()

    @property
    def weights(self) -> np.ndarray:
        """The final float weights (all layers, flat, in the bench's wiring order)."""
        return self._dir.load_weights()[0]

    @property
    def codes(self) -> np.ndarray:
        """The final DAC codes of the weights."""
        return self._dir.load_weights()[1]

    def evaluate(self, device: str | None = None) -> dict[str, Any]:
        """Put the final codes on `device` (default: the run's own) and measure again: task,
        device, loss, accuracy and each pattern's features, outputs, prediction and label."""
        return evaluate_run(self.path, device)

    def plot(self, out: str | Path | None = None) -> Path:
        """Draw the learning curve as a PNG (needs the `plot` extra); return its path."""
        from wphil.compare import plot_run

        run = self.config.get("run", {})
        title = f"{run.get('task', '?')} with {run.get('algo', '?')} on {run.get('device', '?')}"
        path = Path(out) if out else self.path / "learning_curve.png"
        return plot_run(self._dir.metrics(), title, path, run.get("target_loss"),
                        run.get("target_accuracy"))
