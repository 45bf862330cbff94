"""A farm bench's worker process: it holds its bench for the whole grid and runs the jobs
the farm sends it, one at a time.

Each bench of a farm (host/compare/farm.py) gets a process of its own, forked at the
grid's start. A process, not a thread: between its requests a job is Python on the host
(the rule's arithmetic, the link's framing, pyserial's RFC 2217 reader thread), and the
benches' jobs run side by side on the host's cores only in processes of their own.

The process holds its bench (drivers/held_bench.py): its first job acquires the labgrid
place and opens the port, later jobs get a device each on that open port. It lets go of
the bench (closes the port, releases the place)

- at the grid's end (the farm sends None),
- as soon as the bench fails under a job, before the job goes back to the queue,
- on Ctrl-C or SIGTERM: the first one interrupts the job (its device still puts the
  board in its safe state), later ones are ignored until the bench is let go,
- when the grid's process is gone (its end of the pipe closes).

A process killed with SIGKILL leaves a place acquired (`labgrid-client -p PLACE release`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from wphil.compare.benchmark import BENCH_FAILED, Job, run_job
from wphil.drivers.errors import DeviceError
from wphil.drivers.held_bench import HeldBench

T = TypeVar("T")

log = logging.getLogger(__name__)

#: how long letting go of a bench may take (labgrid releases one place at a time, ~0.6 s each)
STOP_S = 30.0


class BenchProcess:
    """The process that holds one bench and runs its jobs (`run`), until `stop()`."""

    def __init__(self, url: str) -> None:
        ctx = multiprocessing.get_context("fork")   # with what this process imported
        self.url = url
        self.opens = 0          # how often the bench's port was opened so far
        self.asked = False      # told to stop
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(url, child, self.conn),
                                   name=f"bench {url}")
        self.process.start()
        child.close()

    def run(self, job: Job) -> dict[str, Any]:
        """The job's result on this bench (BENCH_FAILED if the process ended under it)."""
        try:
            self.conn.send(job)
            result, self.opens = self.conn.recv()
            return result
        except (EOFError, OSError):
            self.process.join(1.0)
            return {"status": BENCH_FAILED,
                    "why": f"the bench's worker process ended (exit code "
                           f"{self.process.exitcode})"}

    def interrupt(self) -> None:
        """Ctrl-C for the process too (the terminal sends it to the whole process group;
        a signal to the grid's process alone does not reach it)."""
        if self.process.is_alive() and self.process.pid:
            try:
                os.kill(self.process.pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def ask_to_stop(self) -> None:
        """Tell the process to let go of its bench and end, without waiting for it (a
        farm asks every bench first, so their places are released side by side)."""
        if self.asked:
            return
        self.asked = True
        try:
            self.conn.send(None)
        except OSError:
            pass

    def stop(self) -> None:
        """Let go of the bench and end the process (waits for the place's release)."""
        self.ask_to_stop()
        self.process.join(STOP_S)
        if self.process.is_alive():
            log.warning("bench %s: its worker did not end in %g s; killed (a labgrid place "
                        "may stay acquired)", self.url, STOP_S)
            self.process.kill()
            self.process.join()
        self.conn.close()


def apart(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a forked process of its own: its result, or its exception raised here.

    The grid's process forks its benches' processes, and a fork while labgrid's client
    (gRPC) has threads at work leaves the child's gRPC hung ("Other threads are currently
    calling into gRPC, skipping fork() handlers"): what the grid asks the coordinator
    before that (the places a pattern matches) is asked from a process that then ends."""
    ctx = multiprocessing.get_context("fork")
    answer, child = ctx.Pipe(duplex=False)

    def ask() -> None:
        try:
            out: tuple[bool, Any] = (True, fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            out = (False, exc)
        child.send(out)

    process = ctx.Process(target=ask, name="labgrid query")
    process.start()
    child.close()
    try:
        ok, value = answer.recv()
    except EOFError:
        raise DeviceError(f"asking the labgrid coordinator failed (its process ended with "
                          f"exit code {process.exitcode})") from None
    finally:
        process.join()
        answer.close()
    if not ok:
        raise value
    return value


def _interrupt_once(signum: int, frame: Any) -> None:
    """The first Ctrl-C (or SIGTERM) stops the job; the bench is then let go undisturbed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _serve(url: str, conn: Connection, parent_end: Connection) -> None:
    """The bench process: run each job sent on `conn` on the held bench, send its result."""
    parent_end.close()
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:   # as the grid: a background
        signal.signal(signal.SIGINT, _interrupt_once)           # job's ignores Ctrl-C
    signal.signal(signal.SIGTERM, _interrupt_once)
    bench = HeldBench(url)
    try:
        while (job := conn.recv()) is not None:
            result = run_job(job, bench.open)
            if result["status"] == BENCH_FAILED:
                bench.close()          # free before the job goes back to the queue
            conn.send((result, bench.opens))
    except (EOFError, ConnectionError, KeyboardInterrupt):  # the grid is gone, or Ctrl-C
        log.info("bench %s: stopped", url)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        bench.close()
