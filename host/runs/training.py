"""`wphil.train`: a training run for scripts and notebooks, the same run `wphil train` makes.

    >>> run = wphil.train(device="mock://", bench="xor-2-2-1", algo="wp", out="runs/xor")
    >>> for record in run:              # EpochRecords, as each epoch finishes
    ...     print(record.epoch, record.loss, record.accuracy)
    >>> run.summary["converged"]

The run directory is written exactly as the CLI writes it (config, metrics, checkpoint,
summary, weights, log), so `wphil plot`, `wphil eval` and `--resume` work on it.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wphil.drivers.bench import Bench
from wphil.learning import EpochRecord
from wphil.runs.reader import Run
from wphil.runs.rundir import RunDir
from wphil.runs.session import default_out, new_spec, open_run_device, records

log = logging.getLogger(__name__)


class Training:
    """A run in progress: iterate it for its `EpochRecord`s; `summary` is set when it ends.

    The device is already open and the run directory holds the run's lock. Breaking out of
    the loop (or `close()`) stops the run the way Ctrl-C does: the last complete epoch is
    saved and the run directory can be continued with `wphil train --resume`.
    """

    def __init__(self, session: Iterator[EpochRecord], path: Path,
                 resources: tuple[Any, ...] = ()) -> None:
        self._session = session
        # closed by close(), or when the Training is dropped: also a session never started
        # (its device open, its run directory locked)
        self._closer = weakref.finalize(self, _close, session, resources)
        self.path = path
        self.summary: dict[str, Any] | None = None
        self.records: list[EpochRecord] = []

    def __iter__(self) -> Training:
        return self

    def __next__(self) -> EpochRecord:
        try:
            record = next(self._session)
        except StopIteration as done:
            self.summary = done.value
            raise StopIteration from None
        self.records.append(record)
        return record

    def wait(self) -> dict[str, Any]:
        """Train to the end without looking at the records; return the summary."""
        for _ in self:
            pass
        if self.summary is None:
            raise RuntimeError(f"{self.path}: the run was stopped before it finished")
        return self.summary

    def close(self) -> None:
        """Stop early, saving the last complete epoch (as an interrupt does)."""
        self._closer()

    def __enter__(self) -> Training:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def run(self) -> Run:
        """The run directory, for reading (`Run`)."""
        return Run(self.path)


def _close(session: Iterator[EpochRecord], resources: tuple[Any, ...]) -> None:
    try:
        session.close()   # type: ignore[attr-defined]
    finally:
        for resource in resources:
            resource.close()


def train(device: str = "mock://", bench: str | Bench | None = None, task: str | None = None,
          algo: str | None = None, *, profile: str | None = None, out: str | Path | None = None,
          overwrite: bool = False, rule_options: dict[str, Any] | None = None,
          **settings: Any) -> Training:
    """Start a training run; iterate the result for its records.

    `device` is a device URL (`mock://`, `upy://`, `/dev/ttyACM0`, ...), `bench` a built-in
    bench name, a bench file or a loaded `Bench` (default: xor-2-2-1), `task` a task name or
    CSV file (default: the bench's), `algo` a learning rule (default: the bench's).
    `settings` are the training settings (`wphil.runs.SETTINGS`, one schema with the options
    of `wphil train`, the bench's [defaults] and docs/reference/training-settings.md: lr,
    pert, momentum, optimizer, batch_size, epochs, max_queries, ...), checked against the
    same ranges; the bench's [defaults] fill the rest. `out` is the run directory (default:
    runs/DATE-TIME-TASK-ALGO); an existing run directory there is refused unless
    `overwrite=True`, which replaces it (so a script can be run again).
    Everything is checked and the device opened before anything is written: a bad value is
    a `ConfigError`, a device that cannot be opened a `DeviceError`, and neither leaves a
    run directory behind (nor, with `overwrite=True`, changes the one there).
    """
    spec = new_spec(device, bench, profile, task, rule_options, algo=algo, **settings)
    path = Path(out) if out is not None else default_out(spec.task, spec.config.algo)
    if not overwrite:
        RunDir.check_new(path, option="out=",
                         taken="pass overwrite=True to replace it, or another out=")
    dev = open_run_device(spec)
    try:
        if overwrite:
            RunDir.clear(path)       # only now: a device that cannot be opened changes nothing
        rundir = RunDir.create(path, spec.to_config())
    except BaseException:
        dev.close()
        raise
    log.info("training %s with %s on %s -> %s", spec.task, spec.config.algo, device, path)
    return Training(records(spec, rundir, device=dev), path, (dev, rundir))
