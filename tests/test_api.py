"""The public API as a researcher meets it: the documented example runs as written, the
examples/ scripts run (fast settings), and `wphil.train` / `wphil.Run` keep their promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import wphil

ROOT = Path(__file__).resolve().parents[1]


def _readme_api_example() -> str:
    text = (ROOT / "docs" / "guide" / "python-api.md").read_text(encoding="utf-8")
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


@pytest.mark.slow
def test_readme_api_example_runs_as_written(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _readme_api_example()], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "converged" in proc.stdout and (tmp_path / "runs" / "api-demo" / "summary.json").exists()


@pytest.mark.parametrize("script, args, expect", [
    ("train_and_plot.py", ["--seed", "2"], "learning curve: "),
    ("compare_rules.py", ["--seeds", "2", "--max-queries", "20000"], "| wp | "),
    ("evaluate_elsewhere.py", ["--boards", "2,3"], "on mock://?board_seed=3"),
])
@pytest.mark.slow
def test_examples_run(tmp_path: Path, script: str, args: list[str], expect: str) -> None:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert expect in proc.stdout


def test_train_yields_each_epoch_and_the_run_reads_back_the_same(tmp_path: Path) -> None:
    training = wphil.train(device="mock://", bench="xor-2-2-1", seed=3, out=tmp_path / "run")
    records = list(training)
    assert training.summary is not None and training.summary["epochs"] == records[-1].epoch
    run = wphil.Run(tmp_path / "run")
    assert list(run.metrics["epoch"]) == [r.epoch for r in records]
    assert np.allclose(run.metrics["loss"], [r.loss for r in records], rtol=1e-5)
    assert run.metrics.dtype["queries"] == np.int64
    assert run.records[-1]["queries"] == records[-1].queries == training.summary["queries"]
    assert run.weights.shape == (9,) and run.codes.dtype.kind == "i"


@pytest.mark.slow
def test_breaking_out_of_the_loop_saves_a_resumable_run(tmp_path: Path) -> None:
    training = wphil.train(seed=4, out=tmp_path / "run")
    for record in training:
        if record.epoch == 3:
            break
    training.close()
    run = wphil.Run(tmp_path / "run")
    assert run.summary["stop_reason"] == "stopped by the caller" and run.summary["epochs"] == 3
    assert len(run.metrics) == 3
    proc = subprocess.run([sys.executable, "-m", "wphil", "train", "--resume", str(tmp_path / "run"),
                           "--no-progress"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert list(wphil.Run(tmp_path / "run").metrics["epoch"]) == list(
        range(1, wphil.Run(tmp_path / "run").summary["epochs"] + 1))


def test_bad_settings_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(wphil.ConfigError, match="unknown training setting 'learning_rate'"):
        wphil.train(out=tmp_path / "a", learning_rate=0.1)
    with pytest.raises(wphil.ConfigError, match="unknown device URL scheme"):
        wphil.train(device="nope://", out=tmp_path / "b")
    with pytest.raises(wphil.ConfigError, match="bench file not found"):
        wphil.train(bench="no-such-bench", out=tmp_path / "c")
    assert not any(tmp_path.iterdir())


def test_open_device_takes_a_bench_name() -> None:
    with wphil.open_device("mock://", "parity4") as device:
        assert device.info().to_dict()["layers"] == [4, 4, 1]
