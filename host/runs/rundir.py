"""Run directories: what `wphil train` leaves behind, written so nothing is ever lost.

    config.toml     everything resolved: [run] settings + the full bench tables
    metrics.csv     header, then one row per epoch, flushed as written
    checkpoint.npz  the state to resume from, replaced atomically
    summary.json    the outcome (also written when a run stops on an error)
    weights.npz     final float weights and DAC codes
    train.log       the debug log of every session on this directory

Crash safety: a metrics row is written before the checkpoint that covers it. On resume,
rows after the checkpoint's epoch (and a torn last line) are dropped and recomputed, so
the file ends with every epoch exactly once.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from wphil.drivers.errors import ConfigError
from wphil.learning import EpochRecord, TrainState

log = logging.getLogger(__name__)

CONFIG, METRICS, CHECKPOINT = "config.toml", "metrics.csv", "checkpoint.npz"
SUMMARY, WEIGHTS, LOG = "summary.json", "weights.npz", "train.log"


def atomic_write(path: Path, data: bytes) -> None:
    """Write a file so a reader (or a crash) sees the old or the new content, never half."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class RunDir:
    """One run directory. `create` starts a new one; `reopen` continues an existing one."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._metrics: io.TextIOWrapper | None = None
        self.dropped_rows = 0    # set when reopened for --resume

    @classmethod
    def create(cls, path: Path, config: dict[str, Any]) -> RunDir:
        path = Path(path)
        if path.exists() and any(path.iterdir()):
            raise ConfigError(f"run directory {path} already exists and is not empty; "
                              f"continue it with --resume {path} or choose another --out")
        path.mkdir(parents=True, exist_ok=True)
        run = cls(path)
        atomic_write(path / CONFIG, tomli_w.dumps(config).encode())
        atomic_write(path / METRICS, (",".join(EpochRecord.COLUMNS) + "\n").encode())
        return run

    @classmethod
    def reopen(cls, path: Path) -> RunDir:
        path = Path(path)
        if not (path / CONFIG).is_file():
            raise ConfigError(f"{path} is not a run directory (no {CONFIG})")
        return cls(path)

    def config(self) -> dict[str, Any]:
        try:
            return tomllib.loads((self.path / CONFIG).read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{self.path / CONFIG}: not valid TOML: {exc}") from None

    # -- metrics --------------------------------------------------------------------------
    def append(self, record: EpochRecord) -> None:
        """Write one metrics row and flush it to the OS (survives a kill -9 of this process)."""
        if self._metrics is None:
            self._metrics = open(self.path / METRICS, "a", encoding="utf-8", newline="")
        values = [getattr(record, c) for c in EpochRecord.COLUMNS]
        self._metrics.write(",".join(_fmt(v) for v in values) + "\n")
        self._metrics.flush()

    def metrics(self) -> list[dict[str, str]]:
        with open(self.path / METRICS, encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))

    def truncate_metrics(self, last_epoch: int) -> int:
        """Keep the header and complete rows with epoch <= last_epoch; return rows dropped."""
        text = (self.path / METRICS).read_text(encoding="utf-8")
        lines = text.split("\n")
        header, body = lines[0], lines[1:-1]   # the part after the last newline is torn
        ncols = len(EpochRecord.COLUMNS)
        keep = [line for line in body
                if len(line.split(",")) == ncols and int(line.split(",")[0]) <= last_epoch]
        dropped = len(body) - len(keep) + (1 if lines[-1] else 0)
        atomic_write(self.path / METRICS, ("\n".join([header, *keep]) + "\n").encode())
        return dropped

    # -- state ----------------------------------------------------------------------------
    def save_checkpoint(self, state: TrainState) -> None:
        buf = io.BytesIO()
        np.savez(buf, weights=state.weights, rng_state=np.array(json.dumps(state.rng_state)),
                 counters=np.array([state.epoch, state.queries], dtype=np.int64),
                 floats=np.array([state.elapsed_s, state.loss, state.accuracy]),
                 **{f"optimizer_{k}": v for k, v in state.optimizer.items()},
                 **{f"rule_{k}": v for k, v in state.rule.items()})
        atomic_write(self.path / CHECKPOINT, buf.getvalue())
        log.debug("checkpoint at epoch %d", state.epoch)

    def load_checkpoint(self) -> TrainState | None:
        path = self.path / CHECKPOINT
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as z:
            epoch, queries = (int(v) for v in z["counters"])
            elapsed, loss, accuracy = (float(v) for v in z["floats"])
            optimizer = {k[len("optimizer_"):]: z[k] for k in z.files if k.startswith("optimizer_")}
            rule = {k[len("rule_"):]: z[k] for k in z.files if k.startswith("rule_")}
            return TrainState(weights=z["weights"], rng_state=json.loads(str(z["rng_state"])),
                              optimizer=optimizer, rule=rule, epoch=epoch, queries=queries,
                              elapsed_s=elapsed, loss=loss, accuracy=accuracy)

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write(self.path / SUMMARY, (json.dumps(summary, indent=2) + "\n").encode())

    def summary(self) -> dict[str, Any] | None:
        path = self.path / SUMMARY
        return json.loads(path.read_text()) if path.exists() else None

    def write_weights(self, weights: np.ndarray, codes: np.ndarray,
                      layers: Sequence[int]) -> None:
        buf = io.BytesIO()
        np.savez(buf, weights=weights, codes=codes, layers=np.array(layers))
        atomic_write(self.path / WEIGHTS, buf.getvalue())

    def load_weights(self) -> tuple[np.ndarray, np.ndarray]:
        path = self.path / WEIGHTS
        if not path.exists():
            raise ConfigError(f"{self.path} has no {WEIGHTS} (the run did not finish)")
        with np.load(path, allow_pickle=False) as z:
            return z["weights"], z["codes"]

    def close(self) -> None:
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
