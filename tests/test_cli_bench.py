"""`wphil bench learn`, `wphil plot` and the new rules on `wphil train`, run as users run them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.test_cli import wphil

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_bench_learn_on_a_tiny_grid_prints_the_table_and_writes_json_and_png(tmp_path) -> None:
    out = tmp_path / "learn"
    proc = wphil("bench", "learn", "--tasks", "xor", "--rules", "wp,node,spsa,offline,cma-es",
                 "--seeds", "2", "--max-queries", "4000", "--out", str(out), "--no-progress",
                 check=True)
    # the table, not convergence, is pinned here (4,000 queries is a tight budget)
    assert re.search(r"\| xor \| node \| in-loop \| [0-2]/2 \|", proc.stdout)
    assert "- speed, xor (default): best wphil rule" in proc.stdout
    report = json.loads((out / "learn.json").read_text())
    assert len(report["runs"]) == 10 and report["budgets"] == {"xor": 4000}
    assert {r["rule"] for r in report["summary"]} == {"wp", "node", "spsa", "offline", "cma-es"}
    assert all(r["queries"] <= 4000 + 44 for r in report["runs"] if r["rule"] == "wp")
    assert set(report["curves"]["default"]["xor"]) >= {"queries", "wp", "cma-es"}
    assert (out / "learn.md").read_text() in proc.stdout
    assert (out / "learn.png").read_bytes().startswith(PNG)


def test_bench_learn_marks_node_not_applicable_where_hidden_units_are_not_read(tmp_path) -> None:
    proc = wphil("bench", "learn", "--tasks", "parity4", "--rules", "node", "--seeds", "1",
                 "--out", str(tmp_path), "--no-progress", check=True)
    assert "| parity4 | node | in-loop | n/a (bench parity4 cannot read its hidden units)" \
        in proc.stdout


@pytest.mark.parametrize("args,message", [
    (["bench", "learn", "--rules", "wp,adam"], "unknown rule 'adam' for bench learn; valid: wp,"),
    (["bench", "learn", "--tasks", "mnist"], "unknown task 'mnist' for bench learn; valid: xor,"),
    (["bench", "learn", "--profile", "rough"], "unknown profile 'rough'"),
    (["bench", "tune", "--tasks", "mnist", "--out", "{tmp}/tune"],
     "unknown task 'mnist' for bench tune; valid: xor,"),
    (["train", "--algo", "mgd", "--rule-option", "tau_p=0"],
     "rule mgd: option tau_p='0' is out of range: must be in 1..1e+06"),
    (["train", "--algo", "spsa", "--rule-option", "alpha"], "NAME=VALUE"),
    (["train", "--bench", "parity4", "--algo", "node"], "node needs the hidden units read back"),
    (["plot", "{tmp}"], "is not a run directory"),
])
def test_bad_input_to_the_new_commands_is_one_line_and_exit_2(tmp_path, args, message) -> None:
    proc = wphil(*[a.replace("{tmp}", str(tmp_path)) for a in args], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_train_with_a_rule_option_records_it_and_plot_draws_the_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    wphil("train", "--algo", "mgd", "--rule-option", "code=walsh", "--rule-option",
          "tau_theta=16", "--out", str(run), "--no-progress", check=True)
    config = (run / "config.toml").read_text()
    assert 'algo = "mgd"' in config and 'code = "walsh"' in config and "tau_theta = 16" in config
    proc = wphil("plot", str(run), check=True)
    assert proc.stdout.strip() == f"wrote {run / 'learning_curve.png'}"
    assert (run / "learning_curve.png").read_bytes().startswith(PNG)


@pytest.mark.slow
def test_offline_run_directory_ends_with_the_transfer_and_can_be_plotted(tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = wphil("train", "--algo", "offline", "--profile", "harsh", "--out", str(run),
                 "--no-progress", check=True)
    assert proc.stdout.startswith("stopped (transferred)")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["queries"] == 4 and summary["stop_reason"] == "transferred"
    wphil("plot", str(run), "--out", str(tmp_path / "curve.png"), check=True)
    assert (tmp_path / "curve.png").read_bytes().startswith(PNG)


@pytest.mark.slow
def test_a_stopped_grid_resumes_without_running_finished_runs_again(tmp_path: Path) -> None:
    out = tmp_path / "grid"
    args = ["bench", "learn", "--tasks", "xor", "--rules", "wp,spsa", "--seeds", "2",
            "--max-queries", "3000", "--no-progress", "--out", str(out)]
    wphil(*args, check=True)
    lines = (out / "runs.jsonl").read_text().splitlines()
    assert len(lines) == 4
    # as if stopped after two runs, the last line cut off half-way
    (out / "runs.jsonl").write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])
    wphil(*args, "--resume", check=True)
    after = (out / "runs.jsonl").read_text().splitlines()
    assert len(after) == 4 and all(json.loads(x) for x in after)     # the torn line is gone
    runs = [json.loads(x) for x in after[:2]]
    report = json.loads((out / "learn.json").read_text())
    assert len(report["runs"]) == 4
    kept = [r for r in report["runs"] if (r["rule"], r["seed"]) in
            {(x["rule"], x["seed"]) for x in runs}]
    assert [r["wall_s"] for r in kept] == [r["wall_s"] for r in runs]   # not run again
    proc = wphil("bench", "learn", "--resume", "--quick")
    assert proc.returncode == 2 and "--resume needs the --out directory" in proc.stderr
