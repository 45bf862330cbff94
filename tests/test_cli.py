"""The `wphil` command line, run as users run it: in a subprocess."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def wphil(*args: str, cwd: Path | None = None, check: bool = False) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "wphil", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def epochs_of(run: Path) -> list[int]:
    with open(run / "metrics.csv") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


@pytest.mark.slow
def test_train_with_no_options_learns_xor_and_writes_the_run_directory(tmp_path: Path) -> None:
    proc = wphil("train", cwd=tmp_path, check=True)
    (run,) = (tmp_path / "runs").iterdir()
    assert {p.name for p in run.iterdir()} >= {"config.toml", "metrics.csv", "summary.json",
                                               "checkpoint.npz", "weights.npz", "train.log"}
    summary = json.loads((run / "summary.json").read_text())
    assert summary["converged"] and summary["accuracy"] == 1.0 and summary["task"] == "xor"
    assert set(summary) >= {"task", "algo", "device", "epochs", "queries", "loss", "accuracy",
                            "converged", "wall_s"}
    assert epochs_of(run) == list(range(1, summary["epochs"] + 1))
    assert proc.stdout.startswith("converged at epoch") and proc.stderr == ""


@pytest.mark.slow
def test_eval_remeasures_a_finished_run(tmp_path: Path) -> None:
    wphil("train", "--out", str(tmp_path / "run"), check=True)
    result = json.loads(wphil("eval", str(tmp_path / "run"), "--json", check=True).stdout)
    assert result["accuracy"] == 1.0 and len(result["patterns"]) == 4
    assert "accuracy 100.0%" in wphil("eval", str(tmp_path / "run"), check=True).stdout


@pytest.mark.slow
def test_info_json_describes_the_device() -> None:
    info = json.loads(wphil("info", "--json", check=True).stdout)
    assert info["backend"] == "mock" and info["layers"] == [2, 2, 1]


@pytest.mark.parametrize("args,message", [
    (["train", "--device", "nope://"], "unknown device URL scheme 'nope'"),
    (["train", "--bench", "missing.toml"], "bench file not found: missing.toml"),
    (["train", "--bench", "{bad_key}"], "[dac] speed: unknown key; valid keys: kind, chips"),
    (["train", "--bench", "{bad_range}"], "[adc] oversample: 0 is out of range: must be in 1..256"),
    (["train", "--lr", "-1"], "Invalid value for '--lr': -1.0 is not in the range 0.0<x<=1000000.0"),
    (["train", "--task", "iris"], "task iris needs 4 inputs and 3 outputs"),
    (["train", "--algo", "magic"], "'magic' is not one of"),
    (["train", "--resume", "{tmp}/nothing"], "is not a run directory"),
    (["eval", "{tmp}"], "is not a run directory"),
    (["train", "--onchip"], "--onchip: mock:// cannot run the perturbation loop itself"),
    (["train", "--device", "upy://", "--onchip", "--algo", "spsa"],
     "--onchip runs the firmware's own loop, which is wp"),
    (["train", "--log-wire", "{tmp}/no/such/dir/wire.log"], "cannot write"),
])
@pytest.mark.slow
def test_bad_input_gives_one_clear_line_and_exit_code_2(tmp_path: Path, args: list[str],
                                                        message: str) -> None:
    text = (ROOT / "bench" / "xor-2-2-1.toml").read_text()
    (tmp_path / "key.toml").write_text(text.replace("chips = 3", "speed = 1\nchips = 3"))
    (tmp_path / "range.toml").write_text(text.replace("oversample = 4", "oversample = 0"))
    (tmp_path / "nothing").mkdir()
    subs = {"{bad_key}": str(tmp_path / "key.toml"), "{bad_range}": str(tmp_path / "range.toml"),
            "{tmp}": str(tmp_path)}
    args = [subs.get(a, a.replace("{tmp}", str(tmp_path))) for a in args]
    proc = wphil(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("wphil: error: ")
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_resume_refuses_to_change_what_defines_the_run(tmp_path: Path) -> None:
    wphil("train", "--out", str(tmp_path / "run"), "--epochs", "3", "--target-loss", "1e-9",
          check=True)
    proc = wphil("train", "--resume", str(tmp_path / "run"), "--lr", "2")
    assert proc.returncode == 2 and "--lr cannot be changed on --resume" in proc.stderr


@pytest.mark.slow
def test_resume_extends_a_finished_run_without_gaps(tmp_path: Path) -> None:
    run = tmp_path / "run"
    wphil("train", "--out", str(run), "--epochs", "5", "--target-loss", "1e-9", check=True)
    wphil("train", "--resume", str(run), "--epochs", "9", check=True)
    assert epochs_of(run) == list(range(1, 10))
    assert json.loads((run / "summary.json").read_text())["epochs"] == 9


def train_then_kill_9(run: Path, *args: str, after_checkpoint_s: float) -> None:
    """Start an endless `wphil train`, let it run past its first checkpoint, kill -9 it."""
    cmd = [sys.executable, "-m", "wphil", "train", "--out", str(run), "--epochs", "1000000",
           "--target-loss", "1e-12", "--no-progress", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (run / "checkpoint.npz").exists():
        time.sleep(0.1)
    time.sleep(after_checkpoint_s)   # let rows run past the checkpoint, then kill mid-flight
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_kill_9_then_resume_leaves_every_epoch_exactly_once(tmp_path: Path) -> None:
    run = tmp_path / "run"
    # parity4 with an unreachable loss target: runs until killed, checkpoints every second
    train_then_kill_9(run, "--bench", "parity4", after_checkpoint_s=1.7)
    killed_at = epochs_of(run)
    assert len(killed_at) > 10 and not (run / "summary.json").exists()
    target = killed_at[-1] + 20
    wphil("train", "--resume", str(run), "--epochs", str(target), check=True)
    assert epochs_of(run) == list(range(1, target + 1))
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs"] == target and summary["stop_reason"] == "max_epochs"
    log = (run / "train.log").read_text()
    assert "metric rows written after the last checkpoint were dropped" in log
