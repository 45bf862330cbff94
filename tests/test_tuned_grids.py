"""bench/tuned_grids.sh, driven with a stand-in `wphil` that only records its arguments."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "tuned_grids.sh"

# records each call; `bench tune` and `bench learn` make their --out folder, as wphil does
FAKE_WPHIL = """#!/bin/sh
echo "$*" >> "$CALLS"
while [ $# -gt 0 ]; do [ "$1" = --out ] && mkdir -p "$2"; shift; done
"""


def _run(tmp_path: Path, *args: str, steps: str) -> subprocess.CompletedProcess:
    fake = tmp_path / "wphil"
    fake.write_text(FAKE_WPHIL)
    fake.chmod(0o755)
    env = {**os.environ, "WPHIL": str(fake), "STEPS": steps, "CALLS": str(tmp_path / "calls")}
    return subprocess.run(["sh", str(SCRIPT), *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)


def _tuned(tmp_path: Path, *dirs: str) -> None:
    for d in dirs:
        folder = tmp_path / "bench" / "results" / d
        folder.mkdir(parents=True)
        (folder / "tuned.json").write_text("{}")
        (folder / "runs.jsonl").write_text("")


def test_a_narrowed_step_list_still_writes_the_table_of_every_tuned_task(tmp_path: Path) -> None:
    """Regression: the twin redo ran the xor and parity4 steps only, and the tables it
    rewrote had lost iris."""
    _tuned(tmp_path, "tuning-heldout-xor", "tuning-heldout-iris-core",
           "tuning-heldout-parity4-core")
    done = _run(tmp_path, "mock", steps="parity4:core")
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert [c.split()[:4] for c in calls[:2]] == [
        ["bench", "tune", "--tasks", "parity4"], ["bench", "tune", "--tasks", "parity4"]]
    (report,) = [c for c in calls if "--report-only" in c]
    assert "--tasks xor,iris,parity4 " in report
    for d in ("xor", "iris-core", "parity4-core"):
        assert f"--settings bench/results/tuning-heldout-{d}/tuned.json" in report


def test_a_table_without_its_runs_is_not_started_afresh(tmp_path: Path) -> None:
    table = tmp_path / "bench" / "results" / "learn-spice-tuned"
    table.mkdir(parents=True)
    (table / "learn.json").write_text("{}")
    done = _run(tmp_path, steps="xor:all")
    assert done.returncode == 2
    assert "learn-spice-tuned/runs.jsonl does not" in done.stderr
    assert not (tmp_path / "calls").exists()                  # nothing ran
