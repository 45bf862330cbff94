"""`bench learn` over many benches: one worker per bench pulls the grid's jobs from one queue.

`--device` names the benches: a comma-separated list of URLs (serial ports, socket://,
upy:// or another simulated scheme, labgrid://PLACE) or a labgrid place pattern
(`labgrid://bench*`, expanded on the coordinator). Each bench runs one job at a time, in a
process of its own that holds the bench for the whole grid (host/compare/bench_worker.py:
a labgrid place acquired and its port opened once, by the bench's first job; every job
still gets its own device, handshake, board instance and CONFIGURE). The host sends each
job's seeds with its URL (`bench_job_url`), so a simulated board takes its board instance
from the job, not from the bench: on simulated benches the grid is the one a single
device would give.

A bench that fails under a job (a device error: the board vanished, stopped answering, a
reset storm; the driver's own recovery has given up) is marked unhealthy and gets no more
jobs; its job goes back to the queue for another bench. A job that has failed on
`MAX_BENCH_FAILURES` benches under way is recorded as an error run instead (it is the job,
not the benches); a bench that could not even be opened for it (an exporter gone with
two places of the farm: the job failed mid-way on one, then could not start on the other)
does not count against the job. When every bench is unhealthy the grid stops (`FarmDown`):
the finished runs are already written, for `--resume`.
"""

from __future__ import annotations

import collections
import importlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs

from wphil.compare.bench_worker import BenchProcess, apart
from wphil.compare.benchmark import (
    BENCH_FAILED,
    PEERS,
    SIMULATED,
    Job,
    job_key,
)
from wphil.drivers.errors import ConfigError, DeviceError
from wphil.drivers.urls import scheme_of

log = logging.getLogger(__name__)

#: a job that took down this many benches is recorded as an error run, not queued again
MAX_BENCH_FAILURES = 2
_GLOB = "*?["
#: what a peer's package is imported as (its first run imports it: scipy.optimize alone took
#: 4 s of a 5 s Nelder-Mead run on a busy machine), before the benches' processes are forked,
#: so that no bench pays it again; only the grid's own peers' (cma alone takes ~0.9 s)
PRELOAD = {"scipy": "scipy.optimize"}
_URL_START = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://|/|COM\d+$|auto$")


class FarmDown(DeviceError):
    """Every bench of the farm failed; the finished runs are saved."""


@dataclass
class BenchState:
    """One bench of the farm, as the report shows it."""

    url: str
    jobs: int = 0                       # jobs completed on it
    healthy: bool = True
    failure: str = ""                   # why it was marked unhealthy
    identity: dict[str, Any] = field(default_factory=dict)   # as its last run recorded it
    opens: int = 0                      # times its port was opened (1: held throughout)

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "jobs": self.jobs, "healthy": self.healthy,
                "failure": self.failure, "port_opens": self.opens,
                **({"identity": self.identity} if self.identity else {})}


def bench_urls(device: str) -> list[str] | None:
    """The benches `--device` names, or None for one simulated scheme (the ordinary grid:
    `upy://` starts a board per job, in `--jobs` processes)."""
    if "," not in device:
        if device.startswith("labgrid://") and any(c in device.split("?")[0] for c in _GLOB):
            return _places(device)
        if scheme_of(device) in SIMULATED and "://" in device:
            return None
        urls = [device.strip()]
    else:
        urls = _split(device)
    if not all(urls):
        raise ConfigError(f"--device {device!r}: an empty bench in the list")
    twice = sorted({u for u in urls if urls.count(u) > 1})
    if twice:
        raise ConfigError(f"--device: bench {twice[0]} is listed twice (one job per bench at a "
                          "time: list each bench once)")
    if "auto" in urls:
        raise ConfigError("--device: `auto` is whichever Pico is found first; name each "
                          "bench's port in a farm")
    return urls


def _split(device: str) -> list[str]:
    """The comma-separated benches; a comma inside a URL's options (faults=drop:0.01,flip:0.01)
    stays in it: a piece that does not start a URL (SCHEME://, /PATH, COMn) continues the
    previous URL's query."""
    urls: list[str] = []
    for piece in device.split(","):
        piece = piece.strip()
        if urls and "?" in urls[-1] and piece and not _URL_START.match(piece):
            urls[-1] += "," + piece
        else:
            urls.append(piece)
    return urls


def _places(pattern: str) -> list[str]:
    """labgrid://PATTERN on the coordinator: the matching places, with the pattern's options."""
    expand_places = _labgrid_expander()
    if expand_places is None:
        raise ConfigError(f"--device {pattern}: a labgrid place pattern needs labgrid:// "
                          "support (pip install 'wphil[labgrid]')")
    query = pattern.partition("?")[2]
    coordinator = parse_qs(query).get("coordinator", [None])[0]
    try:        # imported once, here: the process that asks, and the benches', inherit it
        importlib.import_module("labgrid.remote.client")
    except ImportError:
        pass            # the asking process says so, in one line
    places = apart(expand_places, pattern, coordinator)
    if not places:
        raise ConfigError(f"--device {pattern}: no labgrid place matches "
                          "(wphil devices --labgrid lists them)")
    return [f"{p}?{query}" if query else p for p in places]


def _labgrid_expander() -> Callable[..., list[str]] | None:
    """labgrid's `expand_places(pattern, coordinator)`, imported only for a pattern."""
    for module in ("wphil.drivers.labgrid_place", "wphil.drivers.labgrid"):
        try:
            return importlib.import_module(module).expand_places
        except (ImportError, AttributeError):
            continue
    return None


class _Queue:
    """The grid's jobs still to run, shared by the bench workers (under one condition)."""

    def __init__(self, todo: Iterable[int], benches: list[BenchState]) -> None:
        self.pending = collections.deque(todo)
        self.benches = benches
        self.in_flight = 0
        self.stopped = False
        self.cond = threading.Condition()

    def take(self) -> int | None:
        """The next job for a bench, waiting while another bench's job may come back."""
        with self.cond:
            while not self.pending and self.in_flight:
                self.cond.wait()
            if not self.pending:
                return None
            self.in_flight += 1
            return self.pending.popleft()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.pending.clear()
            self.cond.notify_all()

    def finish(self, index: int | None = None) -> None:
        """A job ended; `index` if it goes back to the front of the queue."""
        with self.cond:
            self.in_flight -= 1
            if index is not None:
                self.pending.appendleft(index)
            self.cond.notify_all()


def run_farm(jobs: list[Job], benches: list[str],
             on_result: Callable[[dict[str, Any]], None] | None = None,
             done: Iterable[dict[str, Any]] = ()) -> tuple[list[dict[str, Any]], list[BenchState]]:
    """Run every job not in `done` on the benches, one job per bench at a time; results in
    job order, and each bench's state. FarmDown if every bench failed with jobs left."""
    finished = {job_key(r): r for r in done}
    results: list[dict[str, Any] | None] = [finished.get(job_key(job)) for job in jobs]
    states = [BenchState(url) for url in benches]
    queue = _Queue([i for i, r in enumerate(results) if r is None], states)
    failures: dict[int, list[str]] = collections.defaultdict(list)
    lock = threading.Lock()

    def record(index: int, result: dict[str, Any]) -> None:
        with lock:
            results[index] = result
            if on_result:
                on_result(result)

    _preload(jobs, benches)
    # fork every bench's process at once, from this thread before the bench threads exist
    # (a fork from a thread could copy a lock another one holds), with what it has imported
    procs = [BenchProcess(url) for url in benches]
    log.debug("farm: %d jobs on %d bench processes", len(queue.pending), len(procs))
    try:
        workers = [threading.Thread(target=_work, name=f"bench-{i}", daemon=True,
                                    args=(state, proc, jobs, queue, record, failures))
                   for i, (state, proc) in enumerate(zip(states, procs))]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    except KeyboardInterrupt:       # no bench takes another job; the runs written stay
        queue.stop()
        for proc in procs:
            proc.interrupt()
        raise
    finally:                        # each bench let go: its port closed, its place released
        for proc in procs:          # all at once: a release waits for the coordinator
            proc.ask_to_stop()
        for proc in procs:
            proc.stop()
    if queue.pending:
        why = "; ".join(f"{s.url}: {s.failure}" for s in states)
        raise FarmDown(f"every bench failed, {len(queue.pending)} of {len(jobs)} runs left "
                       f"({why}); the finished runs are saved: fix the benches and run again "
                       "with --resume")
    return [r for r in results if r is not None], states


def _preload(jobs: list[Job], benches: list[str]) -> None:
    modules = ["wphil.drivers.serial_device", "wphil.drivers.upy"]
    if any(url.startswith("labgrid://") for url in benches):
        modules += ["wphil.drivers.labgrid_device", "labgrid.remote.client"]
    packages = {PEERS[job.rule].package for job in jobs if job.rule in PEERS}
    start = time.perf_counter()
    for module in modules + sorted(PRELOAD.get(p, p) for p in packages):
        try:
            importlib.import_module(module)
        except ImportError:
            log.debug("not preloaded: %s", module)
    log.debug("farm: the benches' modules imported in %.2f s", time.perf_counter() - start)


def _work(state: BenchState, bench: BenchProcess, jobs: list[Job], queue: _Queue,
          record: Callable[[int, dict[str, Any]], None],
          failures: dict[int, list[str]]) -> None:
    """One bench's worker: run jobs until the queue is empty or the bench fails."""
    while (index := queue.take()) is not None:
        result = bench.run(replace(jobs[index], bench=state.url))
        state.opens = bench.opens
        if result["status"] != BENCH_FAILED:
            state.jobs += 1
            state.identity = result.get("bench_identity", state.identity)
            record(index, result)
            queue.finish()
            continue
        if queue.stopped:           # Ctrl-C ended the job: nothing to blame, nothing to run
            queue.finish()
            return
        state.healthy, state.failure = False, result["why"]
        log.warning("bench %s is unhealthy (%s); its job goes back to the queue", state.url,
                    state.failure)
        if not result.get("at_open"):   # a job that never started there is not to blame
            failures[index].append(state.url)
        if len(failures[index]) < MAX_BENCH_FAILURES:
            queue.finish(index)
        else:
            record(index, {**result, "status": "error", "wall_s": 0.0,
                           "why": f"failed on {len(failures[index])} benches "
                                  f"({', '.join(failures[index])}): {result['why']}"})
            queue.finish()
        return
