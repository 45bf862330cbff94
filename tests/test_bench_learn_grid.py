"""`wphil bench learn` on any simulated backend and any seeds, and its two query counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.test_cli import wphil
from wphil.compare import job_url, make_jobs
from wphil.compare.report import goals, markdown, summarize
from wphil.drivers import open_device


def test_first_seed_shifts_the_read_noise_seed_and_the_board_of_every_job() -> None:
    jobs = make_jobs(["xor"], ["wp"], 3, ["default"], {"xor": 1000}, "spice://", first_seed=40)
    assert [j.seed for j in jobs] == [40, 41, 42]
    assert [j.url for j in jobs] == [f"spice://?seed={140 + i}&board_seed={41 + i}"
                                     for i in range(3)]
    assert [j.board_seed for j in jobs] == [41, 42, 43]
    # the default grid is the one every earlier table ran: seeds 0.., mock://
    assert make_jobs(["xor"], ["wp"], 1, ["default"], {"xor": 1})[0].url \
        == "mock://?seed=100&board_seed=1"


def test_a_scheme_keeps_its_own_options_and_the_job_adds_its_seeds() -> None:
    assert job_url("upy://?timeout=5", 2) == "upy://?timeout=5&seed=102&board_seed=3"


@pytest.mark.parametrize("device,message", [
    ("spice://?board_seed=3", "--device spice://?board_seed=3: bench learn sets board_seed per job"),
    ("mock://?seed=7", "--device mock://?seed=7: bench learn sets seed per job"),
    ("upy://?speed=9", "--device upy://?speed=9: "),
    ("serial:///dev/ttyACM0?speed=9", "--device serial:///dev/ttyACM0?speed=9: "),  # a farm
])
def test_a_device_that_cannot_take_the_jobs_seeds_is_refused_in_one_line(tmp_path, device,
                                                                          message) -> None:
    proc = wphil("bench", "learn", "--tasks", "xor", "--rules", "wp", "--seeds", "1",
                 "--device", device, "--out", str(tmp_path / "grid"), "--no-progress")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "grid").exists()


@pytest.mark.slow
def test_a_grid_runs_on_the_firmware_under_upy_and_records_device_and_seeds(tmp_path) -> None:
    out = tmp_path / "grid"
    proc = wphil("bench", "learn", "--tasks", "xor", "--rules", "wp,nelder-mead", "--seeds", "1",
                 "--first-seed", "7", "--max-queries", "1500", "--device", "upy://?timeout=5",
                 "--out", str(out), "--no-progress", check=True)
    assert "Device `upy://?timeout=5`, seeds 7–7" in proc.stdout
    report = json.loads((out / "learn.json").read_text())
    assert report["device"] == "upy://?timeout=5" and report["first_seed"] == 7
    runs = report["runs"]
    assert [r["rule"] for r in runs] == ["wp", "nelder-mead"]
    for r in runs:
        assert r["status"] == "ok", r
        assert r["url"] == "upy://?timeout=5&seed=107&board_seed=8" and r["board_seed"] == 8
        assert r["channel_reads"] == r["queries"] > 0     # neither reads the hidden units


@pytest.mark.slow
def test_resume_refuses_a_grid_that_ran_on_another_device_or_first_seed(tmp_path) -> None:
    out = tmp_path / "grid"
    args = ["bench", "learn", "--tasks", "xor", "--rules", "wp", "--seeds", "1",
            "--max-queries", "500", "--no-progress", "--out", str(out)]
    wphil(*args, check=True)
    before = (out / "runs.jsonl").read_text()
    for change in (["--device", "upy://"], ["--first-seed", "3"]):
        proc = wphil(*args, *change, "--resume")
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "ran on --device mock:// --first-seed 0" in lines[0]
        assert (out / "runs.jsonl").read_text() == before


def test_the_device_charges_a_hidden_readout_as_a_channel_read() -> None:
    """xor-2-2-1 reads 1 output and 2 hidden units: 3 weight vectors x 4 patterns with the
    hidden units is 12 passes and 12 x 3 = 36 channel reads; then one whole-set pass of the
    outputs only is 4 more of each."""
    with open_device("mock://", "xor-2-2-1") as device:
        inputs = np.zeros((4, 2), dtype=np.int64)
        codes = np.tile(device.codes, (3, 1))
        device.evaluate(inputs, codes, hidden=True)
        assert (device.queries, device.channel_reads) == (12, 36)
        device.evaluate(inputs)
        assert (device.queries, device.channel_reads) == (16, 40)


def _run(rule: str, kind: str, seed: int, queries: int, channel_reads: int) -> dict:
    return {"profile": "default", "task": "xor", "rule": rule, "kind": kind, "seed": seed,
            "status": "ok", "converged": True, "queries": queries, "max_queries": 10_000,
            "channel_reads": channel_reads, "loss": 0.01, "accuracy": 1.0, "wall_s": 0.1}


def test_per_channel_counting_reports_where_it_flips_the_verdict() -> None:
    """twin: 8 passes, 4 of them reading 2 hidden units too: 8 + 2 x 4 = 16 channel
    reads. nelder-mead: 90 passes, 90 reads. Per pass 8/90 = 0.089 <= 0.1 (met); per
    channel 16/90 = 0.18 (not met)."""
    runs = [_run("twin", "in-loop", s, 8, 8 + 2 * 4) for s in range(2)]
    runs += [_run("nelder-mead", "peer", s, 90, 90) for s in range(2)]
    summary = summarize(runs)
    assert [r["channel_reads_median"] for r in summary] == [16, 90]
    assert summary[0]["readouts_per_query"] == 2.0
    (goal,) = goals(summary)
    assert goal["met"] and goal["ratio"] == pytest.approx(8 / 90)
    assert not goal["per_channel"]["met"]
    assert goal["per_channel"]["ratio"] == pytest.approx(16 / 90)
    table = markdown(summary, [goal], {"command": "wphil bench learn", "date": "d",
                                       "machine": "m", "device": "mock://", "seeds": 2})
    assert "| xor | twin | in-loop | 2/2 | 8 [8–8] | 8 | 16 [16–16] |" in table
    assert "| default | xor | twin | 8 (100%) | nelder-mead | 90 (100%) | 0.089 | yes |" in table
    assert ("- xor (default): twin 16 vs nelder-mead 90 channel reads, ratio 0.18 — changes: "
            "verdict NOT met") in table


def test_a_report_of_runs_from_before_channel_counting_still_renders(tmp_path: Path) -> None:
    runs = [{k: v for k, v in _run("wp", "in-loop", 0, 50, 50).items() if k != "channel_reads"}]
    summary = summarize(runs)
    assert summary[0]["channel_reads_median"] is None
    table = markdown(summary, goals(summary), {"command": "c", "date": "d", "machine": "m"})
    assert "| xor | wp | in-loop | 1/1 | 50 [50–50] | 50 | — |" in table


def test_a_twin_row_carries_the_fit_it_used() -> None:
    """bench learn's row of a twin run has the fit the run used: its model and held-out
    probe rms against its noise floor (with a probe share, far from it: reported)."""
    from wphil.compare.benchmark import Job, run_job

    row = run_job(Job("heldout", "xor", "twin", 3, 2000, "mock://", 0,
                      '{"rule_options": {"probe_share": 0.125}}'))
    assert row["status"] == "ok" and row["twin"]["probes"] == 5
    assert row["twin"]["heldout_over_noise"] == pytest.approx(
        row["twin"]["heldout_rms_volts"] / row["twin"]["noise_volts"], rel=1e-3)
