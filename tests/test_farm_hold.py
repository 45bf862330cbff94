"""A farm bench held for the whole grid (drivers/held_bench.py, host/compare/bench_worker.py)
on the lab in a box: the place acquired and the port opened once for all of a bench's jobs,
each job still its own device, handshake and board instance (the grid stays the serial
one); the place released at the grid's end, when the bench fails under a job, and on
Ctrl-C; a place someone else holds left to them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from tests.support.ctrl_c import CTRL_C
from tests.support.labfarm import farm_of, holder
from wphil.compare.benchmark import FARM, make_jobs, run_job

pytestmark = pytest.mark.slow

#: what a run measured (not where or how long): equal on any bench given the same job
MEASURED = ("status", "stop_reason", "queries", "channel_reads", "loss", "accuracy", "epochs",
            "converged", "curve")


@pytest.fixture(scope="module")
def farm():
    yield from farm_of(3)


def _jobs(seeds: int, device: str = FARM):
    return make_jobs(["xor"], ["wp"], seeds, ["default"], {"xor": 300}, device)


def _measured(runs: list[dict]) -> dict:
    return {(r["rule"], r["seed"]): {k: r.get(k) for k in MEASURED} for r in runs}


def test_a_held_bench_opens_its_place_once_and_each_job_is_the_serial_one(farm,
                                                                          monkeypatch) -> None:
    from wphil.drivers.held_bench import HeldBench

    monkeypatch.setenv("LG_USERNAME", "grid")
    url = f"labgrid://bench1?coordinator={farm.coordinator}"
    bench = HeldBench(url)
    try:
        runs = []
        for job in _jobs(3):
            runs.append(run_job(replace(job, bench=url), bench.open))
            assert holder(farm, "bench1").endswith("/grid")       # held between jobs
            assert bench.port is not None and bench.port.is_open
    finally:
        bench.close()
    assert holder(farm, "bench1") is None and bench.port is None
    assert (bench.devices, bench.opens) == (3, 1)       # three devices on one port
    serial = [run_job(job) for job in _jobs(3, "upy://")]
    assert _measured(runs) == _measured(serial)
    for run in runs:       # each job's own HELLO: the board behind the place, as it said
        assert run["bench_identity"]["unique_id"] == farm.unique_ids[0]
        assert run["bench_identity"]["place"] == "bench1"


def test_a_bench_that_starts_a_board_per_device_is_not_held() -> None:
    """upy:// in a farm: each device starts its own board process, gone with it; nothing to
    hold, each job opens its own (and the grid is still the serial one)."""
    from wphil.drivers.held_bench import HeldBench

    bench = HeldBench("upy://")
    runs = [run_job(replace(job, bench="upy://"), bench.open) for job in _jobs(2)]
    bench.close()
    assert (bench.devices, bench.opens, bench.port) == (0, 0, None)
    assert _measured(runs) == _measured([run_job(job) for job in _jobs(2, "upy://")])


def _learn(lab, out, device: str, seeds: int, wait: bool = True):
    """`wphil -v bench learn` in a process of its own, as user `grid` (a grid forks its
    benches' processes, which this process's gRPC threads would hang)."""
    env = dict(os.environ, LG_COORDINATOR=lab.coordinator, LG_USERNAME="grid")
    cmd = [sys.executable, "-m", "wphil", "-v", "bench", "learn", "--tasks", "xor",
           "--rules", "wp", "--seeds", str(seeds), "--max-queries", "300", "--no-progress",
           "--device", device, "--out", str(out)]
    if wait:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, **CTRL_C)


def test_a_grid_holds_each_place_once_and_lets_go_on_failure_at_the_end_and_of_others(
        farm, tmp_path, monkeypatch) -> None:
    from wphil.drivers.labgrid_place import Coordinator

    monkeypatch.setenv("LG_USERNAME", "alice")         # alice holds bench3 (session ended)
    alice = Coordinator.connect(farm.coordinator)
    alice.acquire("bench3")
    alice.close()
    # fault_seed 1: bench1's port vanishes for good at the 7th request of its first job
    # (after its handshake, board instance and CONFIGURE), and is not back in 2 s
    dying = "labgrid://bench1?faults=vanish:0.05,vanish_s:600&fault_seed=1&reconnect=2"
    try:
        proc = _learn(farm, tmp_path / "grid", f"{dying},labgrid://bench2,labgrid://bench3", 3)
        assert holder(farm, "bench3").endswith("/alice")     # refused, and left to alice
    finally:
        alice = Coordinator.connect(farm.coordinator)
        alice.release("bench3")
        alice.close()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert holder(farm, "bench1") is None and holder(farm, "bench2") is None
    report = json.loads((tmp_path / "grid" / "learn.json").read_text())
    sick, held, refused = report["benches"]
    assert not refused["healthy"] and "/alice" in refused["failure"]
    assert refused["jobs"] == 0 and refused["port_opens"] == 0
    assert not sick["healthy"] and "not back" in sick["failure"] and sick["jobs"] == 0
    assert held["healthy"] and held["jobs"] == 3 and held["port_opens"] == 1
    # bench1 let go of its place before its job went back to the queue
    log = proc.stderr
    assert log.index("released labgrid place bench1") < log.index(
        f"bench {dying} is unhealthy")
    runs = [json.loads(line) for line in (tmp_path / "grid" / "runs.jsonl").read_text().splitlines()]
    assert sorted(r["seed"] for r in runs) == [0, 1, 2]
    assert {r["bench_identity"]["place"] for r in runs} == {"bench2"}


@pytest.mark.parametrize("to", ["group", "grid", "kill"])
def test_ctrl_c_or_a_killed_grid_releases_every_held_place(farm, tmp_path, to) -> None:
    """Ctrl-C at a terminal (SIGINT to the whole process group), SIGINT to the grid's process
    alone (it passes it on to its benches' processes), or the grid's process killed (its
    benches' processes see their pipe close)."""
    out = tmp_path / "grid"
    proc = _learn(farm, out, "labgrid://bench*", 400, wait=False)
    try:
        until = time.monotonic() + 60
        runs = out / "runs.jsonl"
        while proc.poll() is None and time.monotonic() < until and not (
                runs.exists() and runs.read_text().count("\n") >= 2
                and all((holder(farm, p) or "").endswith("/grid") for p in farm.places)):
            time.sleep(0.1)           # until every bench holds its place and runs are written
        assert proc.poll() is None, proc.communicate()[1]
        if to == "group":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGKILL if to == "kill" else signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        until = time.monotonic() + 30
        while _alive(proc.pid) and time.monotonic() < until:
            time.sleep(0.1)           # a killed grid's bench processes let go on their own
    finally:
        if proc.poll() is None or _alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == (-signal.SIGKILL if to == "kill" else 130), stderr
    assert not _alive(proc.pid)             # no bench process left behind
    assert [holder(farm, p) for p in farm.places] == [None, None, None], stderr[-5000:]
    done = [json.loads(line) for line in runs.read_text().splitlines()]
    assert 2 <= len(done) < 400 and all(r["status"] == "ok" for r in done)
    assert "Traceback" not in stderr


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
