"""`wphil bench learn --device URL,URL,...`: a grid spread over a farm of benches.

The benches are standing simulated boards (the firmware under the MicroPython unix port on
ptys, drivers/standing_board.py), each told the job's board instance by SIM_BOARD.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.test_cli import wphil
from tests.test_first_hour import cli
from wphil.compare.benchmark import FARM, bench_job_url, make_jobs, run_job
from wphil.compare.farm import bench_urls
from wphil.drivers.errors import ConfigError
from wphil.drivers.standing_board import standing_boards

#: what a run measured (not where or how long): equal on any bench given the same job
MEASURED = ("status", "stop_reason", "queries", "channel_reads", "loss", "accuracy", "epochs",
            "converged", "curve")
GRID = ["--tasks", "xor", "--rules", "wp", "--max-queries", "300", "--no-progress"]


@pytest.fixture(scope="module")
def boards():
    with standing_boards(3) as up:
        yield up


def _runs(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]


def _measured(runs: list[dict]) -> dict:
    return {(r["rule"], r["seed"]): {k: r.get(k) for k in MEASURED} for r in runs}


@pytest.mark.slow
def test_a_grid_over_three_standing_boards_is_the_grid_of_one_upy_device(tmp_path, boards) -> None:
    urls = [b.url for b in boards]
    farm = wphil("bench", "learn", *GRID, "--rules", "wp", "--seeds", "3",
                 "--device", ",".join(urls), "--out", str(tmp_path / "farm"), check=True)
    runs = _runs(tmp_path / "farm")
    # the same jobs, one after the other, each on a board process of its own (upy://)
    serial = [run_job(job) for job in make_jobs(["xor"], ["wp"], 3, ["default"], {"xor": 300},
                                                "upy://")]
    assert len(runs) == 3 and _measured(runs) == _measured(serial)
    for run in runs:        # each run names its bench and the board that answered there
        assert run["bench"] in urls and run["device"] == FARM
        assert run["url"] == f"{run['bench']}?seed={100 + run['seed']}&board_seed={1 + run['seed']}"
        assert run["bench_identity"]["board"] == "sim"
        assert run["bench_identity"]["port"] == run["bench"].removeprefix("serial://")
    report = json.loads((tmp_path / "farm" / "learn.json").read_text())
    assert [b["url"] for b in report["benches"]] == urls
    assert all(b["healthy"] for b in report["benches"])
    assert sum(b["jobs"] for b in report["benches"]) == 3
    assert "| xor | wp | in-loop | 0/3 |" in farm.stdout       # the usual table
    assert f"- `{urls[0]}`: " in farm.stdout


@pytest.mark.slow
def test_a_bench_that_dies_mid_job_hands_the_job_to_another_which_runs_it_once(tmp_path,
                                                                              boards) -> None:
    # fault_seed 1: the port vanishes for good at the 7th request, after the handshake, the
    # board instance and CONFIGURE went through (measured: 6 EVALUATEs succeed)
    dying = boards[0].url + "?faults=vanish:0.05,vanish_s:600&fault_seed=1&reconnect=2"
    out = tmp_path / "grid"
    proc = wphil("bench", "learn", *GRID, "--seeds", "2",
                 "--device", f"{dying},{boards[1].url}", "--out", str(out), check=True)
    runs = _runs(out)
    assert sorted(r["seed"] for r in runs) == [0, 1]          # every job once, none twice
    assert all(r["status"] == "ok" and r["bench"] == boards[1].url for r in runs)
    report = json.loads((out / "learn.json").read_text())
    sick, well = report["benches"]
    assert not sick["healthy"] and sick["jobs"] == 0
    assert "lost" in sick["failure"] and "not back" in sick["failure"]      # mid-job, not at open
    assert well["healthy"] and well["jobs"] == 2
    assert f"`{dying}`: 0 runs, UNHEALTHY: DeviceError" in proc.stdout
    assert "is unhealthy" in proc.stderr


@pytest.mark.slow
def test_resume_runs_only_the_missing_jobs_on_whatever_benches_are_given(tmp_path,
                                                                         boards) -> None:
    out = tmp_path / "grid"
    args = ["bench", "learn", *GRID, "--seeds", "2", "--out", str(out)]
    wphil(*args, "--device", f"{boards[0].url},{boards[1].url}", check=True)
    lines = (out / "runs.jsonl").read_text().splitlines()
    kept = lines[0]
    (out / "runs.jsonl").write_text(kept + "\n" + lines[1][:40])     # stopped mid-write
    wphil(*args, "--device", boards[2].url, "--resume", check=True)
    runs = _runs(out)
    assert json.dumps(runs[0]) == kept
    assert sorted(r["seed"] for r in runs) == [0, 1]
    assert runs[1]["bench"] == boards[2].url
    assert _measured(runs) == _measured([json.loads(line) for line in lines])


@pytest.mark.slow
def test_when_every_bench_fails_the_grid_stops_with_exit_1_and_keeps_its_runs(tmp_path) -> None:
    out = tmp_path / "grid"
    proc = wphil("bench", "learn", *GRID, "--seeds", "2", "--out", str(out),
                 "--device", "/dev/wphil-no-such-port-a,/dev/wphil-no-such-port-b")
    assert proc.returncode == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("wphil: device error: every bench failed, 2 of 2 runs left")
    assert "--resume" in last
    assert (out / "runs.jsonl").read_text() == ""
    assert not (out / "learn.json").exists()


@pytest.mark.parametrize("device,message", [
    ("serial:///dev/pts/0,bogus://x", "unknown device URL scheme 'bogus'"),
    ("serial:///dev/pts/0,,serial:///dev/pts/1", "an empty bench in the list"),
    ("/dev/ttyACM0,/dev/ttyACM0", "bench /dev/ttyACM0 is listed twice"),
    ("auto,/dev/ttyACM1", "name each bench's port"),
    ("serial:///dev/pts/0?board_seed=2,upy://", "bench learn sets board_seed per job"),
    ("upy://?timeout=5,serial:///dev/pts/0?speed=2", "unknown option 'speed'"),
])
def test_a_bad_bench_in_the_list_is_refused_in_one_line_before_anything_is_written(
        tmp_path, capsys, device, message) -> None:
    code, _, err = cli(capsys, "bench", "learn", *GRID, "--seeds", "1", "--device", device,
                       "--out", str(tmp_path / "grid"))
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert not (tmp_path / "grid").exists()


def test_jobs_is_refused_with_a_farm(tmp_path, capsys) -> None:
    code, _, err = cli(capsys, "bench", "learn", *GRID, "--device", "upy://,upy://?timeout=5",
                       "--jobs", "2", "--out", str(tmp_path / "grid"))
    assert code == 2 and "one job per bench" in err
    assert not (tmp_path / "grid").exists()


def test_a_bench_url_takes_the_jobs_seeds_whatever_its_scheme() -> None:
    assert bench_job_url("/dev/ttyACM0", 2) == "serial:///dev/ttyACM0?seed=102&board_seed=3"
    assert bench_job_url("socket://lab:4001", 0) == "socket://lab:4001?seed=100&board_seed=1"
    assert bench_job_url("upy://?timeout=5", 1) == "upy://?timeout=5&seed=101&board_seed=2"
    assert bench_job_url("labgrid://bench1?wait=5", 0) == \
        "labgrid://bench1?wait=5&seed=100&board_seed=1"


def test_one_simulated_scheme_is_the_ordinary_grid_and_anything_else_a_farm() -> None:
    assert bench_urls("upy://?timeout=5") is None and bench_urls("mock://") is None
    assert bench_urls("/dev/ttyACM0") == ["/dev/ttyACM0"]
    assert bench_urls("serial:///dev/a?faults=drop:0.1,flip:0.1, socket://h:1,COM3") == \
        ["serial:///dev/a?faults=drop:0.1,flip:0.1", "socket://h:1", "COM3"]


def test_a_labgrid_pattern_is_expanded_on_the_coordinator_keeping_its_options(
        monkeypatch) -> None:
    class FakeLabgrid:         # asked in a process of its own: it answers what it was asked
        @staticmethod
        def expand_places(pattern, coordinator=None):
            if "bench" not in pattern:
                return []
            return [f"labgrid://bench{i}-{coordinator}-{pattern.split('?')[0][-6:]}"
                    for i in (1, 2)]

    monkeypatch.setitem(sys.modules, "wphil.drivers.labgrid_place", FakeLabgrid)
    assert bench_urls("labgrid://bench*?wait=5&coordinator=lab:20408") == \
        ["labgrid://bench1-lab:20408-bench*?wait=5&coordinator=lab:20408",
         "labgrid://bench2-lab:20408-bench*?wait=5&coordinator=lab:20408"]
    with pytest.raises(ConfigError, match="no labgrid place matches"):
        bench_urls("labgrid://nothing*")


def test_a_farm_asks_every_bench_to_let_go_before_waiting_for_any(monkeypatch) -> None:
    """Releasing a labgrid place waits for the coordinator (0.3 s each on the lab in a box):
    the grid's end tells every bench process to stop, then waits for them, so the releases
    run side by side instead of one after another."""
    from wphil.compare import farm as farm_module

    calls: list[tuple[str, str]] = []

    class Bench:
        def __init__(self, url: str) -> None:
            self.url, self.opens = url, 0

        def run(self, job) -> dict:  # noqa: ANN001
            return {"status": "ok", "rule": job.rule, "seed": job.seed}

        def ask_to_stop(self) -> None:
            calls.append(("ask", self.url))

        def stop(self) -> None:
            calls.append(("wait", self.url))

    monkeypatch.setattr(farm_module, "BenchProcess", Bench)
    jobs = make_jobs(["xor"], ["wp"], 4, ["default"], {"xor": 300}, "upy://")
    results, _ = farm_module.run_farm(jobs, ["a://1", "b://2", "c://3"])
    assert len(results) == 4
    assert [kind for kind, _ in calls] == ["ask"] * 3 + ["wait"] * 3
