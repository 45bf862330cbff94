"""The first hour of a new user (issue 22): each surprise a fresh clone gave, pinned.

Most run the CLI in-process through its entry point (`wphil.cli.main`: the same error
handling, exit codes and one-line messages as the installed command, without a new Python
per case); what depends on a fresh process (warnings, stderr) runs in a subprocess.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

import wphil
from tests.test_cli import wphil as wphil_process
from wphil.cli import main
from wphil.cli.progress import EpochProgress
from wphil.learning import EpochRecord

ROOT = Path(__file__).resolve().parents[1]


def cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """Run `wphil ARGS` in-process: (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def status_lines(monkeypatch: pytest.MonkeyPatch,
                 caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """What the wphil.status logger says (the CLI, run in-process earlier, stops it
    propagating to the root logger, where caplog listens)."""
    monkeypatch.setattr(logging.getLogger("wphil.status"), "propagate", True)
    caplog.set_level(logging.INFO, "wphil.status")
    return caplog


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# -- first runs -------------------------------------------------------------------------

@pytest.mark.parametrize("bench", [
    "xor-2-2-1", "iris", "parity4",
    # ~8 s alone; oscillator-2 (unchanged defaults, 9/10 seeds, ~5 s) is left to first_runs.py
    pytest.param("delayed-xor", marks=pytest.mark.slow),
])
def test_each_shipped_bench_default_run_reaches_its_target(
        bench: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # seeds 0-9 are measured by bench/first_runs.py (bench/results/first_runs.md); the
    # default seed is the one a user meets first
    code, out, err = cli(capsys, "train", "--bench", bench, "--out", str(tmp_path / "run"),
                         "--no-progress")
    assert code == 0, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["converged"] and out.startswith("converged at epoch")


def test_a_trajectory_run_reports_its_rms_error_against_its_target_not_an_accuracy(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = cli(capsys, "train", "--bench", "oscillator-2", "--epochs", "2",
                       "--out", str(tmp_path / "run"), "--no-progress")
    assert code == 0
    # the bench's target_loss 0.0025 V^2 is 50 mV RMS, 62 LSB of the 12-bit 3.3 V ADC
    assert "ADC LSB over the trajectory (target 50 mV = 62 ADC LSB)" in out
    assert "accuracy" not in out
    code, out, _ = cli(capsys, "eval", str(tmp_path / "run"))
    assert code == 0 and "RMS error" in out and "accuracy" not in out


def test_eval_measures_a_recurrent_run_step_by_step(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cli(capsys, "train", "--bench", "delayed-xor", "--epochs", "2", "--out",
        str(tmp_path / "run"), "--no-progress")
    code, out, err = cli(capsys, "eval", str(tmp_path / "run"), "--json")
    assert code == 0, err
    result = json.loads(out)
    (sequence,) = result["sequences"]
    assert sequence["scored"] == 19 and 0 <= sequence["right"] <= 19
    assert result["accuracy"] == pytest.approx(sequence["right"] / 19)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert result["loss"] == pytest.approx(summary["loss"], rel=0.2)
    code, out, _ = cli(capsys, "eval", str(tmp_path / "run"))
    assert code == 0 and "steps right" in out and "evaluate_sequence" not in out


def test_the_api_example_runs_twice_with_overwrite_and_its_refusal_speaks_api(
        tmp_path: Path) -> None:
    out = tmp_path / "runs" / "api-demo"
    for _ in range(2):
        training = wphil.train(device="mock://?board_seed=3", bench="xor-2-2-1", algo="wp",
                               seed=1, out=out, overwrite=True)
        assert training.wait()["converged"]
    assert wphil.Run(out).summary["converged"]
    with pytest.raises(wphil.ConfigError) as refused:
        wphil.train(out=out)
    assert "overwrite=True" in str(refused.value) and "--" not in str(refused.value)


def test_overwrite_replaces_only_a_run_directory_and_not_when_the_device_fails(
        tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(wphil.ConfigError, match="not a run directory"):
        wphil.train(out=mine, overwrite=True)
    assert (mine / "notes.txt").read_text() == "keep me"
    run = tmp_path / "run"
    wphil.train(out=run).wait()
    before = (run / "summary.json").read_bytes()
    with pytest.raises(wphil.WphilError):
        wphil.train(device="/dev/wphil-no-such-port", out=run, overwrite=True)
    assert (run / "summary.json").read_bytes() == before


# -- waits and noise --------------------------------------------------------------------

@pytest.mark.slow
def test_devices_writes_nothing_to_stderr_and_says_it_searches_before_it_waits() -> None:
    proc = wphil_process("devices")
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    searching = next(i for i, line in enumerate(lines) if "searching" in line)
    assert all(not line.startswith("VISA resources (") for line in lines[:searching])


def test_third_party_warnings_are_filtered_by_category_and_module(
        caplog: pytest.LogCaptureFixture) -> None:
    from wphil.lab.devices import _pass_on

    def caught(message: str, category: type[Warning], filename: str):
        return warnings.WarningMessage(message, category, filename, 1)

    pyvisa_py = caught("install psutil", UserWarning, "/site/pyvisa_py/tcpip.py")
    elsewhere = caught("wphil should hear this", UserWarning, "/site/other/mod.py")
    deprecated = caught("pyvisa_py API change", DeprecationWarning, "/site/pyvisa_py/x.py")
    with caplog.at_level(logging.DEBUG, "wphil.lab.devices"), \
            warnings.catch_warnings(record=True) as passed:
        warnings.simplefilter("always")
        _pass_on([pyvisa_py, elsewhere, deprecated])
    assert [str(w.message) for w in passed] == ["wphil should hear this", "pyvisa_py API change"]
    assert "install psutil" in caplog.text


def test_a_run_without_a_terminal_says_how_it_goes_after_half_a_second(
        monkeypatch: pytest.MonkeyPatch, status_lines: pytest.LogCaptureFixture) -> None:
    times = [100.0, 100.2, 100.7, 101.0, 101.2]          # made, epochs 1, 2 (a line), 3
    monkeypatch.setattr("wphil.cli.progress.time", SimpleNamespace(monotonic=lambda: times.pop(0)))
    progress = EpochProgress(1200, disable=False)      # pytest's stderr is no terminal
    records = [EpochRecord(n, 260 * n, 0.3, 0.5, 0.1 * n, 0.3, 0.0)
               for n in (1, 2, 3)]
    for record in records:
        progress.update(record)
    lines = [r.getMessage() for r in status_lines.records if r.name == "wphil.status"]
    assert lines == ["training: epoch 2 of at most 1,200, acc 50.0%, 520 queries"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_no_eta_against_the_epoch_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with EpochProgress(3000) as progress:
        progress.update(EpochRecord(59, 2360, 0.02, 1.0, 0.5, 0.02, 0.0))
    shown = terminal.getvalue()
    assert "59/3000 epochs at most" in shown and "<" not in shown and "?" not in shown


def test_a_booting_emulated_pico_says_so_before_it_waits(
        monkeypatch: pytest.MonkeyPatch, status_lines: pytest.LogCaptureFixture,
        tmp_path: Path) -> None:
    from wphil.drivers import rp2040_pico

    def no_emulator(*args, **kwargs):
        raise OSError("stop here: the line must come before the wait")
    monkeypatch.setattr(rp2040_pico.subprocess, "Popen", no_emulator)
    with pytest.raises(OSError):
        rp2040_pico.EmulatedPico({"state": str(tmp_path)}).start()
    assert any("starting the emulated Pico" in r.getMessage() for r in status_lines.records)


# -- the emulator's npm dependency --------------------------------------------------------

FAKE_NPM = """#!/bin/sh
# npm ci --no-audit --no-fund --prefix HOME: what npm leaves behind, from the lock file
home="$5"; test -f "$home/package-lock.json" || exit 1
mkdir -p "$home/node_modules/rp2040js"
echo '{"version": "1.4.1"}' > "$home/node_modules/rp2040js/package.json"
"""


def test_emulator_install_puts_rp2040js_in_the_user_cache_where_rp2040_finds_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from wphil.drivers import rp2040_pico

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text(FAKE_NPM)
    (bin_dir / "npm").chmod(0o755)
    package = tmp_path / "site-packages" / "rp2040js"       # as installed: no node_modules
    package.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        (package / name).write_bytes((rp2040_pico.HARNESS / name).read_bytes())
    monkeypatch.setattr(rp2040_pico, "HARNESS", package)
    monkeypatch.setattr("wphil.lab.emulator.HARNESS", package)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("WPHIL_RP2040JS", raising=False)
    assert "wphil emulator install" in (rp2040_pico.missing() or "")
    code, out, err = cli(capsys, "emulator", "install")
    assert code == 0, err
    home = tmp_path / "cache" / "wphil" / "rp2040js"
    assert f"installed in {home}" in out and "installing rp2040js" in err
    assert rp2040_pico.rp2040js_home() == home
    assert not list(package.glob("node_modules"))
    assert "rp2040js" not in (rp2040_pico.missing() or "")


def test_emulator_install_without_npm_is_one_line(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, _, err = cli(capsys, "emulator", "install")
    assert code == 1 and err.count("\n") == 1 and "npm not found" in err


# -- the test run reports a skipped tier ---------------------------------------------------

HOOKS = '''
from tests.support.tiers import (pytest_runtest_logreport, pytest_sessionfinish,
                                 pytest_terminal_summary)
'''
SKIPPING = '''
import pytest

@pytest.mark.skip(reason="rp2040://: needs rp2040js (the emulator's npm package)")
def test_on_the_emulated_pico():
    pass

def test_elsewhere():
    pass
'''


@pytest.mark.slow
def test_a_skipped_tier_is_reported_and_fails_under_ci(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(HOOKS)
    (tmp_path / "test_tier.py").write_text(SKIPPING)
    env = {**os.environ, "CI": "true", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tmp_path)], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 1, proc.stdout
    assert "skipped tier rp2040://: 1 tests FAILED (CI=true): rp2040://: needs" in proc.stdout


def test_without_ci_a_skipped_tier_is_reported_and_passes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support import tiers

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(tiers, "_SKIPPED", {"spice://": ["spice://: libngspice not installed"]})
    session, lines = SimpleNamespace(exitstatus=0), []
    tiers.pytest_sessionfinish(session, 0)
    tiers.pytest_terminal_summary(SimpleNamespace(write_line=lambda t, **k: lines.append(t)),
                                  0, None)
    assert session.exitstatus == 0
    assert lines == ["skipped tier spice://: 1 tests not run: spice://: libngspice not installed"]


# -- silently accepted input, now refused ----------------------------------------------

REFUSED = [
    (["bench", "learn", "--rules", "", "--out", "b"], "--rules '': names nothing"),
    (["bench", "learn", "--tasks", "xor,xor", "--out", "b"], "xor given twice"),
    (["bench", "learn", "--out", "run", "--quick"], "is a training run directory"),
    (["schematic", "--out", "mine", "--no-drawing"], "already has parts.csv"),
    (["train", "--device", "mock://?seed=1&seed=2", "--out", "r"], "option seed is given twice"),
    (["train", "--device", "spice://?nominal=2", "--out", "r"], "nominal='2' must be 0 or 1"),
    (["train", "--device", "upy://foo/bar", "--out", "r"], "upy:// takes no host or path"),
    (["train", "--device", "mock://#x", "--out", "r"], "has no #fragment"),
    (["train", "--device", "mock://?seed=1#x", "--out", "r"], "has no #fragment"),
    (["train", "--device", "mock", "--out", "r"], "did you mean mock://?"),
    (["train", "--device", "--help"], "'--help' is not a device URL; valid: mock://, upy://, "
     "spice://, rp2040://"),
    (["train", "--resume", "missing"], "missing does not exist"),
    (["eval", "missing"], "missing does not exist"),
    (["train", "--bench", "/dev/null", "--out", "r"], "/dev/null: is a device or special file"),
    (["train", "--bench", "/dev/zero", "--out", "r"], "/dev/zero: is a device or special file"),
    (["train", "--task", "semi.csv", "--out", "r"], "separated by ';'"),
]


@pytest.mark.parametrize("args, message", REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_bad_input_is_refused_in_one_line_with_exit_2_and_nothing_written(
        args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.toml").write_text("[run]\n")
    (tmp_path / "run" / "metrics.csv").write_text("epoch\n")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "parts.csv").write_text("my own parts list\n")
    (tmp_path / "semi.csv").write_text("a;b;label\n0;1;1\n1;0;1\n0;0;0\n")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    code, out, err = cli(capsys, *args)
    assert code == 2, err
    assert err.count("\n") == 1 and message in err and err.startswith("wphil: error: ")
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert files_under(tmp_path) == ["mine", "mine/parts.csv", "run", "run/config.toml",
                                     "run/metrics.csv", "semi.csv"]


def test_schematic_refused_late_leaves_no_empty_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from wphil.drivers.errors import ConfigError

    def no_schemdraw(*args):
        raise ConfigError("wphil schematic needs schemdraw and matplotlib")
    monkeypatch.setattr("wphil.cli.schematic.write_tables", no_schemdraw)
    code, _, err = cli(capsys, "schematic", "--out", str(tmp_path / "new" / "folder"))
    assert code == 2 and "needs schemdraw" in err
    assert files_under(tmp_path) == []


def test_device_help_lists_every_backend(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = cli(capsys, "train", "--help")
    assert code == 0
    for scheme in ("mock://", "upy://", "rp2040://", "spice://", "/dev/ttyACM0", "socket://"):
        assert scheme in out.replace("\n", " ").replace("  ", " ")


# -- plots --------------------------------------------------------------------------------

@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list:
    """The figures the plot functions save, kept open for a look at what they hold."""
    from matplotlib.figure import Figure

    figures: list = []
    save = Figure.savefig

    def keep(fig, path, *args, **kwargs):
        save(fig, path, *args, **kwargs)          # drawn as for real: extents are final
        fig.renderer = fig.canvas.get_renderer()  # (closing the figure drops its canvas)
        figures.append(fig)
    monkeypatch.setattr(Figure, "savefig", keep)
    return figures


def test_a_learning_curve_shows_the_runs_targets(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                 drawn: list) -> None:
    cli(capsys, "train", "--out", str(tmp_path / "run"), "--no-progress")
    code, _, err = cli(capsys, "plot", str(tmp_path / "run"))
    assert code == 0, err
    (fig,) = drawn
    labels = {line.get_label(): line.get_ydata()[0] for ax in fig.axes for line in ax.lines}
    assert labels["target loss 0.02 V²"] == 0.02          # xor-2-2-1's [defaults]
    assert labels["target accuracy 100%"] == 100


def test_a_trajectory_legend_covers_no_target_point_and_names_the_grey_band(
        tmp_path: Path, capsys: pytest.CaptureFixture, drawn: list) -> None:
    cli(capsys, "train", "--bench", "delayed-xor", "--epochs", "1", "--out",
        str(tmp_path / "run"), "--no-progress")
    code, _, err = cli(capsys, "plot", str(tmp_path / "run"))
    assert code == 0, err
    fig = drawn[-1]                                     # trajectory.png
    ax = fig.axes[0]
    legend = ax.get_legend()
    box = legend.get_window_extent(fig.renderer)
    target = next(line for line in ax.lines if line.get_label() == "target")
    points = ax.transData.transform(target.get_xydata())
    assert not any(box.contains(x, y) for x, y in points)
    assert "not scored (no answer yet)" in [t.get_text() for t in legend.get_texts()]


def test_the_comparison_title_is_wrapped_inside_the_figure(tmp_path: Path, drawn: list) -> None:
    from wphil.compare import plot_comparison

    queries = [10, 100, 1000]
    band = {"median": [0.5, 0.1, 0.01], "q1": [0.4, 0.05, 0.005], "q3": [0.6, 0.2, 0.02]}
    title = "wphil bench learn --quick " + " ".join(f"--option-{n} value" for n in range(12))
    plot_comparison({"default": {"xor": {"queries": queries, "wp": band}}},
                    tmp_path / "learn.png", title)
    (fig,) = drawn
    renderer = fig.renderer
    title_box = fig._suptitle.get_window_extent(renderer)
    assert 0 <= title_box.x0 and title_box.x1 <= fig.bbox.x1 and title_box.y1 <= fig.bbox.y1
    panel = fig.axes[0].title.get_window_extent(renderer)
    assert panel.y1 < title_box.y0                    # the panel's own title below it
    ax = fig.axes[0]
    assert any(line.get_label() == "target loss" and line.get_ydata()[0] == 0.02
               for line in ax.lines)
    assert any("middle half" in text.get_text() for text in fig.legends[0].get_texts())
