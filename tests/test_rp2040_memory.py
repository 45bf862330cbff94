"""gc.mem_free() after CONFIGURE on MicroPython's real RP2040 build stays above 150 kB on every
shipped bench (issue 24), with the compiled kernels loaded: bench/rp2040_memory.py's
measurement, on one emulated Pico. Slow: one boot and flash (~15 s), then a CONFIGURE per
bench."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from wphil.drivers.rp2040_pico import missing

REASON = missing()
pytestmark = [pytest.mark.skipif(REASON is not None, reason=f"rp2040://: {REASON}"),
              pytest.mark.timeout(900), pytest.mark.slow]
BENCH = Path(__file__).resolve().parents[1] / "bench"


def _script():  # noqa: ANN202
    import sys
    sys.path.insert(0, str(BENCH))          # its helpers (results_stamp, script_args)
    spec = importlib.util.spec_from_file_location("rp2040_memory", BENCH / "rp2040_memory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_shipped_bench_leaves_more_than_150_kb_free_after_configure() -> None:
    script = _script()
    names = script.shipped_benches()
    assert {"xor-2-2-1", "iris", "delayed-xor"} <= set(names)
    rows = script.memory_rows(names)
    assert [r["bench"] for r in rows] == names
    for row in rows:
        assert row["configured"], row
        assert row["emitter"] == "native", row          # the kernels as armv6m machine code
        assert row["mem_free"] > 150_000, row
