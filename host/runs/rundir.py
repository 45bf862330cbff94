"""Run directories: what `wphil train` leaves behind, written so nothing is ever lost.

    config.toml     everything resolved: [run] settings + the full bench tables
    metrics.csv     header, then one row per epoch, flushed as written
    checkpoint.npz  the state to resume from, replaced atomically
    summary.json    the outcome (also written when a run stops on an error)
    weights.npz     final float weights and DAC codes
    train.log       the debug log of every session on this directory
    .wphil.lock     held by the one process writing the directory
    trajectory.npz  sequence tasks only: target and measured outputs per step
    twin.json       rule twin only: the fitted model, its uncertainties and residual

One writer at a time: a session holds an OS file lock (`filelock`, flock on POSIX, msvcrt
on Windows: released by the OS when the process dies, so a kill -9 leaves no stale lock)
from creation or reopening to `close`; a second `--out` or `--resume` on the same
directory is refused before it writes anything.

Crash safety: a metrics row is written before the checkpoint that covers it. On resume,
rows after the checkpoint's epoch (and a torn last line) are dropped and recomputed, so
the file ends with every epoch exactly once.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import shutil
import tomllib
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from filelock import FileLock, Timeout

from wphil.drivers.errors import ConfigError
from wphil.learning import EpochRecord, TrainState
from wphil.runs.metrics_file import trimmed_metrics

log = logging.getLogger(__name__)

CONFIG, METRICS, CHECKPOINT = "config.toml", "metrics.csv", "checkpoint.npz"
SUMMARY, WEIGHTS, LOG = "summary.json", "weights.npz", "train.log"
LOCK = ".wphil.lock"
#: every file a run (and `wphil plot`) writes into its directory
RUN_FILES = (CONFIG, METRICS, CHECKPOINT, SUMMARY, WEIGHTS, LOG, "trajectory.npz", "twin.json",
             "learning_curve.png", "trajectory.png")
#: what np.load raises for a file that is not a readable .npz (truncated, garbage, pickled)
_NPZ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile)


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
    """One run directory. `create` starts a new one; `reopen` continues an existing one
    (`lock=True` to write to it: a session), or reads it (the default)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._metrics: io.TextIOWrapper | None = None
        self._lock: FileLock | None = None
        self._created: Path | None = None   # the top folder `create` made, for `discard`
        self.new = False         # made by `create` in this process (not reopened)
        self.dropped_rows = 0    # set when reopened for --resume

    @staticmethod
    def check_new(path: Path, option: str = "--out", taken: str | None = None) -> None:
        """Refuse, before anything is opened or written, a path that cannot become a new run
        directory: not empty, a file, under a file, or not writable.

        `option` names where the path came from (`--out`, or `out=` in the Python API);
        `taken` says what to do about a run directory already there (default: the CLI's)."""
        path = Path(path)
        if path.is_dir() and any(p.name != LOCK for p in path.iterdir()):
            hint = taken or f"continue it with --resume {path} or choose another --out"
            raise ConfigError(f"run directory {path} already exists and is not empty; {hint}")
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{option} {path}: is a file, not a directory")
        parent = path
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise ConfigError(f"{option} {path}: {parent} is a file, not a directory")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ConfigError(f"{option} {path}: cannot create it: {parent} is not writable")

    @classmethod
    def clear(cls, path: Path) -> None:
        """Empty an existing run directory of the files a run writes, so a new run can take
        its place (the Python API's `overwrite=True`). Refused for a folder that is not a
        run directory, one another process is running in, or one holding other files."""
        path = Path(path)
        if not path.is_dir() or not any(p.name != LOCK for p in path.iterdir()):
            return
        if not (path / CONFIG).is_file():
            raise ConfigError(f"out={str(path)!r}: not a run directory (no {CONFIG}); "
                              "wphil replaces only run directories: choose another out=")
        run = cls(path)
        run._acquire()
        try:
            left = [p.name for p in path.iterdir() if p.name not in (*RUN_FILES, LOCK)]
            if left:
                raise ConfigError(f"out={str(path)!r}: the run directory also holds "
                                  f"{', '.join(sorted(left))}; move them or choose another out=")
            for name in RUN_FILES:
                (path / name).unlink(missing_ok=True)
        finally:
            run.close()

    @classmethod
    def create(cls, path: Path, config: dict[str, Any]) -> RunDir:
        path = Path(path)
        cls.check_new(path)
        top = next((p for p in [*reversed(path.parents), path] if not p.exists()), None)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--out {path}: cannot create it: {exc.strerror}") from None
        run = cls(path)
        run._created, run.new = top, True
        run._acquire()
        try:
            cls.check_new(path)     # again, under the lock: another process may have won
            atomic_write(path / CONFIG, tomli_w.dumps(config).encode())
            atomic_write(path / METRICS, (",".join(EpochRecord.COLUMNS) + "\n").encode())
        except BaseException:
            run.close()
            raise
        return run

    @classmethod
    def reopen(cls, path: Path, lock: bool = False) -> RunDir:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"{path} does not exist")
        if not (path / CONFIG).is_file():
            raise ConfigError(f"{path} is not a run directory (no {CONFIG})")
        run = cls(path)
        if lock:
            run._acquire()
        return run

    def _acquire(self) -> None:
        lock = FileLock(self.path / LOCK, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise ConfigError(f"run directory {self.path} is in use by another wphil process; "
                              "wait for it to finish (or stop it) and try again") from None
        except OSError as exc:
            raise ConfigError(f"run directory {self.path}: cannot lock it: {exc}") from None
        self._lock = lock

    def discard(self) -> None:
        """Remove what `create` made (a start that failed before its first epoch)."""
        for name in (CONFIG, METRICS, CHECKPOINT, SUMMARY, WEIGHTS, LOG):
            (self.path / name).unlink(missing_ok=True)
        self.close()
        (self.path / LOCK).unlink(missing_ok=True)
        if self._created is not None:
            shutil.rmtree(self._created, ignore_errors=True)

    def config(self) -> dict[str, Any]:
        try:
            return tomllib.loads((self.path / CONFIG).read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ConfigError(f"{self.path / CONFIG}: not valid TOML (not UTF-8 text)") from None
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
        """Keep the header and rows 1..last_epoch; return the rows dropped after them.

        Rows after the checkpoint and a torn last line (a kill mid-write) are expected and
        dropped. Anything else (another header, a row that is not numbers, a missing or
        repeated epoch) means the file was damaged: a `ConfigError`, and nothing is changed.
        """
        header, keep, dropped = trimmed_metrics(self.path / METRICS, last_epoch)
        if dropped:
            atomic_write(self.path / METRICS, ("\n".join([header, *keep]) + "\n").encode())
        return dropped

    def check_metrics(self, last_epoch: int) -> int:
        """What `truncate_metrics` would drop, without changing anything (a ConfigError if
        the file is damaged)."""
        return trimmed_metrics(self.path / METRICS, last_epoch)[2]

    # -- state ----------------------------------------------------------------------------
    def save_checkpoint(self, state: TrainState) -> None:
        buf = io.BytesIO()
        device_rng = {} if state.device_rng is None else {
            "device_rng": np.array(json.dumps(state.device_rng))}
        np.savez(buf, weights=state.weights, rng_state=np.array(json.dumps(state.rng_state)),
                 **device_rng,
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
        try:
            with np.load(path, allow_pickle=False) as z:
                epoch, queries = (int(v) for v in z["counters"])
                elapsed, loss, accuracy = (float(v) for v in z["floats"])
                optimizer = {k[len("optimizer_"):]: z[k] for k in z.files
                             if k.startswith("optimizer_")}
                rule = {k[len("rule_"):]: z[k] for k in z.files if k.startswith("rule_")}
                device_rng = json.loads(str(z["device_rng"])) if "device_rng" in z.files else None
                state = TrainState(weights=z["weights"], rng_state=json.loads(str(z["rng_state"])),
                                   optimizer=optimizer, rule=rule, epoch=epoch, queries=queries,
                                   elapsed_s=elapsed, loss=loss, accuracy=accuracy)
        except (*_NPZ_ERRORS, TypeError) as exc:
            raise ConfigError(f"{path}: not a readable checkpoint ({_reason(exc)}); the run "
                              "cannot be continued from it") from None
        if epoch < 0 or queries < 0 or state.weights.ndim != 1:
            raise ConfigError(f"{path}: not a readable checkpoint (epoch {epoch}, queries "
                              f"{queries}, weights shaped {state.weights.shape})")
        state.device_rng = device_rng
        return state

    def write_summary(self, summary: dict[str, Any]) -> None:
        """summary.json as strict JSON: a NaN or infinity (no loss measured yet) is null."""
        text = json.dumps(_finite(summary), indent=2, allow_nan=False)
        atomic_write(self.path / SUMMARY, (text + "\n").encode())

    def summary(self) -> dict[str, Any] | None:
        path = self.path / SUMMARY
        if not path.exists():
            return None
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path}: not readable JSON ({exc})") from None
        if not isinstance(summary, dict):
            raise ConfigError(f"{path}: not a run summary (a JSON object)")
        return summary

    def write_weights(self, weights: np.ndarray, codes: np.ndarray,
                      layers: Sequence[int]) -> None:
        buf = io.BytesIO()
        np.savez(buf, weights=weights, codes=codes, layers=np.array(layers))
        atomic_write(self.path / WEIGHTS, buf.getvalue())

    def load_weights(self) -> tuple[np.ndarray, np.ndarray]:
        path = self.path / WEIGHTS
        if not path.exists():
            raise ConfigError(f"{self.path} has no {WEIGHTS} (the run did not finish)")
        try:
            with np.load(path, allow_pickle=False) as z:
                weights, codes = z["weights"], z["codes"]
        except _NPZ_ERRORS as exc:
            raise ConfigError(f"{path}: not a readable weights file ({_reason(exc)})") from None
        if weights.ndim != 1 or codes.shape != weights.shape or codes.dtype.kind not in "iu":
            raise ConfigError(f"{path}: weights {weights.shape} and integer codes of the same "
                              f"shape expected, got codes {codes.dtype} {codes.shape}")
        return weights, codes

    def close(self) -> None:
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _finite(value: Any) -> Any:
    """`value` with every NaN or infinite float (nested in dicts and lists) as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r} array"
    if "pickle" in str(exc) or isinstance(exc, zipfile.BadZipFile):
        return "not a NumPy .npz archive"
    text = str(exc).split(". ")[0]
    return text if len(text) < 80 else type(exc).__name__
