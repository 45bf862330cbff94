"""Tasks: the datasets a bench learns (built-in XOR, parity, iris, or any CSV file).

Features are scaled to [0, 1] (the bench maps them to input volts); labels are class
indices. A two-class task uses one output (high = class 1), more classes one output each.
"""

from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError
from wphil.learning.sequences import SEQUENCE_TASKS, load_sequence_task

BUILTIN = ("xor", "parity3", "parity4", "iris")


@dataclass(frozen=True)
class Task:
    name: str
    features: np.ndarray          # (P, n_in) in [0, 1]
    labels: np.ndarray            # (P,) class index
    classes: tuple[str, ...]

    @property
    def n_outputs(self) -> int:
        return 1 if len(self.classes) == 2 else len(self.classes)

    def check_fits(self, bench: Bench) -> None:
        want = (self.features.shape[1], self.n_outputs)
        have = (bench.n_inputs, bench.n_outputs)
        if want != have:
            raise ConfigError(f"task {self.name} needs {want[0]} inputs and {want[1]} outputs; "
                              f"bench {bench.name} has {have[0]} and {have[1]}")

    def targets(self, bench: Bench) -> np.ndarray:
        """Target output volts (P, n_outputs): calibration.targets[1] for the true class."""
        low, high = bench.calibration.targets
        if self.n_outputs == 1:
            return np.where(self.labels[:, None] == 1, high, low).astype(float)
        onehot = np.eye(self.n_outputs, dtype=bool)[self.labels]
        return np.where(onehot, high, low).astype(float)

    def predict(self, outputs: np.ndarray, bench: Bench) -> np.ndarray:
        """Class indices from output volts (..., P, n_outputs)."""
        if self.n_outputs == 1:
            return (outputs[..., 0] > sum(bench.calibration.targets) / 2).astype(np.int64)
        return outputs.argmax(axis=-1)


def parity(n: int) -> Task:
    bits = np.array(list(itertools.product((0, 1), repeat=n)), dtype=float)
    return Task(f"parity{n}" if n > 2 else "xor", bits, bits.sum(axis=1).astype(np.int64) % 2,
                ("even", "odd"))


def load_task(spec: str) -> Task:
    """A built-in task by name, or a CSV file (last column the label); the sequence tasks of
    recurrent benches (wphil.learning.sequences) by name too."""
    if spec in SEQUENCE_TASKS:
        return load_sequence_task(spec)
    if spec == "xor":
        return parity(2)
    if spec in ("parity3", "parity4"):
        return parity(int(spec[-1]))
    if spec == "iris":
        text = (resources.files("wphil.learning") / "data" / "iris.csv").read_text()
        return task_from_csv_text(text, "iris", "iris.csv")
    path = Path(spec)
    if path.suffix.lower() == ".csv" or path.exists():
        if not path.is_file():
            raise ConfigError(f"task file not found: {spec}")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{spec}: not a text CSV file (not UTF-8)") from None
        except OSError as exc:
            raise ConfigError(f"{spec}: cannot read it: {exc.strerror}") from None
        return task_from_csv_text(text, path.stem, str(path))
    raise ConfigError(f"unknown task {spec!r}; valid: {', '.join(BUILTIN + SEQUENCE_TASKS)}, "
                      "or a .csv file")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_finite(text: str) -> bool:
    return _is_number(text) and math.isfinite(float(text))


def task_from_csv_text(text: str, name: str, source: str) -> Task:
    """Parse CSV rows (an optional header, then features..., label), min-max scale features."""
    try:
        rows = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
    except csv.Error as exc:
        raise ConfigError(f"{source}: not a CSV file ({exc})") from None
    if rows and not all(_is_number(c) for c in rows[0][:-1]):
        rows = rows[1:]
    if len(rows) < 2:
        raise ConfigError(f"{source}: needs at least two data rows")
    width = len(rows[0])
    if width < 2:
        delimiter = next((d for d in ";\t|" if d in text), None)
        hint = (f" (its fields look separated by {delimiter!r}; wphil reads comma-separated "
                "values)" if delimiter else "")
        raise ConfigError(f"{source}: needs at least one feature column and a label column, "
                          f"separated by commas{hint}")
    features = np.empty((len(rows), width - 1))
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ConfigError(f"{source}: row {i + 1} has {len(row)} columns, expected {width}")
        for j, cell in enumerate(row[:-1]):
            if not _is_finite(cell):
                what = "not a finite number" if _is_number(cell) else "not a number"
                raise ConfigError(f"{source}: row {i + 1} column {j + 1}: {cell!r} is {what}")
            features[i, j] = float(cell)
    labels_text = [row[-1].strip() for row in rows]
    classes = tuple(sorted(set(labels_text)))
    if len(classes) < 2:
        raise ConfigError(f"{source}: the label column has only one class")
    low, span = features.min(axis=0), np.ptp(features, axis=0)
    scaled = np.where(span > 0, (features - low) / np.where(span > 0, span, 1), 0.5)
    labels = np.array([classes.index(t) for t in labels_text], dtype=np.int64)
    return Task(name, scaled, labels, classes)
