"""Runs that cannot be spoiled: one writer per run directory, nothing created for a device
that cannot be opened, resume that continues the simulated noise exactly, a query budget
that is a budget for every rule, strict JSON, and the firmware profiles."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

import wphil
from tests.support.ctrl_c import CTRL_C
from wphil.learning import TrainState
from wphil.runs import RunDir

NOISY = "mock://?noise=0.01&drift=0.005"


def wphil_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wphil", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=180)


def rows(run: Path) -> list[dict[str, str]]:
    with open(run / "metrics.csv") as f:
        return list(csv.DictReader(f))


def endless(run: Path, *args: str, rows_before: int = 0) -> subprocess.Popen:
    """A `wphil train` that runs until killed, once it has written three rows of its own."""
    cmd = [sys.executable, "-m", "wphil", "train", "--epochs", "1000000", "--target-loss",
           "1e-12", "--no-progress", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **CTRL_C)
    deadline = time.monotonic() + 60
    while not (run / "metrics.csv").exists() or len(rows(run)) < rows_before + 3:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no rows within 60 s"
        time.sleep(0.1)
    return proc


def interrupt(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGINT)
    proc.communicate(timeout=60)


# -- one writer per run directory ----------------------------------------------------------
@pytest.mark.slow
def test_a_second_out_on_a_running_run_is_refused_and_the_first_run_goes_on(tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = endless(run, "--out", str(run))
    config = (run / "config.toml").read_bytes()
    second = wphil_cli("train", "--out", str(run), "--lr", "3", "--no-progress")
    assert second.returncode == 2
    assert second.stderr.count("\n") == 1 and (
        "is in use by another wphil process" in second.stderr
        or "already exists and is not empty" in second.stderr)
    assert (run / "config.toml").read_bytes() == config
    assert first.poll() is None
    interrupt(first)
    epochs = [int(r["epoch"]) for r in rows(run)]
    assert epochs == list(range(1, len(epochs) + 1))


@pytest.mark.slow
def test_a_second_resume_on_a_running_run_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert wphil_cli("train", "--out", str(run), "--epochs", "3", "--target-loss", "1e-12",
                     "--no-progress").returncode == 0
    first = endless(run, "--resume", str(run), rows_before=3)
    second = wphil_cli("train", "--resume", str(run), "--epochs", "7", "--no-progress")
    assert second.returncode == 2, second.stderr
    assert second.stderr.strip().splitlines() == [
        f"wphil: error: run directory {run} is in use by another wphil process; wait for it "
        "to finish (or stop it) and try again"]
    assert first.poll() is None
    interrupt(first)
    epochs = [int(r["epoch"]) for r in rows(run)]
    assert epochs == list(range(1, len(epochs) + 1)) and len(epochs) > 3


def test_the_lock_is_held_from_create_to_close_and_then_released(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path / "run", {"run": {}})
    with pytest.raises(wphil.ConfigError, match="in use by another wphil process"):
        RunDir.reopen(tmp_path / "run", lock=True)
    run.close()
    RunDir.reopen(tmp_path / "run", lock=True).close()
    RunDir.reopen(tmp_path / "run").close()          # readers never need the lock


def test_a_training_dropped_before_it_started_releases_its_lock(tmp_path: Path) -> None:
    import gc
    training = wphil.train(epochs=2, out=tmp_path / "run")
    with pytest.raises(wphil.ConfigError, match="in use by another wphil process"):
        RunDir.reopen(tmp_path / "run", lock=True)
    del training
    gc.collect()
    RunDir.reopen(tmp_path / "run", lock=True).close()


@pytest.mark.slow
def test_a_lock_held_elsewhere_refuses_the_start_before_it_writes(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    with FileLock(tmp_path / "run" / ".wphil.lock", timeout=0):
        proc = wphil_cli("train", "--out", str(tmp_path / "run"), "--no-progress")
    assert proc.returncode == 2 and "in use by another wphil process" in proc.stderr
    assert [p.name for p in (tmp_path / "run").iterdir()] == [".wphil.lock"]


# -- the device is opened before anything is written ----------------------------------------
def test_the_api_opens_the_device_before_it_creates_the_run_directory(tmp_path: Path) -> None:
    with pytest.raises(wphil.DeviceError, match="cannot open /dev/ttyNOPE0"):
        wphil.train(device="/dev/ttyNOPE0", out=tmp_path / "run")
    with pytest.raises(wphil.ConfigError, match="--lr nan: must be a finite number"):
        wphil.train(lr=float("nan"), out=tmp_path / "run")
    with pytest.raises(wphil.ConfigError, match="--epochs 0: must be >= 1"):
        wphil.train(epochs=0, out=tmp_path / "run")
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_a_resume_whose_device_cannot_be_opened_changes_nothing(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert wphil_cli("train", "--out", str(run), "--epochs", "3", "--target-loss", "1e-12",
                     "--no-progress").returncode == 0
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    proc = wphil_cli("train", "--resume", str(run), "--device", "/dev/ttyNOPE0", "--epochs", "5")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "--resume" not in proc.stderr            # nothing ran: no "the run is saved"
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


# -- resume continues the simulated noise exactly ---------------------------------------------
def _without_time(run: Path) -> list[dict[str, str]]:
    return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rows(run)]


@pytest.mark.slow
def test_an_interrupted_and_resumed_run_on_the_noisy_mock_is_bit_identical(tmp_path: Path) -> None:
    settings = dict(device=NOISY, epochs=14, target_loss=1e-12, batch_size=1,
                    rounding="stochastic", seed=5)
    wphil.train(**settings, out=tmp_path / "straight").wait()
    training = wphil.train(**settings, out=tmp_path / "cut")
    for record in training:
        if record.epoch == 6:
            break
    training.close()
    assert len(rows(tmp_path / "cut")) == 6
    proc = wphil_cli("train", "--resume", str(tmp_path / "cut"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert _without_time(tmp_path / "cut") == _without_time(tmp_path / "straight")
    assert np.array_equal(wphil.Run(tmp_path / "cut").codes, wphil.Run(tmp_path / "straight").codes)


@pytest.mark.slow
def test_a_killed_and_resumed_run_on_the_noisy_mock_is_bit_identical(tmp_path: Path) -> None:
    run = tmp_path / "cut"
    proc = endless(run, "--device", NOISY, "--out", str(run), "--seed", "3")
    deadline = time.monotonic() + 60
    while not (run / "checkpoint.npz").exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.5)                         # rows past the checkpoint, then kill mid-flight
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    target = len(rows(run)) + 10
    assert wphil_cli("train", "--resume", str(run), "--epochs", str(target),
                     "--no-progress").returncode == 0
    assert wphil_cli("train", "--device", NOISY, "--out", str(tmp_path / "straight"), "--seed",
                     "3", "--epochs", str(target), "--target-loss", "1e-12",
                     "--no-progress").returncode == 0
    assert _without_time(run) == _without_time(tmp_path / "straight")


@pytest.mark.slow
def test_the_noise_state_restarts_when_resumed_on_another_device(tmp_path: Path) -> None:
    settings = dict(epochs=8, target_loss=1e-12, seed=5)
    wphil.train(device=NOISY, **settings, out=tmp_path / "straight").wait()
    wphil.train(device=NOISY, **{**settings, "epochs": 4}, out=tmp_path / "cut").wait()
    proc = wphil_cli("train", "--resume", str(tmp_path / "cut"), "--epochs", "8", "--device",
                     NOISY + "&seed=9", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert _without_time(tmp_path / "cut")[4:] != _without_time(tmp_path / "straight")[4:]
    assert "the device's noise starts afresh" in (tmp_path / "cut" / "train.log").read_text()


# -- the query budget ------------------------------------------------------------------------
@pytest.mark.slow
def test_max_queries_is_the_budget_for_spsa_not_the_bench_epoch_count(tmp_path: Path) -> None:
    # spsa spends 12 queries an epoch on XOR: the bench's 500 epochs end at 6,000
    proc = wphil_cli("train", "--algo", "spsa", "--max-queries", "7000", "--target-loss",
                     "1e-12", "--target-accuracy", "1", "--out", str(tmp_path / "run"),
                     "--no-progress")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["stop_reason"] == "max_queries"
    assert 7000 <= summary["queries"] < 7000 + 12 and summary["epochs"] > 500


@pytest.mark.slow
def test_a_run_past_its_budget_says_by_how_much(tmp_path: Path) -> None:
    proc = wphil_cli("train", "--max-queries", "100", "--target-loss", "1e-12",
                     "--out", str(tmp_path / "run"), "--no-progress")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    # whole-set wp on XOR: 40 queries an epoch (its base pass is the stop check); the budget
    # of 100 is spent in epoch 3
    assert summary["stop_reason"] == "max_queries" and summary["queries"] == 120
    assert summary["max_queries"] == 100 and summary["queries_over_budget"] == 20
    assert "120 queries (20 past the --max-queries budget of 100" in proc.stdout


@pytest.mark.slow
def test_resume_with_a_budget_alone_runs_to_the_budget(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert wphil_cli("train", "--out", str(run), "--epochs", "3", "--target-loss", "1e-12",
                     "--no-progress").returncode == 0
    proc = wphil_cli("train", "--resume", str(run), "--max-queries", "300", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stop_reason"] == "max_queries" and summary["epochs"] == 8   # 40 an epoch


# -- strict JSON ---------------------------------------------------------------------------
def test_summary_json_is_strict_json_with_null_for_a_loss_never_measured(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path / "run", {"run": {}})
    state = TrainState(weights=np.zeros(9), rng_state={})
    run.write_summary({"loss": state.loss, "curve": [1.0, float("inf")], "device_stats": {}})
    text = (tmp_path / "run" / "summary.json").read_text()
    summary = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert summary["loss"] is None and summary["curve"] == [1.0, None]


# -- profiles through the firmware ------------------------------------------------------------
@pytest.mark.slow
def test_the_harsh_profile_on_the_firmware_matches_the_mock_code_for_code(tmp_path: Path) -> None:
    """8-bit DACs on the 12-bit MCP4728 by code scaling: the same physics as mock:// (the two
    simulations agree within an ADC LSB, so the losses agree closely, not bit for bit)."""
    for url, name in (("upy://?noise=0", "upy"), ("mock://?noise=0", "mock")):
        proc = wphil_cli("train", "--profile", "harsh", "--device", url, "--epochs", "4",
                         "--target-loss", "1e-12", "--out", str(tmp_path / name), "--no-progress")
        assert proc.returncode == 0, proc.stderr
    upy, mock = wphil.Run(tmp_path / "upy"), wphil.Run(tmp_path / "mock")
    assert np.allclose(upy.metrics["loss"], mock.metrics["loss"], rtol=0.01)
    assert np.array_equal(upy.metrics["accuracy"], mock.metrics["accuracy"])
    assert np.abs(upy.codes - mock.codes).max() <= 1 and upy.codes.max() <= 255


@pytest.mark.slow
@pytest.mark.parametrize("onchip", [[], ["--onchip"]], ids=["host-loop", "onchip"])
def test_sigterm_saves_the_run_exits_143_and_stops_the_board_it_started(
        tmp_path: Path, onchip: list[str]) -> None:
    """SIGTERM (a scheduler's or `kill`'s) is handled like Ctrl-C: Python's default would end
    the process at once, leaving the firmware's process (upy://) running and the run's last
    epoch unsaved. Stopped on chip, the board still ends in its safe state: the firmware
    answers BUSY until the stopped run ends, and close waits for that (no warning)."""
    run = tmp_path / "run"
    proc = endless(run, "--device", "upy://", "--out", str(run), *onchip)
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                              text=True).stdout.split()
    assert children, "upy:// started no board process"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.strip().splitlines() == [
        "wphil: terminated (a run directory continues with --resume DIR)"], err
    assert not [c for c in children if Path(f"/proc/{c}").exists()]
    epochs = [int(r["epoch"]) for r in rows(run)]
    assert epochs == list(range(1, len(epochs) + 1)) and len(epochs) >= 3
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs"] == len(epochs)
