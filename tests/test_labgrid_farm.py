"""`wphil bench learn --device "labgrid://bench*"` on the lab in a box (a real labgrid
coordinator, two exporters, ser2net, three simulated Picos): the grid is the serial one
(each job's board instance reaches the farm's simulated boards by SIM_BOARD), and an
exporter killed mid-grid takes its benches out of the farm without losing or repeating a job.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.labfarm import farm_of
from wphil.compare.benchmark import make_jobs, run_job

pytestmark = pytest.mark.slow

#: what a run measured (not where or how long): equal on any bench given the same job
MEASURED = ("status", "stop_reason", "queries", "channel_reads", "loss", "accuracy", "epochs",
            "converged", "curve")
GRID = ["--tasks", "xor", "--rules", "wp", "--max-queries", "300", "--no-progress"]


@pytest.fixture(scope="module")
def farm():
    yield from farm_of(3)


def _runs(out: Path) -> list[dict]:
    text = (out / "runs.jsonl").read_text() if (out / "runs.jsonl").exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.endswith("}")]


def _measured(runs: list[dict]) -> dict:
    return {(r["rule"], r["seed"]): {k: r.get(k) for k in MEASURED} for r in runs}


def _learn(lab, *args: str, wait: bool = True) -> subprocess.Popen | subprocess.CompletedProcess:
    env = dict(os.environ, LG_COORDINATOR=lab.coordinator, LG_USERNAME="grid")
    cmd = [sys.executable, "-m", "wphil", "bench", "learn", *GRID, *args]
    if wait:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_a_place_pattern_grid_sends_each_job_its_board_and_equals_the_serial_grid(
        farm, tmp_path) -> None:
    out = tmp_path / "grid"
    proc = _learn(farm, "--seeds", "3", "--device",
                  f"labgrid://bench*?coordinator={farm.coordinator}", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    runs = _runs(out)
    serial = [run_job(job) for job in make_jobs(["xor"], ["wp"], 3, ["default"], {"xor": 300},
                                                "upy://")]
    assert len(runs) == 3 and _measured(runs) == _measured(serial)
    for run in runs:        # seed=100+s&board_seed=1+s on the place's URL: SIM_BOARD was sent
        assert run["url"] == (f"{run['bench']}&seed={100 + run['seed']}"
                              f"&board_seed={1 + run['seed']}")
        place = run["bench"].split("?")[0].removeprefix("labgrid://")
        identity = run["bench_identity"]    # the board behind the place answered
        assert identity["board"] == "sim"
        assert identity["unique_id"] == farm.unique_ids[farm.places.index(place)]


@pytest.fixture
def raw_farm():
    yield from farm_of(2, raw=True)


def test_a_raw_farm_publishes_standing_ser2nets_and_its_grid_is_the_serial_one(
        raw_farm, tmp_path) -> None:
    """`wphil farm up --raw`: each place is a NetworkSerialPort of a ser2net that stays up,
    in raw mode; the benches speak socket:// to it, and the grid is the serial one."""
    from wphil.drivers.labgrid_place import Coordinator

    coord = Coordinator.connect(raw_farm.coordinator)
    try:
        serial = [coord.state(place).serial for place in raw_farm.places]
    finally:
        coord.close()
    assert [(s.protocol, s.port) for s in serial] == [("raw", p) for p in raw_farm.ser2net_ports]
    listing = subprocess.run([sys.executable, "-m", "wphil", "devices", "--labgrid"],
                             env=dict(os.environ, LG_COORDINATOR=raw_farm.coordinator),
                             capture_output=True, text=True, timeout=60)
    assert f"127.0.0.1:{raw_farm.ser2net_ports[0]} raw" in listing.stdout, listing
    out = tmp_path / "grid"
    proc = _learn(raw_farm, "--seeds", "3", "--device",
                  f"labgrid://bench*?coordinator={raw_farm.coordinator}", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    runs = _runs(out)
    jobs = make_jobs(["xor"], ["wp"], 3, ["default"], {"xor": 300}, "upy://")
    assert len(runs) == 3 and _measured(runs) == _measured([run_job(job) for job in jobs])
    assert all(r["bench_identity"]["port"].startswith("socket://127.0.0.1:") for r in runs)
    # a lab machine that dies takes its ser2net with it; started again, it brings it back
    raw_farm.kill_exporter("exporter1")
    assert raw_farm.ser2nets[0].poll() is not None and raw_farm.ser2nets[1].poll() is None
    raw_farm.start_exporter("exporter1")
    socket.create_connection(("127.0.0.1", raw_farm.ser2net_ports[0]), timeout=5).close()


def test_an_exporter_killed_mid_grid_loses_no_job_and_repeats_none(farm, tmp_path) -> None:
    out = tmp_path / "grid"
    seeds = 6
    device = f"labgrid://bench*?coordinator={farm.coordinator}&reconnect=2"
    proc = _learn(farm, "--seeds", str(seeds), "--device", device, "--out", str(out), wait=False)
    try:
        until = time.monotonic() + 120
        while not _runs(out) and proc.poll() is None and time.monotonic() < until:
            time.sleep(0.05)
        assert proc.poll() is None and _runs(out), "no job recorded before the grid ended"
        killed = farm.exporter_of(0)        # exporter1: bench1 and bench3
        farm.kill_exporter(killed)
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        farm.start_exporter(killed)         # the module's farm, whole again for other tests
    assert proc.returncode == 0, stderr
    runs = _runs(out)
    assert sorted(r["seed"] for r in runs) == list(range(seeds))     # every job exactly once
    assert all(r["status"] == "ok" for r in runs), stderr[-6000:]
    report = json.loads((out / "learn.json").read_text())
    by_place = {b["url"].split("?")[0].removeprefix("labgrid://"): b for b in report["benches"]}
    gone = [p for i, p in enumerate(farm.places) if farm.exporter_of(i) == killed]
    assert gone == ["bench1", "bench3"]
    # with 6 jobs on 3 benches, both benches of the killed exporter hold or take a job after
    # the kill: both fail, their jobs go back to the queue, the survivor runs the rest
    assert by_place["bench2"]["healthy"] and by_place["bench2"]["jobs"] >= 1
    assert sum(b["jobs"] for b in report["benches"]) == seeds
    for place in gone:
        assert not by_place[place]["healthy"], report["benches"]
        assert "DeviceError" in by_place[place]["failure"]
        line = next(x for x in stdout.splitlines() if x.startswith(f"- `{by_place[place]['url']}`"))
        assert f"{by_place[place]['jobs']} runs, UNHEALTHY: DeviceError" in line
    assert "is unhealthy" in stderr


def test_the_no_chardelay_ser2net_adds_the_option_only_to_labgrids_config(tmp_path) -> None:
    """Farm(chardelay=False): the ser2net first on the exporters' PATH passes `-v` (labgrid's
    version check) through; labgrid's config gets `chardelay: false` after its options block
    and TCP_NODELAY on its accepter."""
    from wphil.drivers import load_bench
    from wphil.lab.farm import Farm

    lab = Farm(1, load_bench("xor-2-2-1"), workdir=tmp_path, chardelay=False)
    script = (lab._no_chardelay() / "ser2net").read_text()
    assert '"options:" in a' in script and '"    chardelay: false"' in script
    assert '",tcp(nodelay),"' in script
    version = subprocess.run([str(tmp_path / "bin" / "ser2net"), "-v"], capture_output=True,
                             text=True, timeout=10)
    _, word, number = version.stdout.split(" ")      # as labgrid's exporter parses it
    assert word == "version" and number.strip()[0].isdigit()


def test_a_farm_without_ser2net_is_one_clear_line(tmp_path, monkeypatch) -> None:
    """No ser2net on PATH nor in /usr/sbin: the farm refuses in one line naming the package,
    before a coordinator or a board is started."""
    from wphil.drivers import load_bench
    from wphil.drivers.errors import ConfigError
    from wphil.lab import farm as farm_module

    monkeypatch.setattr(farm_module.shutil, "which", lambda name: None)
    monkeypatch.setattr(farm_module.os, "access", lambda *args: False)
    for raw in (False, True):
        lab = farm_module.Farm(1, load_bench("xor-2-2-1"), workdir=tmp_path / str(raw), raw=raw)
        with pytest.raises(ConfigError, match="needs ser2net.*apt-get install ser2net"):
            lab.start()
        assert lab.coordinator_proc is None and not lab.boards
