"""Bad input, as a user gives it: one clear line, exit code 2 for the user's mistake (1 only
for a device that cannot be reached), no traceback, no run directory left behind by a
failed start, and nothing changed in a run directory that was already there.

One table, run through the `wphil` entry point (`wphil.cli.main`, what the console script
calls) in this process, to spare an interpreter start per row; tests/test_cli.py runs the
same error path in a subprocess. Each row names the input, the exit code and a piece of
the line it must print.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import shutil
import socket
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from wphil.cli import main

ROOT = Path(__file__).resolve().parents[1]


def wphil(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `wphil ARGS` in `cwd`: its exit code and what it printed."""
    root = logging.getLogger()
    handlers, level, here = list(root.handlers), root.level, os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    code = 0
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                warnings.catch_warnings():
            warnings.simplefilter("default")     # a numpy warning would print, as in a shell
            main(list(args))
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os.chdir(here)
        for handler in set(root.handlers) - set(handlers):   # the CLI's stderr handler
            root.removeHandler(handler)
        root.setLevel(level)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def _closed_port() -> int:
    """A TCP port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- new runs: the start fails, and no run directory (nor runs/) may appear ------------------
def _csv(text: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / "data.csv").write_text(text)


def _binary(name: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).write_bytes(bytes(range(256)) * 4)


XOR_CSV = "a,b,label\n0,0,even\n0,1,odd\n1,0,odd\n1,1,even\n"

NEW_RUN = [
    # (id, args, setup, exit code, message)
    ("lr-nan", ["--lr", "nan"], None, 2, "'--lr': nan is not a finite number"),
    ("lr-inf", ["--lr", "inf"], None, 2, "'--lr': inf is not a finite number"),
    ("pert-inf", ["--pert", "inf"], None, 2, "'--pert': inf is not a finite number"),
    ("target-accuracy-nan", ["--target-accuracy", "nan"], None, 2,
     "'--target-accuracy': nan is not a finite number"),
    ("target-loss-inf", ["--target-loss", "inf"], None, 2, "'--target-loss': inf is not a finite"),
    ("momentum-nan", ["--momentum", "nan"], None, 2, "'--momentum': nan is not a finite number"),
    ("init-scale-inf", ["--init-scale", "inf"], None, 2, "'--init-scale': inf is not a finite"),
    ("pert-beyond-the-dac", ["--pert", "100"], None, 2,
     "--pert 100 is 51164 DAC codes, more than half the code limits 0..4095 allow"),
    ("mock-noise-nan", ["--device", "mock://?noise=nan"], None, 2,
     "option noise='nan' must be a finite number"),
    ("mock-drift-inf", ["--device", "mock://?drift=inf"], None, 2,
     "option drift='inf' must be a finite number"),
    ("mock-noise-negative", ["--device", "mock://?noise=-1"], None, 2,
     "option noise='-1' must be a number >= 0"),
    ("mock-seed-negative", ["--device", "mock://?seed=-1"], None, 2,
     "option seed='-1' must be an integer >= 0"),
    ("upy-timeout-zero", ["--device", "upy://?timeout=0"], None, 2,
     "option timeout='0' must be a number >= 0.048"),
    ("upy-noise-nan", ["--device", "upy://?noise=nan"], None, 2,
     "option noise='nan' must be a finite number"),
    ("upy-timeout-inf", ["--device", "upy://?timeout=inf"], None, 2,
     "option timeout='inf' must be a finite number"),
    ("serial-reconnect-nan", ["--device", "serial:///dev/ttyACM9?reconnect=nan"], None, 2,
     "option reconnect='nan' must be a finite number"),
    ("fault-rate-nan", ["--device", "upy://?faults=drop:nan"], None, 2, "fault drop: nan"),
    ("csv-nan", ["--task", "data.csv"], _csv(XOR_CSV.replace("0,1,odd", "nan,1,odd")), 2,
     "data.csv: row 2 column 1: 'nan' is not a finite number"),
    ("csv-inf", ["--task", "data.csv"], _csv(XOR_CSV.replace("1,0,odd", "1,-inf,odd")), 2,
     "data.csv: row 3 column 2: '-inf' is not a finite number"),
    ("csv-binary", ["--task", "data.csv"], _binary("data.csv"), 2, "not a text CSV file"),
    ("bench-binary", ["--bench", "bench.toml"], _binary("bench.toml"), 2,
     "bench.toml: not a text TOML file"),
    ("out-under-a-file", ["--out", "afile/run"], lambda tmp: (tmp / "afile").write_text("x"), 2,
     "--out afile/run: afile is a file, not a directory"),
    ("out-is-a-file", ["--out", "afile"], lambda tmp: (tmp / "afile").write_text("x"), 2,
     "is a file"),
    ("onchip-batch-size", ["--device", "upy://", "--onchip", "--batch-size", "4"], None, 2,
     "--batch-size 4: --onchip runs the firmware's per-pattern loop"),
    ("ideal-profile-on-the-firmware", ["--device", "upy://", "--profile", "ideal"], None, 2,
     "16-bit DACs; the firmware drives 12-bit MCP4728s"),
    ("onchip-on-a-scaled-dac", ["--device", "upy://", "--profile", "harsh", "--onchip"], None, 2,
     "--onchip: the firmware's loop steps whole 12-bit codes"),
    # a device that cannot be opened is a device error (exit 1), and still writes nothing
    ("mistyped-port", ["--device", "/dev/ttyNOPE0"], None, 1, "cannot open /dev/ttyNOPE0"),
    ("refused-socket", ["--device", "socket://127.0.0.1:{port}"], None, 1, "Connection refused"),
]


@pytest.mark.parametrize("args, setup, code, message",
                         [row[1:] for row in NEW_RUN], ids=[row[0] for row in NEW_RUN])
def test_a_bad_new_run_is_one_line_and_leaves_no_run_directory(
        tmp_path: Path, args: list[str], setup: Callable[[Path], None] | None, code: int,
        message: str) -> None:
    if setup:
        setup(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    args = [a.replace("{port}", str(_closed_port())) for a in args]
    proc = wphil("train", "--no-progress", *args, cwd=tmp_path)
    _assert_one_line(proc, code, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == before      # no runs/, no --out


def test_auto_with_no_pico_leaves_no_run_directory(tmp_path: Path) -> None:
    from wphil.drivers.errors import DeviceError
    from wphil.drivers.ports import find_pico
    try:
        find_pico()
        pytest.skip("a Pico is plugged in")
    except DeviceError:
        pass
    proc = wphil("train", "--device", "auto", "--out", "run", cwd=tmp_path)
    _assert_one_line(proc, 1, "no Raspberry Pi Pico found")
    assert not any(tmp_path.iterdir())


# -- an existing run: refused in one line, and not one byte of it changes --------------------
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("finished") / "run"
    proc = wphil("train", "--out", str(run), "--epochs", "6", "--target-loss", "1e-9",
                 "--no-progress", cwd=run.parent)
    assert proc.returncode == 0, proc.stderr
    return run


def _garbage(name: str) -> Callable[[Path], None]:
    return lambda run: (run / name).write_bytes(b"garbage\n" * 10)


def _truncated(name: str) -> Callable[[Path], None]:
    def cut(run: Path) -> None:
        data = (run / name).read_bytes()
        (run / name).write_bytes(data[:len(data) // 2])
    return cut


def _edit_metrics(edit: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
    def apply(run: Path) -> None:
        lines = (run / "metrics.csv").read_text().splitlines()
        (run / "metrics.csv").write_text("\n".join(edit(lines)) + "\n")
    return apply


def _wrong_shape_codes(run: Path) -> None:
    with np.load(run / "weights.npz") as z:
        weights, codes, layers = z["weights"], z["codes"], z["layers"]
    np.savez(run / "weights.npz", weights=weights[:5], codes=codes[:5], layers=layers)


RESUME = ["train", "--resume", "{run}", "--epochs", "9", "--no-progress"]

EXISTING_RUN = [
    ("checkpoint-garbage", RESUME, _garbage("checkpoint.npz"), "checkpoint.npz: not a readable "
     "checkpoint (not a NumPy .npz archive)"),
    ("checkpoint-truncated", RESUME, _truncated("checkpoint.npz"), "not a readable checkpoint"),
    ("metrics-garbage", RESUME, _garbage("metrics.csv"), "metrics.csv: line 1 is not the "
     "metrics header"),
    ("metrics-binary", RESUME, _binary("metrics.csv"), "metrics.csv: not a metrics table (not "
     "UTF-8 text)"),
    ("metrics-row-garbage", RESUME, _edit_metrics(lambda ls: ls[:3] + ["4,x,y,z,1,2,3"] + ls[4:]),
     "metrics.csv: line 4 is not a metrics row"),
    ("metrics-rows-lost", RESUME, _edit_metrics(lambda ls: ls[:2] + ls[4:]),
     "has epochs 1..6, but the checkpoint is at epoch 6: rows are missing or repeated"),
    ("summary-garbage", RESUME, _garbage("summary.json"), "summary.json: not readable JSON"),
    ("config-garbage", RESUME, _garbage("config.toml"), "config.toml: not valid TOML"),
    ("config-binary", RESUME, _binary("config.toml"), "config.toml: not valid TOML (not UTF-8"),
    ("resume-lr-nan", ["train", "--resume", "{run}", "--target-loss", "nan"], None,
     "'--target-loss': nan is not a finite number"),
    ("eval-weights-garbage", ["eval", "{run}"], _garbage("weights.npz"),
     "weights.npz: not a readable weights file"),
    ("eval-weights-truncated", ["eval", "{run}"], _truncated("weights.npz"),
     "not a readable weights file"),
    ("eval-codes-wrong-shape", ["eval", "{run}"], _wrong_shape_codes,
     "weights.npz: 5 codes, but the run's bench xor-2-2-1 has 9 weights"),
    ("plot-out-txt", ["plot", "{run}", "--out", "{tmp}/x.txt"], None,
     "the plot is written as .png, .pdf, .svg"),
    ("plot-out-under-a-file", ["plot", "{run}", "--out", "{run}/metrics.csv/x.png"], None,
     "is not a directory"),
    ("plot-metrics-garbage", ["plot", "{run}"], _garbage("metrics.csv"), "not the metrics header"),
]


@pytest.mark.parametrize("args, damage, message", [row[1:] for row in EXISTING_RUN],
                         ids=[row[0] for row in EXISTING_RUN])
def test_a_bad_file_or_option_on_an_existing_run_is_one_line_and_changes_nothing(
        finished_run: Path, tmp_path: Path, args: list[str],
        damage: Callable[[Path], None] | None, message: str) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    if damage:
        damage(run)
    before = _digest(run)
    args = [a.replace("{run}", str(run)).replace("{tmp}", str(tmp_path)) for a in args]
    proc = wphil(*args, cwd=tmp_path)
    _assert_one_line(proc, 2, message)
    assert _digest(run) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def _digest(run: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run.iterdir()) if p.is_file()}


def _assert_one_line(proc: subprocess.CompletedProcess, code: int, message: str) -> None:
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]
    assert lines[0].startswith("wphil: error: " if code == 2 else "wphil: device error: ")
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "Warning" not in proc.stderr
