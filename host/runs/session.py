"""A training session: a run directory, a device and a trainer, wired so nothing is lost.

`RunSpec` is everything `wphil train` resolved (device, bench tables, task, settings);
it round-trips through config.toml so `--resume` needs nothing but the directory.
`execute` trains, writes each epoch's row, checkpoints, and on any error or interrupt
saves the last complete epoch's state and a summary before re-raising.
"""

from __future__ import annotations

import copy
import json
import logging
import time
import weakref
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from wphil import __version__
from wphil.drivers import DEFAULT_BENCH, Device, check_url, load_bench, open_device
from wphil.drivers.bench import Bench, bench_from_dict
from wphil.drivers.errors import ConfigError
from wphil.drivers.training_settings import option_name
from wphil.learning import (
    EpochRecord,
    TrainConfig,
    TrainState,
    check_rule,
    load_task,
    make_trainer,
    train_onchip,
)
from wphil.runs.rundir import LOG, RunDir
from wphil.runs.settings import RESUMABLE, UNLIMITED_EPOCHS, check_pert, check_settings

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 1.0
TRAJECTORY = "trajectory.npz"      # sequence tasks: target and measured outputs per step


@dataclass(frozen=True)
class RunSpec:
    device: str
    bench: Bench
    task: str
    config: TrainConfig

    def to_config(self) -> dict[str, Any]:
        run = {"device": self.device, "task": self.task, "bench_name": self.bench.name,
               "bench_source": self.bench.source, "profile": self.bench.profile,
               "wphil_version": __version__, **self.config.to_dict()}
        return {"run": run, **self.bench.to_dict()}

    @classmethod
    def from_config(cls, data: dict[str, Any], source: str) -> RunSpec:
        data = dict(data)
        run = dict(data.pop("run", {}))
        try:
            device, task = run.pop("device"), run.pop("task")
            profile = run.pop("profile", "default")
            for k in ("bench_name", "bench_source", "wphil_version"):
                run.pop(k, None)
            config = TrainConfig(**run)
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"{source}: [run] is incomplete or has unknown keys ({exc})") from None
        return cls(device, bench_from_dict(data, source, profile), task, config)


def new_spec(device: str, bench: str | Bench | None = None, profile: str | None = None,
             task: str | None = None, rule_options: dict[str, Any] | None = None,
             **settings: Any) -> RunSpec:
    """Resolve and check a new run without opening anything: the URL, the bench (a name, a
    file or a loaded `Bench`), the task against the bench, the rule and its options. Settings
    left None come from the bench's [defaults]; a bad value is a `ConfigError`."""
    check_settings(settings)
    onchip = bool(settings.get("onchip"))
    check_url(device, onchip=onchip)
    if not isinstance(bench, Bench):
        bench = load_bench(bench or DEFAULT_BENCH, profile or "default")
    check_url(device, onchip=onchip, bench=bench)
    task = task or bench.bench.task
    load_task(task).check_fits(bench)
    config = _config(bench, settings, rule_options)
    rule = check_rule(config.algo, config.rule_options)
    rule.check_bench(bench)
    # every option of the rule, typed and resolved, so config.toml records them all
    config = replace(config, rule_options=rule.resolve_options(config.rule_options))
    return RunSpec(device, bench, task, config)


def _config(bench: Bench, settings: dict[str, Any], rule_options: dict[str, Any] | None
            ) -> TrainConfig:
    """The settings over the bench's [defaults], with what the bench and --onchip allow."""
    onchip = bool(settings.get("onchip"))
    if onchip and settings.get("batch_size") not in (None, 1):
        raise ConfigError(f"--batch-size {settings['batch_size']}: --onchip runs the firmware's "
                          "per-pattern loop (batch size 1); other batch sizes run on the host")
    if settings.get("max_queries") and settings.get("epochs") is None:
        settings = {**settings, "epochs": UNLIMITED_EPOCHS}
    config = TrainConfig.for_bench(bench, **settings, rule_options=rule_options)
    if onchip and bench.is_recurrent:
        raise ConfigError(f"--onchip: the firmware's own loop trains feed-forward benches; "
                          f"bench {bench.name} is recurrent (train it from the host)")
    if onchip and config.algo != "wp":
        raise ConfigError(f"--onchip runs the firmware's own loop, which is wp; --algo "
                          f"{config.algo} runs on the host only")
    check_pert(config.pert, bench)
    return replace(config, batch_size=1) if onchip else config


def default_out(task: str, algo: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{stamp}-{Path(task).stem}-{algo}"


def _attach_log(rundir: RunDir) -> logging.Handler:
    handler = logging.FileHandler(rundir.path / LOG, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.WARNING, logging.DEBUG))
    return handler


def _summary(spec: RunSpec, state: TrainState, stop_reason: str, firmware: str,
             device_stats: dict[str, Any] | None = None,
             identity: dict[str, Any] | None = None) -> dict[str, Any]:
    budget = spec.config.max_queries
    return {
        # which physical bench ran it: the board's machine.unique_id(), its labgrid place
        "bench_identity": identity or {},
        "task": spec.task, "algo": spec.config.algo, "device": spec.device,
        "firmware": firmware, "bench": spec.bench.name, "profile": spec.bench.profile,
        "seed": spec.config.seed, "epochs": state.epoch, "queries": state.queries,
        "loss": state.loss, "accuracy": state.accuracy,
        "converged": stop_reason == "converged", "stop_reason": stop_reason,
        # a step and the epoch's evaluation are never cut short: past the budget, say by how much
        "max_queries": budget or None,
        "queries_over_budget": max(state.queries - budget, 0) if budget else 0,
        "wall_s": round(state.elapsed_s, 3),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "device_stats": device_stats or {},
    }


def bench_identity(details: dict[str, Any]) -> dict[str, Any]:
    """What names the bench a run ran on: the board's unique id (a Pico's flash unique ID,
    from HELLO), and for labgrid:// the place, its exporter and who held it."""
    keys = ("unique_id", "place", "exporter", "holder", "coordinator", "port")
    return {k: details[k] for k in keys if details.get(k) is not None}


class _HeldLog(logging.Handler):
    """Log records kept while the device opens, for the run's train.log (not yet there)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.held: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.held.append(record)


#: what each device logged while it was opened, replayed into its run's train.log
_OPENING_LOGS: weakref.WeakKeyDictionary[Device, list[logging.LogRecord]] = \
    weakref.WeakKeyDictionary()


def open_run_device(spec: RunSpec, wire_log: str | None = None) -> Device:
    """Open the run's device: before its run directory is created or changed, so a device
    that cannot be opened (a mistyped port, a refused socket) leaves nothing behind. What
    the opening logged (handshake, board process) goes to train.log when the session starts."""
    root, held = logging.getLogger(), _HeldLog()
    level = root.level
    root.addHandler(held)
    root.setLevel(min(level or logging.WARNING, logging.DEBUG))
    try:
        device = open_device(spec.device, spec.bench, wire_log)
    finally:
        root.removeHandler(held)
        root.setLevel(level)
    _OPENING_LOGS[device] = held.held
    return device


def _device_rng(device: Device, spec: RunSpec) -> dict[str, Any] | None:
    state = device.rng_state()
    return None if state is None else {"url": spec.device, "state": state}


def _restore_device_rng(device: Device, spec: RunSpec, state: TrainState | None) -> None:
    """Continue the device's noise where the checkpoint left it (same device URL only)."""
    saved = state.device_rng if state is not None else None
    if not saved:
        return
    if saved.get("url") != spec.device:
        log.info("resumed on %s, not %s: the device's noise starts afresh", spec.device,
                 saved.get("url"))
        return
    device.restore_rng_state(saved["state"])


def records(spec: RunSpec, rundir: RunDir, state: TrainState | None = None,
            wire_log: str | None = None, device: Device | None = None
            ) -> Generator[EpochRecord, None, dict[str, Any]]:
    """Train to a stop condition, keeping rundir complete; yield each epoch's record as it is
    written and return the summary.

    `device` is the open device (see `open_run_device`; opened here if None) and is closed
    at the end. A new run directory whose session fails on bad input before its first
    epoch is removed (there is nothing in it to resume). Closing the generator early stops
    the run as an interrupt does: the last complete epoch is checkpointed and the summary
    says "stopped by the caller". On-chip runs yield their records when the board finishes
    (the device call blocks until then); they are written to the run directory as they arrive.
    """
    handler = _attach_log(rundir)
    for held in _OPENING_LOGS.pop(device, []) if device is not None else []:
        handler.handle(held)
    task = load_task(spec.task)
    last: TrainState | None = copy.deepcopy(state)
    firmware = "?"
    identity: dict[str, Any] = {}
    written = 0
    discard = False
    log.info("session on %s: task %s, bench %s, algo %s, device %s, from epoch %d", rundir.path,
             spec.task, spec.bench.name, spec.config.algo, spec.device, state.epoch if state else 0)
    try:
        if not rundir.new:
            rundir.dropped_rows = rundir.truncate_metrics(state.epoch if state else 0)
            if rundir.dropped_rows:
                log.info("resumed: %d metric rows written after the last checkpoint were "
                         "dropped and will be recomputed", rundir.dropped_rows)
        with device or open_device(spec.device, spec.bench, wire_log) as device:
            firmware = device.info().firmware
            identity.update(bench_identity(device.info().details))
            _restore_device_rng(device, spec, state)
            trainer = make_trainer(device, spec.bench, task, spec.config, state)
            last = copy.deepcopy(trainer.state)
            saved_at = time.monotonic()

            def save(record: EpochRecord, current: TrainState) -> None:
                nonlocal last, saved_at, written
                rundir.append(record)
                written += 1
                current.device_rng = _device_rng(device, spec)
                last = copy.deepcopy(current)
                if time.monotonic() - saved_at >= CHECKPOINT_EVERY_S:
                    rundir.save_checkpoint(last)
                    saved_at = time.monotonic()

            if spec.config.onchip:
                arrived: list[EpochRecord] = []
                stop_reason = train_onchip(device, spec.bench, task, spec.config, trainer.state,
                                           lambda r, s: (save(r, s), arrived.append(r)))
                yield from arrived
            else:
                for record in trainer.run():
                    save(record, trainer.state)
                    yield record
                stop_reason = trainer.stop_reason or "?"
            trainer.state.device_rng = _device_rng(device, spec)
            rundir.save_checkpoint(trainer.state)
            rundir.write_weights(trainer.state.weights, trainer.codes(), spec.bench.topology.layers)
            _write_trajectory(rundir, trainer)
            summary = {**_summary(spec, trainer.state, stop_reason, firmware, device.stats(),
                                  identity),
                       **trainer.summary_fields()}
            rundir.write_summary(summary)
            for name, data in trainer.extra_files().items():     # e.g. the twin's fit
                (rundir.path / name).write_text(json.dumps(data, indent=1), encoding="utf-8")
            return summary
    except BaseException as exc:
        discard = rundir.new and written == 0 and isinstance(exc, ConfigError)
        if last is not None and not discard:
            rundir.save_checkpoint(last)
            reason = ("interrupted" if isinstance(exc, KeyboardInterrupt)
                      else "stopped by the caller" if isinstance(exc, GeneratorExit)
                      else f"error: {exc}")
            rundir.write_summary(_summary(spec, last, reason, firmware, identity=identity))
        log.info("session stopped by %s: %s", type(exc).__name__, exc)
        log.debug("traceback of the stop", exc_info=True)
        raise
    finally:
        rundir.close()
        logging.getLogger().removeHandler(handler)
        handler.close()
        if discard:
            rundir.discard()


def _write_trajectory(rundir: RunDir, trainer: Any) -> None:
    """Sequence tasks: the target and the last measured outputs, for `wphil plot`."""
    evaluation, objective = trainer.last_evaluation, trainer.objective
    if evaluation is not None and hasattr(objective, "scored"):
        np.savez(rundir.path / TRAJECTORY, target=objective.targets, measured=evaluation.outputs,
                 scored=objective.scored, step_us=objective.bench.recurrent.step_us)


def execute(spec: RunSpec, rundir: RunDir, state: TrainState | None = None,
            on_record: Callable[[EpochRecord], None] | None = None,
            wire_log: str | None = None, device: Device | None = None) -> dict[str, Any]:
    """Train to a stop condition, keeping rundir complete; return the summary."""
    session = records(spec, rundir, state, wire_log, device)
    while True:
        try:
            record = next(session)
        except StopIteration as done:
            return done.value
        if on_record:
            try:
                on_record(record)
            except BaseException as exc:   # the session saves its state, then re-raises
                session.throw(exc)


def prepare_resume(path: Path, device: str | None, **overrides: Any
                   ) -> tuple[RunSpec, RunDir, TrainState | None]:
    """Reopen a run directory for writing (locked): its spec (with allowed overrides) and
    its state, every file checked. Nothing is changed: the session trims metrics.csv to
    the checkpoint when it starts."""
    fixed = sorted(set(overrides) - set(RESUMABLE))
    if fixed:
        raise ConfigError(f"{option_name(fixed[0])} cannot be changed on --resume (it is fixed "
                          "in the run's config.toml)")
    check_settings(overrides)
    if overrides.get("max_queries") and overrides.get("epochs") is None:
        overrides = {**overrides, "epochs": UNLIMITED_EPOCHS}
    rundir = RunDir.reopen(path, lock=True)
    try:
        spec = RunSpec.from_config(rundir.config(), str(path / "config.toml"))
        changes = {k: v for k, v in overrides.items() if v is not None}
        spec = replace(spec, device=device or spec.device, config=replace(spec.config, **changes))
        check_url(spec.device, onchip=spec.config.onchip, bench=spec.bench)
        state = rundir.load_checkpoint()
        if state is not None and state.weights.shape != (spec.bench.n_weights,):
            raise ConfigError(f"{path / 'checkpoint.npz'}: {state.weights.shape} weights, but "
                              f"the run's bench has {spec.bench.n_weights}")
        rundir.dropped_rows = rundir.check_metrics(state.epoch if state else 0)
        rundir.summary()                       # readable, or a ConfigError now
    except BaseException:
        rundir.close()
        raise
    return spec, rundir, state
