"""`wphil bench learn`: every learning rule and peer optimizer on the same simulated benches.

One run is (profile, task, rule, seed) on `DEVICE?seed=100+seed&board_seed=1+seed` (every
seed its own board instance, not only its own noise; DEVICE is `mock://` unless the grid
names another simulated backend, and seeds run from `--first-seed`, see `job_url`) with the
task's built-in bench: in-loop
rules and baselines through the ordinary trainer (`--seed seed`, the bench's and the rule's
defaults plus `TASK_SETTINGS`), peer optimizers through `wphil.compare.peers.DeviceLoss`
from the same initial weights. Every run stops at the task's target (the bench's [defaults]
target accuracy and loss, measured on the device) or at the task's query budget. Where the
in-loop rules step on mini-batches (iris), `cma-es-mb` is CMA-ES with the same lever; the
other peers' algorithms need whole-set losses. A run's loss curve is kept on a fixed log-
spaced grid of query counts: the loss of the last whole-set evaluation at or before each
count (for a peer, its incumbent's), held after the run stops. Queries are counted per
forward pass (the device's `queries`) and per readout channel converted (its
`channel_reads`: a rule that reads the hidden units back pays for them). Summaries and the
report: host/compare/report.py.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl

import numpy as np

from wphil.compare.peers import DeviceLoss, initial_weights
from wphil.compare.registry import PEERS, make_peer
from wphil.drivers import Device, check_url, load_bench, open_device
from wphil.drivers.errors import ConfigError, DeviceError
from wphil.drivers.urls import scheme_of
from wphil.learning import RULES, CodeMap, Objective, TrainConfig, load_task, make_trainer

log = logging.getLogger(__name__)

IN_LOOP = ("wp", "wp-central", "node", "swnp", "spsa", "mgd", "pat", "twin")
BASELINES = ("bp", "offline")
ALL_RULES = IN_LOOP + BASELINES + tuple(PEERS)
#: task -> its built-in bench
TASK_BENCH = {"xor": "xor-2-2-1", "parity4": "parity4", "iris": "iris",
              "delayed-xor": "delayed-xor", "oscillator": "oscillator-2"}
#: task -> query budget of one run (chosen so the full grid runs in tens of minutes on 2 cores).
#: parity4's was 1M; on a shared machine a peer's failed run took a minute, so it is 200k,
#: above every successful peer run measured at 1M (their upper quartiles: 28k-91k)
BUDGETS = {"xor": 100_000, "parity4": 200_000, "iris": 2_000_000,
           "delayed-xor": 300_000, "oscillator": 400_000}
#: task -> trainer settings for every trainer-driven rule (in-loop and baselines), on top of
#: the bench's and the rule's defaults. Iris steps on mini-batches of 10 patterns: 15 steps
#: per pass instead of one, ~9x fewer queries to the target for wp (34,800 against 308,850
#: median over 6 seeds); the peers have no such lever (they need whole-set losses).
TASK_SETTINGS: dict[str, dict[str, Any]] = {"iris": {"batch_size": 10}}
#: peers given the same lever (on the tasks above only): cma-es ranking each generation on a
#: mini-batch of 10 patterns
MINI_BATCH_PEERS = ("cma-es-mb",)
#: No rule or peer is tuned per task here: `wphil bench tune` (host/compare/tuning.py) tunes
#: every method under one protocol, and `bench learn --settings FILE` runs its choices (a
#: job's `settings`). Without a file every method runs its defaults. The per-task values
#: that used to live here (mgd lr 0.03 on iris, pat/twin momentum 0.8 on xor and
#: restart_after 300 on parity4) are candidates of the declared search spaces.
#: `offline` trains the ideal model with no device queries, so the query budget cannot stop
#: it: a model stuck in a local minimum (parity4) would train forever. It gets this many
#: model epochs, then transfers what it has.
OFFLINE_EPOCHS = 5_000
#: (a BPTT epoch costs 30-70 ms, every RK4 stage in Python: a recurrent task's `offline` gets
#: its bench's epoch limit instead, 1,000-1,200; BPTT reaches the oscillator's optimum in ~600)
GRID_POINTS = 60
DEFAULT_DEVICE = "mock://"


@dataclass(frozen=True)
class Job:
    profile: str
    task: str
    rule: str
    seed: int
    max_queries: int
    device: str = DEFAULT_DEVICE        # the backend, as given to --device (a farm: FARM)
    first_seed: int = 0                 # the grid's first seed (recorded; checked on resume)
    #: the method's settings as sorted JSON ("" = its defaults): trainer settings for a rule,
    #: options for a peer (from a tuned-settings file, or a candidate while tuning)
    settings: str = ""
    bench: str = ""                     # a farm: the URL of the bench the job runs on

    @property
    def overrides(self) -> dict[str, Any]:
        return json.loads(self.settings) if self.settings else {}

    @property
    def url(self) -> str:
        return bench_job_url(self.bench, self.seed) if self.bench else job_url(self.device,
                                                                               self.seed)

    @property
    def board_seed(self) -> int:
        return 1 + self.seed


#: URL options bench learn sets itself, per job
JOB_OPTIONS = ("seed", "board_seed")
#: backends that simulate a board instance per board_seed (a real board has one instance)
SIMULATED = ("mock", "upy", "spice", "rp2040")
#: Job.device of a bench farm's jobs (host/compare/farm.py): a job's result does not depend on
#: which bench ran it, so a farm's grid is resumed on any list of benches
FARM = "farm"
#: a farm job's status when its bench failed under it (it goes back to the queue)
BENCH_FAILED = "bench-failed"


def job_url(device: str, seed: int) -> str:
    """The URL of the board the job with this seed runs on: `device` (a scheme, with any
    options of its own) plus the job's read-noise seed (100 + seed) and board instance
    (1 + seed). A bench farm's jobs go through `bench_job_url` instead."""
    if scheme_of(device) not in SIMULATED or "://" not in device:
        raise ConfigError(f"--device {device}: bench learn gives every run its own simulated "
                          "board; valid: " + ", ".join(f"{s}://" for s in SIMULATED) + ", or a "
                          "comma-separated list of benches (a farm)")
    return _with_seeds(device, seed)


def bench_job_url(bench: str, seed: int) -> str:
    """A farm bench's URL for the job with this seed: a simulated scheme as `job_url`; any
    other URL (a serial port, socket://, labgrid://) gets the same seed options, which a
    simulated board behind it takes as its board instance (SIM_BOARD, drivers/sim_seeds.py)
    and a real board ignores."""
    if scheme_of(bench) == "serial" and "://" not in bench:
        bench = f"serial://{bench}"          # a port name has no room for options
    return _with_seeds(bench, seed)


def _with_seeds(device: str, seed: int) -> str:
    base, _, query = device.partition("?")
    for name, _ in parse_qsl(query, keep_blank_values=True):
        if name in JOB_OPTIONS:
            raise ConfigError(f"--device {device}: bench learn sets {name} per job (its "
                              "seed; see --first-seed): leave it out of the URL")
    return f"{base}?{query + '&' if query else ''}seed={100 + seed}&board_seed={1 + seed}"


def query_grid(max_queries: int) -> np.ndarray:
    """The log-spaced query counts at which every run's loss curve is kept."""
    return np.unique(np.geomspace(10, max_queries, GRID_POINTS).round().astype(np.int64))


def kind_of(rule: str) -> str:
    return "in-loop" if rule in IN_LOOP else "baseline" if rule in BASELINES else "peer"


def check_grid(tasks: Iterable[str], rules: Iterable[str], profiles: Iterable[str],
               device: str = DEFAULT_DEVICE, benches: Iterable[str] = (),
               command: str = "bench learn") -> None:
    """Reject unknown names, naming the valid ones, and a device URL (or a farm's bench
    URL) that cannot take a job's seeds or drive a task's bench (before any run starts).
    `command` names the CLI command in the messages."""
    from wphil.drivers.profiles import PROFILES

    for what, given, valid in (("task", tasks, TASK_BENCH), ("rule", rules, ALL_RULES),
                               ("profile", profiles, PROFILES)):
        for name in given:
            if name not in valid:
                raise ConfigError(f"unknown {what} {name!r} for {command}; valid: "
                                  + ", ".join(valid))
    for rule in rules:
        if rule in PEERS:
            make_peer(rule)          # a missing optional package is reported now
    urls = [bench_job_url(b, 0) for b in benches] or [job_url(device, 0)]
    for url, given in zip(urls, list(benches) or [device]):
        for task in tasks:
            for profile in profiles:
                try:
                    check_url(url, bench=load_bench(TASK_BENCH[task], profile))
                except ConfigError as exc:
                    raise ConfigError(f"--device {given}: {exc}") from None


def settings_json(settings: dict[str, Any] | None) -> str:
    """A method's settings as the job's key: sorted JSON, "" for none."""
    return json.dumps(settings, sort_keys=True) if settings else ""


def make_jobs(tasks: Iterable[str], rules: Iterable[str], seeds: int, profiles: Iterable[str],
              budgets: dict[str, int], device: str = DEFAULT_DEVICE,
              first_seed: int = 0,
              settings: dict[str, dict[str, dict[str, Any]]] | None = None) -> list[Job]:
    """Every profile x task x rule x seed, seeds first_seed .. first_seed + seeds - 1;
    `settings[task][rule]`, where given, is the method's (tuned) settings."""
    settings = settings or {}
    return [Job(p, t, r, s, budgets[t], device, first_seed,
                settings_json(settings.get(t, {}).get(r)))
            for p in profiles for t in tasks for r in rules
            for s in range(first_seed, first_seed + seeds)]


def _curve(points: list[tuple[int, float]], grid: np.ndarray) -> list[float | None]:
    """Loss at each grid count: the last point at or before it (None before the first)."""
    queries = np.array([q for q, _ in points])
    losses = np.array([loss for _, loss in points])
    index = np.searchsorted(queries, grid, side="right") - 1
    return [None if i < 0 else round(float(losses[i]), 6) for i in index]


#: opens a job's device: (URL, bench) -> Device, as `open_device`
Opener = Callable[[str, Any], Device]


class BenchUnreachable(DeviceError):
    """A farm bench could not be opened for a job: the job never ran there."""


def _open(job: Job, bench, opener: Opener | None):  # noqa: ANN202 - a context manager
    """The job's device; on a farm, failing to open it is the bench's failure alone."""
    try:
        return (opener or open_device)(job.url, bench)
    except DeviceError as exc:
        if not job.bench:
            raise
        raise BenchUnreachable(str(exc)) from exc


def _run_rule(job: Job, bench, task,
              opener: Opener | None) -> tuple[dict[str, Any], list[tuple[int, float]]]:
    with _open(job, bench, opener) as device:
        epochs = 10**9                      # the query budget stops every in-loop rule
        if job.rule == "offline":
            epochs = bench.defaults.epochs if bench.is_recurrent else OFFLINE_EPOCHS
        config = TrainConfig.for_bench(bench, algo=job.rule, seed=job.seed,
                                       max_queries=job.max_queries, epochs=epochs,
                                       **{**TASK_SETTINGS.get(job.task, {}), **job.overrides})
        trainer = make_trainer(device, bench, task, config)
        points = [(r.queries, r.loss) for r in trainer.run() if r.queries > 0]
        st = trainer.state
        return {"stop_reason": trainer.stop_reason, "queries": st.queries, "loss": st.loss,
                "accuracy": st.accuracy, "epochs": st.epoch, **trainer.summary_fields(),
                **_channel_reads(device, st.queries), **_identity(device)}, points


def _run_peer(job: Job, bench, task,
              opener: Opener | None) -> tuple[dict[str, Any], list[tuple[int, float]]]:
    d = bench.defaults
    with _open(job, bench, opener) as device:
        objective = Objective(device, bench, task, CodeMap(bench))
        defaults = TrainConfig()
        loss = DeviceLoss(objective, d.target_accuracy, d.target_loss, job.max_queries,
                          defaults.margin, defaults.confirm)
        lo, hi = objective.codemap.weight_bounds()
        peer = make_peer(job.rule, job.overrides)
        result = peer.run(loss, initial_weights(objective, d.init_scale, job.seed),
                                         lo, hi, job.seed, d.init_scale)
        reads = {**_channel_reads(device, result.queries), **_identity(device)}
    best, points = np.inf, []
    for point in result.history:                     # incumbent (best-so-far) loss
        best = min(best, point.loss)
        points.append((point.queries, best))
    return {"stop_reason": result.stop_reason, "queries": result.queries, "loss": result.loss,
            "accuracy": result.accuracy, "evaluations": result.evaluations,
            "restarts": result.restarts, "stagnations": result.stagnations, **result.notes,
            **reads,
            "peer_settings": peer.settings(objective)
            + (f"; tuned: {job.settings}" if job.settings else "")}, points


def _channel_reads(device, queries: int) -> dict[str, int]:  # noqa: ANN001
    """The readout channels the run converted (every job opens its own device, so the
    device's count is the run's), checked against the run's own query count."""
    if device.queries != queries:
        log.warning("%s: the device counted %d queries, the run %d; channel reads are the "
                    "device's", device.url, device.queries, queries)
    return {"channel_reads": device.channel_reads}


def _identity(device) -> dict[str, Any]:  # noqa: ANN001
    """Which board the run was on, as its handshake said (serial devices): firmware `board`
    (pico, sim), `unique_id` where the firmware reports it, `boot_id`, the port; on labgrid
    the place and its exporter."""
    details = device.info().details
    found = {k: details[k] for k in ("board", "unique_id", "boot_id", "port", "place",
                                     "exporter") if k in details}
    return {"bench_identity": found} if found else {}


def run_job(job: Job, opener: Opener | None = None) -> dict[str, Any]:
    """One run of the grid, as a JSON-ready dict (status "n/a" if the rule cannot run there,
    "error" with the exception if it raised: counted as a failed run, never dropped).
    `opener(url, bench)` opens its device instead of `open_device` (a farm bench held
    across jobs: host/compare/bench_worker.py)."""
    bench = load_bench(TASK_BENCH[job.task], job.profile)
    out: dict[str, Any] = {**asdict(job), "url": job.url, "board_seed": job.board_seed,
                           "kind": kind_of(job.rule)}
    if job.rule in RULES and RULES[job.rule].needs_hidden and not bench.wiring.hidden:
        return {**out, "status": "n/a", "why": f"bench {bench.name} cannot read its hidden units"}
    if bench.is_recurrent and (job.rule in PEERS or RULES[job.rule].feedforward_only):
        why = "needs a feed-forward network" if job.rule in RULES else "not adapted to sequences"
        return {**out, "status": "n/a", "why": f"bench {bench.name} is recurrent: {job.rule} {why}"}
    if job.rule in MINI_BATCH_PEERS and "batch_size" not in TASK_SETTINGS.get(job.task, {}):
        return {**out, "status": "n/a", "why": "mini-batches only where the rules use them"}
    task = load_task(job.task)
    start = time.perf_counter()
    runner = _run_peer if job.rule in PEERS else _run_rule
    try:
        result, points = runner(job, bench, task, opener)
    except DeviceError as exc:
        if not job.bench:               # one device for the grid: an error like any other
            return _failed(job, out, exc, start)
        log.warning("%s: bench %s failed: %s", job, job.bench, exc)   # it goes back to the queue
        unreachable = isinstance(exc, BenchUnreachable)
        name = type(exc.__cause__ if unreachable else exc).__name__
        return {**out, "status": BENCH_FAILED, "why": f"{name}: {exc}", "at_open": unreachable}
    except Exception as exc:            # one broken run must not cost the rest of the grid
        return _failed(job, out, exc, start)
    wall = time.perf_counter() - start
    return {**out, "status": "ok", **result, "converged": result["stop_reason"] == "converged",
            "wall_s": round(wall, 4), "curve": _curve(points, query_grid(job.max_queries))}


def _failed(job: Job, out: dict[str, Any], exc: Exception, start: float) -> dict[str, Any]:
    log.exception("%s: the run failed", job)
    return {**out, "status": "error", "why": f"{type(exc).__name__}: {exc}",
            "wall_s": round(time.perf_counter() - start, 4)}


def job_key(run: dict[str, Any] | Job) -> tuple:
    """What identifies a run of the grid (to skip it when a stopped grid is resumed)."""
    d = asdict(run) if isinstance(run, Job) else run
    return (d["profile"], d["task"], d["rule"], d["seed"], d["max_queries"],
            d.get("device", DEFAULT_DEVICE), d.get("settings", ""))


def run_grid(jobs: list[Job], workers: int = 1,
             on_result: Callable[[dict[str, Any]], None] | None = None,
             done: Iterable[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """Run every job (in `workers` processes if > 1); results in job order.

    Results in `done` (from an earlier, stopped grid) are kept and their jobs not run again.
    """
    finished = {job_key(r): r for r in done}
    results: list[dict[str, Any] | None] = [finished.get(job_key(job)) for job in jobs]
    todo = [i for i, r in enumerate(results) if r is None]
    if workers <= 1:
        for i in todo:
            results[i] = run_job(jobs[i])
            if on_result:
                on_result(results[i])
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(run_job, jobs[i]): i for i in todo}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if on_result:
                    on_result(results[futures[future]])
    return [r for r in results if r is not None]
